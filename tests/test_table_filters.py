"""A table with a display filter counts only the packets that pass it (-z echotap,TABLE,FILTER).

The tables count per packet and write their cells only when they are drawn, so a filter must still
decide packet by packet. Ground truth is Wireshark's own dissection without the plugin: the frames
of TCP and UDP flows that pass the filter (-Y ... -T fields), their lengths, directions and times,
and `-z io,stat` byte counts. Checked in one pass and with -2 (the tables count on the second).
"""
import collections

import pytest

from conftest import CAPTURES, FLOW_FRAMES, wireshark_bytes

FILTER = "frame.len > 200"
CAPS = ["echo-study.pcapng", "multi-speaker.pcapng", "ipv6.pcapng"]
FIELDS = ["ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport", "udp.srcport", "tcp.dstport", "udp.dstport",
          "frame.len", "frame.time_relative"]


def table(out, title):
    """Header and rows of one tshark stat_tap_table as lists of stripped cells."""
    lines = out.splitlines()
    start = lines.index(f"{title}:")
    header = [c.strip() for c in lines[start + 2].split("|")[:-1]]
    rows = []
    for line in lines[start + 4:]:
        if not line.endswith("|"):
            break
        rows.append(dict(zip(header, (c.strip() for c in line.split("|")[:-1]))))
    return rows


def frames(tshark_plain, capture):
    """(src, sport, dst, dport, proto, len, t) of every flow frame that passes FILTER."""
    out = tshark_plain.fields(capture, FIELDS, "-Y", f"({FLOW_FRAMES}) and ({FILTER})")
    result = []
    for r in out:
        v = dict(zip(FIELDS, r))
        proto = "tcp" if v["tcp.srcport"] else "udp"
        result.append((v["ip.src"] or v["ipv6.src"], v["tcp.srcport"] or v["udp.srcport"],
                       v["ip.dst"] or v["ipv6.dst"], v["tcp.dstport"] or v["udp.dstport"], proto,
                       int(v["frame.len"]), float(v["frame.time_relative"])))
    return result


@pytest.mark.parametrize("two_pass", [False, True], ids=["one-pass", "two-pass"])
@pytest.mark.parametrize("name", CAPS)
def test_filtered_tables_count_only_what_passes(tshark, tshark_plain, name, two_pass):
    capture = CAPTURES / name
    args = ["-r", capture, "-q", *(["-2"] if two_pass else []),
            "-z", f"echotap,flows,{FILTER}", "-z", f"echotap,timeline,{FILTER}",
            "-z", f"echotap,phase_packets,{FILTER}", "-z", f"echotap,phases,{FILTER}"]
    out = tshark.run(*args).stdout
    passed = frames(tshark_plain, capture)
    total = wireshark_bytes(tshark_plain, capture, f"({FLOW_FRAMES}) and ({FILTER})")
    assert total == sum(f[5] for f in passed) and 0 < len(passed)

    # Flows: per (device, proto, server, port), what went up and down, and the first and last times.
    flows = table(out, "Echotap Flows")
    got = collections.defaultdict(lambda: [0, 0, 0, 0])
    for r in flows:
        key = (r["Device"], r["Proto"], r["Server"], r["Port"])
        g = got[key]
        for i, col in enumerate(["Up bytes", "Up pkts", "Down bytes", "Down pkts"]):
            g[i] += int(r[col])
    want = collections.defaultdict(lambda: [0, 0, 0, 0])
    times = collections.defaultdict(list)
    for src, sport, dst, dport, proto, length, t in passed:
        if (src, proto, dst, dport) in got:
            key, up = (src, proto, dst, dport), True
        elif (dst, proto, src, sport) in got:
            key, up = (dst, proto, src, sport), False
        else:
            pytest.fail(f"{name}: a frame that passes the filter is in no flow row: {src}:{sport} -> {dst}:{dport}")
        w = want[key]
        w[0 if up else 2] += length
        w[1 if up else 3] += 1
        times[key].append(t)
    assert dict(got) == dict(want)
    for r in flows:
        ts = times[(r["Device"], r["Proto"], r["Server"], r["Port"])]
        assert float(r["First (s)"]) >= min(ts) - 0.0015 and float(r["Last (s)"]) <= max(ts) + 0.0015

    # Timeline, Phases: every byte that passed and no other; Phase Packets: every frame.
    timeline = table(out, "Echotap Timeline")
    assert sum(int(v) for r in timeline for k, v in r.items() if k.endswith((" up", " down"))) == total
    phases = table(out, "Echotap Phases")
    assert sum(int(v) for r in phases for k, v in r.items() if k.endswith(("up bytes", "down bytes"))
               and not k.startswith("Speech")) == total
    packets = table(out, "Echotap Phase Packets")
    assert sum(int(v) for r in packets for k, v in r.items() if k.endswith(("up pkts", "down pkts"))) == len(passed)
