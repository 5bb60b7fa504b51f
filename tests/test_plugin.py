"""The echotap plugin in the real tshark, judged against the captures' ground truth.

Expected values come from the truth files, which the capture generator (or the real-stack
script, from tshark's own conversation totals) wrote; never from earlier plugin output.
"""
import collections

import pytest

from conftest import group_of, load_truth, truth_captures
from echotap_tshark import GROUP_LABELS, GROUPS

FIELDS = ["echotap.service", "echotap.host", "echotap.evidence", "echotap.device", "echotap.dir",
          "ip.src", "ipv6.src", "tcp.srcport", "udp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
          "udp.dstport", "frame.len", "frame.number"]
CAPTURES = truth_captures()


def flow_key(proto, a, pa, b, pb):
    return (proto, *sorted([(a, int(pa)), (b, int(pb))]))


def truth_flows(truth):
    return {flow_key(f["proto"], f["client"], f["client_port"], f["server"], f["server_port"]): f
            for f in truth["flows"]}


def test_plugin_is_listed(tshark):
    plugins = tshark.run("-G", "plugins").stdout
    assert "echotap.so" in plugins
    fields = {line.split("\t")[2] for line in tshark.run("-G", "fields").stdout.splitlines()
              if line.startswith("F\t")}
    for name in ["echotap.service", "echotap.host", "echotap.evidence", "echotap.rule",
                 "echotap.device", "echotap.device.speaker", "echotap.dir", "echotap.phase",
                 "echotap.phase.index"]:
        assert name in fields


@pytest.fixture(scope="session")
def tiny_capture(_tmp_root):
    """A one-packet pcap (a DNS query over UDP), written here byte by byte."""
    import struct
    udp_payload = bytes.fromhex("12340100000100000000000003777777076578616d706c6503636f6d0000010001")
    udp = struct.pack("!HHHH", 40000, 53, 8 + len(udp_payload), 0) + udp_payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     bytes([192, 168, 1, 20]), bytes([192, 168, 1, 1]))
    frame = bytes(6) + bytes.fromhex("f0272d000020") + b"\x08\x00" + ip + udp
    path = _tmp_root / "tiny.pcap"
    path.write_bytes(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1) +
                     struct.pack("<IIII", 1768471200, 0, len(frame), len(frame)) + frame)
    path.chmod(0o644)
    return path


def test_tiny_capture_device_and_direction(tshark, tiny_capture):
    rows = tshark.fields(tiny_capture, ["echotap.device", "echotap.dir", "echotap.device.speaker"], "-2")
    # The query's sender (higher port, to port 53) is the device; f0:27:2d is an Amazon OUI.
    # (tshark prints a boolean as 1 up to 4.2 and as True from 4.4 on.)
    assert len(rows) == 1 and rows[0][:2] == ["192.168.1.20", "up"] and rows[0][2] in ("1", "True"), rows


def test_filter_on_service_works(tshark):
    if not CAPTURES:
        pytest.skip("no committed capture with a truth file yet")
    cap = CAPTURES[0]
    out = tshark.run("-r", cap, "-2", "-Y", 'echotap.service == "avs"', "-T", "fields",
                     "-e", "frame.number").stdout.split()
    truth = load_truth(cap)
    expected = sum(f["packets_up"] + f["packets_down"] for f in truth["flows"] if f["service"] == "avs")
    assert len(out) == expected


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
@pytest.mark.parametrize("passes", [["-2"], []], ids=["two-pass", "one-pass"])
def test_every_packet_carries_its_flows_truth(tshark, capture, passes):
    truth = load_truth(capture)
    flows = truth_flows(truth)
    rows = tshark.fields(capture, FIELDS, *passes)
    seen = collections.Counter()
    for row in rows:
        r = dict(zip(FIELDS, row))
        src, dst = r["ip.src"] or r["ipv6.src"], r["ip.dst"] or r["ipv6.dst"]
        proto = "tcp" if r["tcp.srcport"] else "udp" if r["udp.srcport"] else None
        if proto is None or not src:
            continue
        sport, dport = r[f"{proto}.srcport"], r[f"{proto}.dstport"]
        f = flows.get(flow_key(proto, src, sport, dst, dport))
        assert f is not None, f"frame {r['frame.number']}: flow not in the truth"
        seen[id(f)] += 1
        expected_dir = "up" if (src, int(sport)) == (f["client"], f["client_port"]) else "down"
        assert r["echotap.device"] == f["device"], f"frame {r['frame.number']}"
        assert r["echotap.dir"] == expected_dir, f"frame {r['frame.number']}"
        if passes or f["service"] is None:
            # Later passes tag every packet; the first pass only packets after the evidence.
            assert (r["echotap.service"] or None) == f["service"], f"frame {r['frame.number']} {f}"
        if passes:
            # On the first pass the host can still be a weaker evidence's (a DNS answer before the SNI).
            assert (r["echotap.host"] or None) == f["host"], f"frame {r['frame.number']} {f}"
            assert (r["echotap.evidence"] or None) == f["evidence"], \
                f"frame {r['frame.number']} {f}"
    for f in truth["flows"]:
        assert seen[id(f)] == f["packets_up"] + f["packets_down"], f


def parse_table(out, title):
    """Rows of a stat_tap_table printed by tshark, as lists of stripped cells."""
    lines = out.splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip() == title + ":")
    header = [c.strip() for c in lines[start + 2].split("|")[:-1]]
    rows = []
    for line in lines[start + 4:]:
        if line.startswith("====="):
            break
        rows.append(dict(zip(header, [c.strip() for c in line.split("|")[:-1]])))
    return rows


def truth_schedule_args(truth):
    return ["-o", f"echotap.schedule:{truth['schedule']}"] if truth.get("schedule") else []


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
@pytest.mark.parametrize("passes", [["-2"], []], ids=["two-pass", "one-pass"])
def test_phases_equal_truth(tshark, capture, passes):
    truth = load_truth(capture)
    if not truth.get("schedule"):
        pytest.skip("no schedule in this capture's truth")
    out = tshark.run("-r", capture, "-q", *passes, *truth_schedule_args(truth),
                     "-z", "echotap,phases", "-z", "echotap,phase_packets").stdout
    phases, packets = parse_table(out, "Echotap Phases"), parse_table(out, "Echotap Phase Packets")
    # The two tables have the same rows, in the same order.
    assert [(r["Device"], r["#"], r["Phase"]) for r in phases] == [(r["Device"], r["#"], r["Phase"]) for r in packets]
    got = collections.Counter()
    for row, prow in zip(phases, packets):
        for g in GROUPS:
            name = GROUP_LABELS[g]
            for d, word in (("up", "up"), ("down", "down")):
                key = (int(row["#"]), row["Device"], g, d)
                got[key + ("bytes",)] += int(row[f"{name} {word} bytes"])
                got[key + ("packets",)] += int(prow[f"{name} {word} pkts"])
    expected = collections.Counter()
    for s in truth["stats"]:
        key = (s["phase_index"], s["device"], group_of(s["service"]), s["dir"])
        expected[key + ("bytes",)] += s["bytes"]
        expected[key + ("packets",)] += s["packets"]
    assert +got == +expected


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_flows_table_equals_truth(tshark, capture):
    truth = load_truth(capture)
    out = tshark.run("-r", capture, "-q", "-z", "echotap,flows").stdout
    got = {}
    for row in parse_table(out, "Echotap Flows"):
        got.setdefault((row["Device"], row["Server"], int(row["Port"]), row["Proto"]), []).append(row)
    for f in truth["flows"]:
        rows = got.get((f["device"], f["server"], f["server_port"], f["proto"]), [])
        match = [r for r in rows if int(r["Up bytes"]) == f["bytes_up"] and int(r["Down bytes"]) == f["bytes_down"]
                 and int(r["Up pkts"]) == f["packets_up"] and int(r["Down pkts"]) == f["packets_down"]]
        assert match, f"no row for {f}"
        assert match[0]["Service"] == (f["service"] or "untagged")
        assert match[0]["Host"] == (f["host"] or "")


@pytest.mark.parametrize("stat", ["echotap,phases", "echotap,json"])
def test_bad_schedule_is_one_clear_error(tshark, tiny_capture, stat):
    cap = tiny_capture
    proc = tshark.run("-r", cap, "-q", "-o", "echotap.schedule:0 silence; 8x query",
                      "-z", stat, check=False)
    assert proc.returncode != 0
    assert "8x" in proc.stderr and "schedule" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Echotap Phases" not in proc.stdout and "{" not in proc.stdout


def test_bad_rule_row_is_rejected(tshark, tiny_capture):
    cap = tiny_capture
    proc = tshark.run("-r", cap, "-q", "-o", 'uat:echotap_rules:"avs-*-*.amazon.com","avs"', check=False)
    assert proc.returncode != 0
    assert "only one '*'" in proc.stderr


def export(tshark, capture, *extra):
    import json
    truth = load_truth(capture)
    out = tshark.run("-r", capture, "-q", *extra, *truth_schedule_args(truth), "-z", "echotap,json").stdout
    return truth, json.loads(out)


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_json_stats_equal_truth_per_service(tshark, capture):
    truth, data = export(tshark, capture)
    if not truth.get("schedule"):
        # Without a schedule the truth has one phase: compare per device and service.
        key = lambda s: (s["device"], s["service"], s["dir"])
    else:
        key = lambda s: (s["phase_index"], s["device"], s["service"], s["dir"])
    got = collections.Counter()
    for s in data["stats"]:
        got[key(s) + ("bytes",)] += s["bytes"]
        got[key(s) + ("packets",)] += s["packets"]
    expected = collections.Counter()
    for s in truth["stats"]:
        expected[key(s) + ("bytes",)] += s["bytes"]
        expected[key(s) + ("packets",)] += s["packets"]
    assert +got == +expected


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_json_sums_agree_with_each_other(tshark, capture):
    """Sums over phases = sums over intervals = sums over flows."""
    _, data = export(tshark, capture)
    def total(rows):
        out = collections.Counter()
        for r in rows:
            out[(r["dir"], "b")] += r["bytes"]
            out[(r["dir"], "p")] += r["packets"]
        return out
    flows = collections.Counter()
    for f in data["flows"]:
        flows[("up", "b")] += f["bytes_up"]
        flows[("down", "b")] += f["bytes_down"]
        flows[("up", "p")] += f["packets_up"]
        flows[("down", "p")] += f["packets_down"]
    assert +total(data["stats"]) == +flows
    assert +total(data["timeline"]) == +flows


# doc/fields.md "Statistics columns": the phases table tells the story first.
PHASES_FIRST = ["Device", "Phase", "#", "Start (s)", "Duration (s)", "Verdict", "Speech up (bytes)",
                "Speech up B/s", "Speech (s)"]


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_phases_columns_are_the_judgement(tshark, capture):
    """The first columns are the verdict and the speech upload it judged, as -z echotap,json says
    (same key order there); then bytes per group and direction."""
    truth = load_truth(capture)
    out = tshark.run("-r", capture, "-q", "-2", *truth_schedule_args(truth), "-z", "echotap,phases").stdout
    rows = parse_table(out, "Echotap Phases")
    assert list(rows[0])[:len(PHASES_FIRST)] == PHASES_FIRST
    assert list(rows[0])[len(PHASES_FIRST):] == [f"{GROUP_LABELS[g]} {d} bytes" for g in GROUPS
                                                 for d in ("up", "down")]
    _, data = export(tshark, capture, "-2")
    judged = {(p["device"], p["index"]): p for p in data["phases"]}
    assert len(judged) == len(rows)
    for row in rows:
        p = judged[(row["Device"], int(row["#"]))]
        assert (row["Phase"], row["Verdict"], int(row["Speech up (bytes)"])) == (p["label"], p["verdict"], p["voice_up_bytes"])
        assert float(row["Speech up B/s"]) == pytest.approx(p["voice_up_rate"], abs=0.051)
        assert float(row["Speech (s)"]) == pytest.approx(p["speech_s"], abs=0.051)
    assert list(data["phases"][0])[:8] == ["device", "label", "index", "start", "end", "verdict", "voice_up_bytes",
                                           "voice_up_rate"]


STUDY = [p for p in CAPTURES if p.name == "echo-study.pcapng"]


@pytest.mark.parametrize("capture", STUDY, ids=lambda p: p.name)
def test_verdict_flags_only_voice_upload_without_wake_word(tshark, capture):
    """The truth's schedule flags nothing (the conversation's 2 MB download is not voice); calling the
    first query "silence" flags exactly that phase, on the speaker's voice uploads within it."""
    truth = load_truth(capture)
    speaker = truth["interactions"][0]["device"]
    out = tshark.run("-r", capture, "-q", "-2", *truth_schedule_args(truth), "-z", "echotap,phases").stdout
    assert [r["#"] for r in parse_table(out, "Echotap Phases") if r["Verdict"].startswith("UPLOAD")] == []
    relabelled = truth["schedule"].replace("8 query", "8 silence")
    args = ["-o", f"echotap.schedule:{relabelled}"]
    out = tshark.run("-r", capture, "-q", "-2", *args, "-z", "echotap,phases").stdout
    flagged = [(r["Device"], int(r["#"])) for r in parse_table(out, "Echotap Phases")
               if r["Verdict"] == "UPLOAD WITHOUT WAKE WORD"]
    assert flagged == [(speaker, 1)]
    rows = tshark.fields(capture, ["echotap.phase.index", "echotap.device", "echotap.dir", "echotap.service"],
                         "-2", *args, "-Y", "echotap.phase.upload_without_wake_word")
    assert rows and all(r == ["1", speaker, "up", "avs"] for r in rows), rows
    # tshark -q -z expert builds no tree on the second pass: the expert tap must count them all the same.
    out = tshark.run("-r", capture, "-q", "-2", *args, "-z", "expert,note").stdout
    counted = sum(int(line.split()[0]) for line in out.splitlines()
                  if " echotap " in line and "without a wake word" in line)
    assert counted == len(rows)


def test_resolved_names_tag_a_flow_nothing_else_names(_tmp_root, plugin_so):
    """cut-midflow's metrics connection has no handshake and no DNS; a hosts file entry for its
    server names it when network name resolution is on (-N n: no external resolver)."""
    from conftest import Tshark
    cap = next((p for p in CAPTURES if p.name == "cut-midflow.pcapng"), None)
    if cap is None:
        pytest.skip("cut-midflow.pcapng is not committed")
    flow = next(f for f in load_truth(cap)["flows"] if f["server"] == "52.46.155.70")
    assert flow["service"] is None
    ts = Tshark(_tmp_root / "home-hosts", plugin_so)
    (ts.config / "hosts").write_text("52.46.155.70\tunagi-na.amazon.com\n")
    import os
    if os.geteuid() == 0:
        os.chown(ts.config / "hosts", 65534, 65534)
    flt = f"ip.addr == {flow['server']} && tcp.port == {flow['client_port']}"
    plain = ts.fields(cap, ["echotap.service"], "-2", "-Y", flt)
    named = ts.fields(cap, ["echotap.service", "echotap.host", "echotap.evidence"], "-2", "-N", "n", "-Y", flt)
    assert len(named) == flow["packets_up"] + flow["packets_down"]
    assert all(r == [""] for r in plain)
    assert all(r == ["metrics", "unagi-na.amazon.com", "resolved"] for r in named), named[:3]


def is_host_name(name):
    """RFC 1035 / 1123 host names (plus '_'), one trailing dot allowed, ASCII only."""
    import re
    name = name[:-1] if name.endswith(".") else name
    return 0 < len(name) <= 253 and all(re.fullmatch(r"[A-Za-z0-9_-]{1,63}", label) for label in name.split("."))


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
@pytest.mark.parametrize("passes", [[], ["-2"]], ids=["one-pass", "two-pass"])
def test_bad_names_get_an_expert_info(tshark, tshark_plain, capture, passes):
    """Every SNI Wireshark dissects that is not a host name, and only those, is flagged, on the
    first pass and again when a later pass shows the packet's details (-2 -V)."""
    sni = tshark_plain.fields(capture, ["frame.number", "tls.handshake.extensions_server_name"],
                              "-Y", "tls.handshake.extensions_server_name")
    expected = sorted(int(n) for n, name in sni if not is_host_name(name))
    out = tshark.run("-r", capture, *passes, "-V").stdout
    flagged, frame = [], None
    for line in out.splitlines():
        if line.startswith("Frame "):
            frame = int(line.split()[1].rstrip(":"))
        elif "TLS server name is not a valid host name" in line and line.strip().startswith("[Expert Info"):
            flagged.append(frame)
    assert flagged == expected
