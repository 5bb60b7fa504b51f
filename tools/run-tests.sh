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
ctest --output-on-failure
