"""Shared fixtures: run the real tshark with the built echotap plugin.

Wireshark ignores the personal plugin folder when it runs as root, so tshark runs through
tools/lib/echotap_tshark.py: with a HOME of its own that holds the plugin where `cmake --install`
puts it for a user (~/.local/lib/wireshark/plugins/X.Y/epan/), as uid 65534 when we are root.
"""
import json
import os
import pathlib
import shutil
import sys
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
sys.path.insert(0, str(ROOT / "tools" / "lib"))
from echotap_tshark import Tshark, group_of, tshark_version  # noqa: E402,F401  (the one runner)


def _plugin_so():
    so = os.environ.get("ECHOTAP_PLUGIN")
    if so:
        return pathlib.Path(so)
    # The shallowest: the build's own, not CPack's staged copy after `--target package`.
    found = sorted((ROOT / "build").rglob("echotap.so"), key=lambda p: (len(p.parts), p))
    return found[0] if found else None


@pytest.fixture(scope="session")
def plugin_so():
    so = _plugin_so()
    if not so or not so.exists():
        pytest.fail("echotap.so not built: run cmake --build build (or set ECHOTAP_PLUGIN)")
    return so


@pytest.fixture(scope="session")
def _tmp_root():
    d = tempfile.mkdtemp(prefix="echotap-test-")
    os.chmod(d, 0o755)
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def tshark(_tmp_root, plugin_so):
    """tshark with the echotap plugin in the user's plugin folder."""
    return Tshark(_tmp_root / "home-plugin", plugin_so)


@pytest.fixture(scope="session")
def tshark_plain(_tmp_root):
    """tshark without echotap: Wireshark's own view of a capture."""
    return Tshark(_tmp_root / "home-plain", None)


FLOW_FRAMES = "(tcp or udp) and not icmp and not icmpv6"    # the frames of echotap's flows


def wireshark_bytes(tshark_plain, capture, display_filter=FLOW_FRAMES):
    """Bytes of the frames that match a display filter, as Wireshark's I/O statistics count them
    (no plugin): the independent count the tools' byte figures are checked against."""
    out = tshark_plain.run("-r", capture, "-q", "-z", f"io,stat,0,{display_filter}").stdout
    row = [line for line in out.splitlines() if "<>" in line][-1]
    return int(row.strip("| ").split("|")[-1])


def load_truth(capture):
    path = pathlib.Path(str(capture).replace(".pcapng", ".truth.json"))
    return json.loads(path.read_text())


def truth_speakers(tshark_plain, capture):
    """A committed capture's smart speakers, found without echotap (doc/classification.md): its
    devices whose MAC vendor is Amazon by Wireshark's own table, or that have a command or an avs
    flow in the truth."""
    truth = load_truth(capture)
    amazon = tshark_plain.fields(capture, ["ip.src", "ipv6.src"], "-Y", 'eth.src.oui_resolved contains "Amazon"')
    devices = {f["device"] for f in truth["flows"]}
    return (devices & {ip4 or ip6 for ip4, ip6 in amazon}) | {i["device"] for i in truth["interactions"]} \
        | {f["device"] for f in truth["flows"] if f["service"] == "avs"}


def truth_captures():
    """Every committed capture that has a truth file next to it."""
    return sorted(p for p in CAPTURES.glob("*.pcapng") if p.with_suffix(".truth.json").exists())
