#!/bin/sh
# Sets up a fresh Debian 12 machine, builds and installs echotap for the current user, and runs
# it on the bundled study capture: the tagged flows and the bytes per phase.
set -eu
cd "$(dirname "$0")/.."
./tools/setup.sh
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)"
CAP=captures/echo-study.pcapng
if [ ! -f "$CAP" ]; then
    echo "echotap: built; $CAP is not in the repository yet (see captures/), nothing to show" >&2
    exit 1
fi
SCHEDULE="0 silence; 8 query; 14 silence; 22 command; 27 conversation"
# Wireshark does not load personal plugins as root: then tshark-with-plugin runs it as an
# unprivileged user with build/echotap.so in a temporary home, where `cmake --install` puts it.
[ "$(id -u)" -eq 0 ] || cmake --install build >/dev/null
echo
echo "== $CAP, schedule \"$SCHEDULE\""
tools/echotap-summary "$CAP" --schedule "$SCHEDULE"
cat <<EOF
The full tables (every device, service group and direction; packets too):
  tools/lib/tshark-with-plugin -r $CAP -q -o "echotap.schedule:$SCHEDULE" -z echotap,phases
  tools/lib/tshark-with-plugin -r $CAP -q -z echotap,flows
In Wireshark: wireshark -C echotap -r $CAP -z echotap,phases  (Statistics > Echotap Phases, Flows, Timeline)
EOF
