"""What real Echo traffic does (../shared/real-captures/README.md), in generated captures whose
truth the generator wrote by intent: real-shapes.pcapng (automatic phases: an AVS connection older
than the capture that nothing names, a second AVS connection named by its certificate, post-answer
event bursts, a multi-turn dialog, a long answer read out in chunks, an unnamed download whose
upload is only ACKs, a capture that stops inside an event burst) and covert.pcapng (a schedule; an
event burst in one `silence`, speech without a wake word in another).

Expected values come from the truth files only, never from earlier plugin output."""
import collections
import json

import pytest

from conftest import CAPTURES, load_truth

REAL = [CAPTURES / "real-shapes.pcapng", CAPTURES / "covert.pcapng"]
FLAGGED = "UPLOAD WITHOUT WAKE WORD"
FIELDS = ["frame.number", "frame.time_relative", "ip.src", "ip.dst", "tcp.srcport", "tcp.dstport", "udp.srcport",
          "udp.dstport", "echotap.service", "echotap.host", "echotap.evidence"]


def schedule_args(truth):
    return ["-o", f"echotap.schedule:{truth['schedule']}"] if truth.get("schedule") else []


def json_export(tshark, capture, *args):
    return json.loads(tshark.run("-r", capture, "-q", *args, "-z", "echotap,json").stdout)


def packets_by_flow(tshark, capture, *passes):
    """{(proto, client, client port, server, server port) of the truth: [(frame, time, service, host,
    evidence)]}, every TCP/UDP packet in one of the truth's flows."""
    truth = load_truth(capture)
    flows = {}
    for f in truth["flows"]:
        a, b = (f["client"], f["client_port"]), (f["server"], f["server_port"])
        flows[(f["proto"], *sorted([a, b]))] = f
    out = collections.defaultdict(list)
    for row in tshark.fields(capture, FIELDS, *passes):
        r = dict(zip(FIELDS, row))
        proto = "tcp" if r["tcp.srcport"] else "udp" if r["udp.srcport"] else None
        if proto is None:
            continue
        key = (proto, *sorted([(r["ip.src"], int(r[f"{proto}.srcport"])), (r["ip.dst"], int(r[f"{proto}.dstport"]))]))
        assert key in flows, f"frame {r['frame.number']}: not in a flow of the truth"
        out[id(flows[key])].append((int(r["frame.number"]), float(r["frame.time_relative"]),
                                    r["echotap.service"] or None, r["echotap.host"] or None,
                                    r["echotap.evidence"] or None))
    return truth, out


def test_the_captures_are_committed_and_small():
    for cap in REAL:
        assert cap.exists() and cap.with_suffix(".truth.json").exists(), cap
        assert cap.stat().st_size <= 1_000_000, cap


@pytest.mark.parametrize("capture", REAL, ids=lambda p: p.name)
def test_every_packet_has_its_flows_class_on_later_passes(tshark, capture):
    """Service, host and evidence of every packet (tshark -2) are its flow's in the truth: the AVS
    connection that nothing names is avs by `traffic`, with no host; the second AVS connection is
    named by its certificate; the unnamed download stays untagged."""
    truth, got = packets_by_flow(tshark, capture, "-2")
    for f in truth["flows"]:
        rows = got[id(f)]
        assert len(rows) == f["packets_up"] + f["packets_down"], f
        want = (f["service"], f["host"], f["evidence"])
        wrong = [r for r in rows if r[2:] != want]
        assert not wrong, f"{len(wrong)} packets of {f['server']}:{f['server_port']} (client port " \
                          f"{f['client_port']}): expected {want}, first: frame {wrong[0][0]} at {wrong[0][1]} s: {wrong[0][2:]}"


@pytest.mark.parametrize("capture", REAL[:1], ids=lambda p: p.name)
def test_traffic_evidence_from_the_answer_on(tshark, capture):
    """First pass: the unnamed voice connection is avs by traffic from the packet that showed its
    speech answered (the answer's first packet, `traffic_from` in the truth), untagged before it."""
    truth, got = packets_by_flow(tshark, capture)
    flows = [f for f in truth["flows"] if f.get("traffic_from") is not None]
    assert flows
    for f in flows:
        for frame, t, *cls in got[id(f)]:
            want = ("avs", None, "traffic") if t >= f["traffic_from"] - 1e-6 else (None, None, None)
            assert tuple(cls) == want, f"frame {frame} at {t} s: expected {want}, got {tuple(cls)}"


@pytest.mark.parametrize("capture", REAL, ids=lambda p: p.name)
def test_automatic_interactions_are_the_truths(tshark, capture):
    """Without a schedule: one `interaction` per interaction of the truth (event bursts, ACKs of a
    download, a dialog's second turn and an answer's later chunks make none), starting within
    0.1 s of the speech and ending within 0.2 s of the answer's last packet, with the speech upload
    the generator sent; nothing is flagged."""
    truth = load_truth(capture)
    data = json_export(tshark, capture)
    assert data["automatic_phases"] is True
    detected = [p for p in data["phases"] if p["label"] == "interaction"]
    want = truth["interactions"]
    assert len(detected) == len(want), [(p["start"], p["end"]) for p in detected]
    for it, p in zip(want, sorted(detected, key=lambda p: p["start"])):
        assert p["device"] == it["device"], (it, p)
        assert abs(p["start"] - it["start"]) <= 0.1, (it, p)
        assert abs(p["end"] - it["end"]) <= 0.2, (it, p)
        assert p["voice_up_bytes"] == it["speech_bytes"], (it, p)
    assert [p for p in data["phases"] if p["verdict"] == FLAGGED] == []


def test_automatic_phases_and_verdicts_of_real_shapes(tshark):
    """The phase list is idle, then each interaction and the idle after it: the capture stops
    inside an event burst, and its last phase is idle and ok."""
    capture = REAL[0]
    truth = load_truth(capture)
    assert truth["schedule"] is None
    data = json_export(tshark, capture)
    got = [{"device": p["device"], "phase_index": p["index"], "phase": p["label"], "verdict": p["verdict"]}
           for p in data["phases"]]
    assert got == truth["expected_verdicts"]
    last = data["phases"][-1]
    assert last["label"] == "idle" and last["voice_up_bytes"] == 0


@pytest.mark.parametrize("passes", [[], ["-2"]], ids=["one-pass", "two-pass"])
def test_schedule_verdicts_are_the_truths(tshark, passes):
    """With the truth's schedule: the silence with only a post-answer event burst is ok, the
    silence with speech and no wake word is flagged, and only that one; its speech upload is the
    covert speech the generator sent."""
    capture = REAL[1]
    truth = load_truth(capture)
    assert truth["schedule"]
    data = json_export(tshark, capture, *passes, *schedule_args(truth))
    assert data["automatic_phases"] is False
    got = [{"device": p["device"], "phase_index": p["index"], "phase": p["label"], "verdict": p["verdict"]}
           for p in data["phases"]]
    assert got == truth["expected_verdicts"]
    phases = data["phases"]
    for p in phases:
        speech = sum(it["speech_bytes"] for it in truth["interactions"]
                     if it["device"] == p["device"] and p["start"] <= it["start"] < p["end"])
        assert p["voice_up_bytes"] == speech, p


def test_the_covert_speech_carries_the_expert_info(tshark):
    """The expert info sits on the first packet of the run of speech in the flagged phase: the
    covert speech's first upload, on the voice connection."""
    capture = REAL[1]
    truth = load_truth(capture)
    covert = [it for it in truth["interactions"] if it.get("wake_word") is False]
    assert len(covert) == 1
    rows = tshark.fields(capture, ["frame.time_relative", "echotap.dir", "echotap.service"], "-2",
                         *schedule_args(truth), "-Y", "echotap.phase.upload_without_wake_word")
    assert [(round(float(t), 3), d, s) for t, d, s in rows] == [(covert[0]["start"], "up", "avs")]
    rows = tshark.fields(capture, ["frame.number"], "-2", "-Y", "echotap.phase.upload_without_wake_word")
    assert rows == [], "flagged without the schedule"


@pytest.mark.parametrize("capture", REAL, ids=lambda p: p.name)
def test_traffic_flows_have_no_name_anywhere(tshark_plain, capture):
    """A flow the truth calls avs by `traffic` has no name in Wireshark's own dissection: no SNI,
    certificate or HTTP Host on it, no DNS answer for its server (test_captures.py's name check
    does not know this evidence)."""
    truth = load_truth(capture)
    traffic = [f for f in truth["flows"] if f["evidence"] == "traffic"]
    if capture.name == "real-shapes.pcapng":
        assert [f["server"] for f in traffic] == ["52.46.141.30"]
    for f in traffic:
        assert f["service"] == "avs" and f["host"] is None, f
        flt = f"ip.addr == {f['server']} && tcp.port == {f['client_port']}"
        names = tshark_plain.fields(capture, ["tls.handshake.extensions_server_name", "x509ce.dNSName",
                                              "x509sat.printableString", "http.host"], "-Y", flt)
        assert all(not any(r) for r in names), f
        assert tshark_plain.fields(capture, ["frame.number"], "-Y", f"dns.a == {f['server']}") == [], f
