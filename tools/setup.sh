#!/bin/sh
# Installs what echotap needs on Debian 12 (root or sudo): Wireshark's development files, tshark,
# the build tools and the test tools.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
# "wireshark" is the Qt GUI in every Debian release (Debian 12: a metapackage for wireshark-qt, a
# name that Debian 13 and later dropped), so the suite also installs in tools/compat's chroots.
# dpkg-dev and file: the .deb's dependencies (dpkg-shlibdeps); lintian checks the .deb.
# slurm-wlm and munge (9 packages, 13 MB installed): the corpus test's one-node Slurm cluster.
PKGS="wireshark-dev libwireshark-dev libgcrypt20-dev tshark cmake make gcc pkg-config libglib2.0-dev libcmocka-dev python3 python3-pytest python3-cryptography util-linux gnuplot-nox
wireshark xvfb xauth x11-utils xdotool imagemagick xclip parallel openssh-server openssl
dpkg-dev file lintian slurm-wlm munge"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "echotap: installing$missing"
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
