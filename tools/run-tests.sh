#!/bin/sh
# The whole test suite: installs what is missing, builds, runs the unit and integration tests.
# CI (.ci/run) runs this: every test is required (ECHOTAP_TESTS=ON) and warnings are errors
# (ECHOTAP_WERROR=ON); a build by hand has neither.
set -eu
cd "$(dirname "$0")/.."
./tools/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DECHOTAP_TESTS=ON -DECHOTAP_WERROR=ON >/dev/null
cmake --build build -j"$(nproc)"
cd build
# ctest counts a whole pytest run as one test, so pytest's skips (listed by its -rs in ctest's log)
# are shown after the run; ctest's summary line is repeated last, for CI.
{ status=0; ctest --output-on-failure || status=$?; echo "$status" > ctest-status; } | tee ctest-output.txt
awk '/^[0-9]+\/[0-9]+ Testing: / { test = $3 }
     /^SKIPPED \[[0-9]+\] / { match($0, /[0-9]+/); n += substr($0, RSTART, RLENGTH)
                               sub(/^SKIPPED /, ""); list = list "\n  " test ": " $0 }
     END { print "\npytest skipped " n + 0 " tests" (n ? " ([count] file:line: reason):" list : "") }' \
    Testing/Temporary/LastTest.log
grep 'tests passed, .* tests failed out of' ctest-output.txt || true
exit "$(cat ctest-status)"
