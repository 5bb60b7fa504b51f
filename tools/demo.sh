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
if [ "$(id -u)" -eq 0 ]; then
    # Wireshark does not load personal plugins as root: install into a temporary home of an
    # unprivileged user, as `cmake --install build` does for a normal user.
    HOME_DIR=$(mktemp -d /tmp/echotap-demo.XXXXXX)
    HOME="$HOME_DIR" cmake --install build >/dev/null
    chown -R 65534:65534 "$HOME_DIR"; chmod 755 "$HOME_DIR"
    RUN="setpriv --reuid=65534 --regid=65534 --clear-groups env HOME=$HOME_DIR"
else
    cmake --install build >/dev/null
    RUN=""
fi
$RUN tshark -r "$CAP" -q -o "echotap.schedule:$SCHEDULE" -z echotap,flows -z echotap,phases
