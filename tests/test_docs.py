"""tools/plot (the study's graph) and tools/fields-doc (doc/fields.md), run for real.

Expected values come from what the test itself wrote into a capture, from Wireshark's own
`-z io,stat` byte counts and from the captures' truth files, never from the plot's earlier output.
"""
import collections
import os
import pathlib
import re
import struct
import subprocess

import pytest

from conftest import CAPTURES, ROOT, group_of, load_truth, wireshark_bytes
from echotap_tshark import GROUP_LABELS, GROUPS

PLOT = ROOT / "tools" / "plot"
STUDY = CAPTURES / "echo-study.pcapng"
STUDY_SCHEDULE = "0 silence; 8 query; 14 silence; 22 command; 27 conversation"
STUDY_PNG = ROOT / "doc" / "images" / "study.png"
DEVICE, SERVER = (192, 168, 1, 20), (198, 51, 100, 1)     # a cloud server without a name: untagged
# (seconds from the first packet, up?, UDP payload bytes): away from 100 ms bin edges.
PACKETS = [(0.0, True, 120), (0.05, False, 900), (0.15, True, 40), (0.55, False, 1400),
           (1.25, True, 300), (1.27, True, 310), (1.31, False, 64), (2.35, False, 10)]
FRAME_OVERHEAD = 14 + 20 + 8


def run_tool(tool, *args, plugin_so, check=True):
    env = dict(os.environ, ECHOTAP_PLUGIN=str(plugin_so))
    proc = subprocess.run([str(tool), *map(str, args)], capture_output=True, text=True, env=env, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"{tool.name} {args} failed ({proc.returncode}):\n{proc.stderr}")
    return proc


def png_size(path):
    """(width, height) from the IHDR chunk, after checking the PNG signature."""
    head = pathlib.Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    length, kind = struct.unpack(">I4s", head[8:16])
    assert (length, kind) == (13, b"IHDR"), f"{path}: first chunk is not IHDR"
    return struct.unpack(">II", head[16:24])


def read_plot_data(keep):
    lines = (keep / "plot.dat").read_text().splitlines()
    header = lines[0].lstrip("# ").split()
    rows = [[float(x) for x in line.split()] for line in lines[1:]]
    return header, rows


def capture_duration(tshark_plain, capture):
    out = tshark_plain.run("-r", capture, "-T", "fields", "-e", "frame.time_relative").stdout
    return float(out.split()[-1])


@pytest.fixture(scope="module")
def built_capture(_tmp_root):
    """A pcap of UDP packets between one device and one server, written here byte by byte."""
    records = []
    for t, up, size in PACKETS:
        src, dst, sport, dport = (DEVICE, SERVER, 40000, 9999) if up else (SERVER, DEVICE, 9999, 40000)
        udp = struct.pack("!HHHH", sport, dport, 8 + size, 0) + bytes(size)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, bytes(src), bytes(dst))
        frame = bytes.fromhex("0200000000010200000000020800") + ip + udp
        usec = round(t * 1e6)
        records.append(struct.pack("<IIII", 1768471200 + usec // 1000000, usec % 1000000, len(frame), len(frame)) + frame)
    path = _tmp_root / "built.pcap"
    path.write_bytes(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1) + b"".join(records))
    path.chmod(0o644)
    return path


def test_plot_bins_equal_the_written_packets(plugin_so, tshark_plain, built_capture, _tmp_root):
    keep, png = _tmp_root / "plot-built", _tmp_root / "built.png"
    run_tool(PLOT, built_capture, "-o", png, "--interval", "0.1", "--size", "800x400", "--keep", keep,
             plugin_so=plugin_so)
    assert png_size(png) == (800, 400)
    header, rows = read_plot_data(keep)
    assert header == ["start"] + [f"{g}_{d}" for g in GROUPS for d in ("up", "down")]
    assert len(rows) == int(PACKETS[-1][0] / 0.1) + 1
    expected = collections.Counter()
    for t, up, size in PACKETS:
        expected[(int(t / 0.1), "untagged_up" if up else "untagged_down")] += size + FRAME_OVERHEAD
    got = collections.Counter()
    for i, row in enumerate(rows):
        assert row[0] == pytest.approx(i * 0.1)
        for name, value in zip(header[1:], row[1:]):
            if value:
                got[(i, name)] += int(value)
    assert got == expected
    assert sum(expected.values()) == wireshark_bytes(tshark_plain, built_capture)
    # gnuplot is given one series per group and direction.
    assert len(re.findall(r"\busing\b", (keep / "plot.gp").read_text())) == 2 * len(GROUPS)


def test_plot_writes_svg(plugin_so, built_capture, _tmp_root):
    svg = _tmp_root / "built.svg"
    run_tool(PLOT, built_capture, "-o", svg, plugin_so=plugin_so)
    text = svg.read_text()
    assert "<svg" in text and "</svg>" in text
    assert all(name in text for name in GROUP_LABELS.values())  # the legend


def test_plot_reports_a_bad_schedule(plugin_so, built_capture, _tmp_root):
    proc = run_tool(PLOT, built_capture, "-o", _tmp_root / "bad.png", "--schedule", "0 silence; 8x query",
                    plugin_so=plugin_so, check=False)
    assert proc.returncode != 0
    assert "8x" in proc.stderr
    assert not (_tmp_root / "bad.png").exists()


@pytest.mark.skipif(not STUDY.exists(), reason="captures/echo-study.pcapng is not committed yet")
def test_study_plot_counts_every_byte(plugin_so, tshark_plain, _tmp_root):
    keep, png = _tmp_root / "plot-study", _tmp_root / "study.png"
    run_tool(PLOT, STUDY, "-o", png, "--schedule", STUDY_SCHEDULE, "--keep", keep, "--all-devices",
             plugin_so=plugin_so)
    assert png_size(png) == (1200, 600)
    header, rows = read_plot_data(keep)
    duration = capture_duration(tshark_plain, STUDY)
    # One row per 100 ms of the capture (the float division may land either side of an edge).
    assert len(rows) in {int(duration / 0.1 - 1e-6) + 1, int(duration / 0.1 + 1e-6) + 1}
    sums = collections.Counter()
    for row in rows:
        for name, value in zip(header[1:], row[1:]):
            sums[name] += int(value)
    assert sum(sums.values()) == wireshark_bytes(tshark_plain, STUDY)
    truth = load_truth(STUDY)
    expected = collections.Counter()
    for s in truth["stats"]:
        expected[f"{group_of(s['service'])}_{s['dir']}"] += s["bytes"]
    assert +sums == +expected
    script = (keep / "plot.gp").read_text()
    for label in ("silence", "query", "command", "conversation"):
        assert f'"{label}' in script


@pytest.mark.skipif(not STUDY.exists(), reason="captures/echo-study.pcapng is not committed yet")
def test_study_plot_shows_the_speaker_only_by_default(plugin_so, _tmp_root):
    """The laptop in the study capture is not a speaker: by default its bytes stay out of the graph."""
    keep = _tmp_root / "plot-study-speaker"
    run_tool(PLOT, STUDY, "-o", _tmp_root / "speaker.png", "--schedule", STUDY_SCHEDULE, "--keep", keep,
             plugin_so=plugin_so)
    header, rows = read_plot_data(keep)
    sums = collections.Counter()
    for row in rows:
        for name, value in zip(header[1:], row[1:]):
            sums[name] += int(value)
    speaker = load_truth(STUDY)["interactions"][0]["device"]
    expected = collections.Counter()
    for s in load_truth(STUDY)["stats"]:
        if s["device"] == speaker:
            expected[f"{group_of(s['service'])}_{s['dir']}"] += s["bytes"]
    assert +sums == +expected


def test_committed_study_plot_is_a_png_of_the_default_size():
    if not STUDY.exists():
        pytest.skip("captures/echo-study.pcapng is not committed yet")
    assert png_size(STUDY_PNG) == (1200, 600)


def test_field_reference_is_current(plugin_so):
    """doc/fields.md is made with Debian 12's Wireshark; another version must report the same
    fields, experts and preferences, in its own words for its own help texts (4.4 writes "true or
    false" where 4.0 writes "TRUE or FALSE")."""
    fresh = run_tool(ROOT / "tools" / "fields-doc", plugin_so=plugin_so).stdout
    committed = (ROOT / "doc" / "fields.md").read_text()
    version = re.compile(r"Wireshark (\d+\.\d+) reports")
    if version.search(fresh).group(1) != version.search(committed).group(1):
        fresh, committed = (version.sub("Wireshark X.Y reports", t).lower() for t in (fresh, committed))
    assert fresh == committed, "doc/fields.md is stale: run tools/fields-doc doc/fields.md"


def test_outputs_reference_is_current(plugin_so):
    """doc/outputs.md (the JSON's keys, the corpus database's columns) equals a fresh generation:
    a key or column the outputs gain or lose without a meaning stops tools/outputs-doc."""
    fresh = run_tool(ROOT / "tools" / "outputs-doc", plugin_so=plugin_so).stdout
    assert fresh == (ROOT / "doc" / "outputs.md").read_text(), "doc/outputs.md is stale: run tools/outputs-doc doc/outputs.md"


def test_every_wanted_field_is_known(tshark):
    """Every field echotap reads from other dissectors (plugin/extract.c) exists in this
    Wireshark: a missing one would be reported at start, once."""
    proc = tshark.run("-r", STUDY, "-q")
    assert "echotap: unknown field" not in proc.stderr, proc.stderr


def test_unknown_wanted_field_is_reported_once(tshark):
    """The report's own code path, through the tests' extra wanted field: one line at start,
    however many packets follow, and the run goes on."""
    proc = subprocess.run(tshark.command(["-r", STUDY, "-q", "-z", "echotap,flows"]), capture_output=True,
                          text=True, env=tshark.env(ECHOTAP_TEST_WANTED_FIELD="echotap.no_such_field"), timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("echotap: unknown field echotap.no_such_field") == 1, proc.stderr
    assert "Echotap Flows" in proc.stdout


@pytest.mark.parametrize("passes", [(), ("-2",)])
def test_group_field_is_on_every_flow_packet(tshark, passes):
    """echotap.group, which the profile's colouring rules and I/O graphs filter on, is on every
    TCP/UDP packet, and it is the group that tools/lib/echotap_tshark.py's group_of gives the
    packet's service (the one list of groups on the Python side)."""
    seen = set()
    for capture in sorted(CAPTURES.glob("*.pcapng")):
        rows = tshark.fields(capture, ["echotap.service", "echotap.group", "echotap.flow"], *passes,
                             "-Y", "(tcp or udp) and not icmp and not icmpv6")
        for service, group, flow in rows:
            assert flow != "", f"{capture.name}: a TCP/UDP packet without echotap"
            assert group == group_of(service or None), f"{capture.name}: flow {flow}: {service!r} in {group!r}"
            seen.add(group)
    assert seen == set(GROUPS)


def test_profile_filters_on_groups():
    """The profile spells groups as echotap.group, never as lists of services."""
    for name in ("colorfilters", "io_graphs"):
        text = (ROOT / "plugin" / "profile" / name).read_text()
        assert "echotap.service" not in text, name
        for group in re.findall(r'echotap\.group == (?:"|\\x22)(\w+)', text):
            assert group in GROUPS, (name, group)
