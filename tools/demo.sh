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
# As root, tools/echotap-summary runs tshark as an unprivileged user with build/echotap.so in a
# temporary home (Wireshark loads no personal plugins for root).
[ "$(id -u)" -eq 0 ] || cmake --install build >/dev/null
echo
echo "== $CAP, schedule \"$SCHEDULE\""
tools/echotap-summary "$CAP" --schedule "$SCHEDULE"
# The indented lines below are commands: tests/test_demo.py runs each.
TABLES="tshark -r $CAP -q -o \"echotap.schedule:$SCHEDULE\" -z echotap,phases
tshark -r $CAP -q -z echotap,flows
wireshark -C echotap -r $CAP -z echotap,phases"
echo
if [ "$(id -u)" -eq 0 ]; then
    cat <<EOF
You are root: Wireshark loads no plugins from a home folder when it runs as root (a safety rule),
so install echotap into Wireshark's global folders, for every user, once:
  cmake -S . -B build -DECHOTAP_INSTALL_GLOBAL=ON && cmake --install build
Then the full tables (every device, service group and direction) and Wireshark:
EOF
    echo "$TABLES" | sed 's/^/  /'
    cat <<EOF
Or, without installing (tshark only, as an unprivileged user with build/echotap.so):
  tools/lib/tshark-with-plugin -r $CAP -q -o "echotap.schedule:$SCHEDULE" -z echotap,phases
EOF
else
    echo "The full tables (every device, service group and direction) and Wireshark:"
    echo "$TABLES" | sed 's/^/  /'
fi
echo "(In Wireshark: Statistics > Echotap Phases, Flows, Timeline, Live.)"
