"""The committed captures and their truth, checked against the generator and against Wireshark's
own view of the capture (tshark without echotap): conversations, frame lengths, and the names its
TLS, X.509, HTTP and DNS dissectors read."""
import collections
import filecmp
import ipaddress
import re
import subprocess
import sys

import pytest

from conftest import CAPTURES, ROOT, load_truth, truth_captures

sys.path.insert(0, str(ROOT / "captures"))
from echogen import is_local  # noqa: E402  (the generator's local ranges, as flows.c's)

# The voice services a flow found by its shape alone can get (doc/phases.md, "The voice connection").
VOICE_SERVICES = {"avs", "siri", "google-assistant", "voice"}
GENERATED = [p for p in truth_captures() if load_truth(p).get("made_by", "").startswith("captures/generate.py")]
HOSTILE = {"hostile.pcapng"}


def test_the_generated_captures_are_committed():
    names = {p.name for p in GENERATED}
    assert {"echo-study.pcapng", "multi-speaker.pcapng", "ipv6.pcapng", "cut-midflow.pcapng",
            "hostile.pcapng", "echo-pcm.pcapng", "homepod.pcapng", "google-home.pcapng", "sonos.pcapng"} <= names


def test_regenerating_gives_identical_bytes(tmp_path):
    subprocess.run([sys.executable, str(CAPTURES / "generate.py"), "-o", str(tmp_path)], check=True,
                   capture_output=True)
    for cap in GENERATED:
        for f in (cap, cap.with_suffix(".truth.json")):
            assert filecmp.cmp(f, tmp_path / f.name, shallow=False), f"{f.name} differs when regenerated"


def endpoints(flow):
    return ((flow["client"], flow["client_port"]), (flow["server"], flow["server_port"]))


def wireshark_streams(tshark_plain, capture):
    """Frames and bytes per conversation and direction, from tshark's own per-frame fields."""
    out = collections.defaultdict(lambda: collections.Counter())
    rows = tshark_plain.fields(capture, ["ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport", "tcp.dstport",
                                         "udp.srcport", "udp.dstport", "frame.len"])
    for ip4s, ip6s, ip4d, ip6d, tsp, tdp, usp, udp_, length in rows:
        proto, sp, dp = ("tcp", tsp, tdp) if tsp else ("udp", usp, udp_) if usp else (None, None, None)
        if proto is None:
            continue
        src, dst = (ip4s or ip6s, int(sp)), (ip4d or ip6d, int(dp))
        key = (proto, *sorted([src, dst]))
        out[key][("frames", src)] += 1
        out[key][("bytes", src)] += int(length)
    return out


@pytest.mark.parametrize("capture", truth_captures(), ids=lambda p: p.name)
def test_truth_flows_are_wiresharks_conversations(tshark_plain, capture):
    truth = load_truth(capture)
    seen = wireshark_streams(tshark_plain, capture)
    want = {}
    for f in truth["flows"]:
        client, server = endpoints(f)
        want[(f["proto"], *sorted([client, server]))] = f
    assert set(seen) == set(want), "conversations differ from the truth's flows"
    for key, f in want.items():
        client, server = endpoints(f)
        got = seen[key]
        assert (got[("frames", client)], got[("frames", server)]) == (f["packets_up"], f["packets_down"]), f
        assert (got[("bytes", client)], got[("bytes", server)]) == (f["bytes_up"], f["bytes_down"]), f


def conv_table(tshark_plain, capture, proto):
    """tshark -z conv,PROTO rows: {(A, B): (frames B->A, frames A->B)} (4.0 prints bytes rounded)."""
    out = tshark_plain.run("-r", capture, "-q", "-z", f"conv,{proto}").stdout
    rows = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+):(\d+)\s+<->\s+(\S+):(\d+)\s+(\d+)\s.*?\|?\s*$", line)
        if not m:
            continue
        cells = line.split("<->")[1].split()      # B, frames, bytes, unit, frames, bytes, unit, ...
        rows[((m.group(1), int(m.group(2))), (m.group(3), int(m.group(4))))] = (int(cells[1]), int(cells[4]))
    return rows


@pytest.mark.parametrize("capture", truth_captures(), ids=lambda p: p.name)
def test_truth_frames_equal_tshark_conv(tshark_plain, capture):
    truth = load_truth(capture)
    for proto in ("tcp", "udp"):
        table = conv_table(tshark_plain, capture, proto)
        flows = [f for f in truth["flows"] if f["proto"] == proto]
        assert len(table) == len(flows), proto
        for f in flows:
            client, server = endpoints(f)
            if (client, server) in table:
                frames_down, frames_up = table[(client, server)]
            else:
                frames_up, frames_down = table[(server, client)]
            assert (frames_up, frames_down) == (f["packets_up"], f["packets_down"]), f


def normalized(name):
    name = name.lower()
    return name[:-1] if name.endswith(".") else name


def fields_per_stream(tshark_plain, capture, field):
    """{conversation key: [values of field]} from tshark's own dissection (TCP and UDP)."""
    out = collections.defaultdict(list)
    rows = tshark_plain.fields(capture, ["ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "tcp.srcport", "tcp.dstport",
                                         "udp.srcport", "udp.dstport", field],
                               "-E", "occurrence=a", "-E", "aggregator=|")
    for ip4s, ip6s, ip4d, ip6d, tsp, tdp, usp, udp_, values in rows:
        proto, sp, dp = ("tcp", tsp, tdp) if tsp else ("udp", usp, udp_)
        if not sp or not values:
            continue
        key = (proto, *sorted([(ip4s or ip6s, int(sp)), (ip4d or ip6d, int(dp))]))
        out[key] += values.split("|")
    return out


@pytest.mark.parametrize("capture", truth_captures(), ids=lambda p: p.name)
def test_truth_hosts_are_what_wireshark_dissects(tshark_plain, capture):
    """Each flow's host is in the evidence its truth names, as Wireshark's dissectors read it."""
    truth = load_truth(capture)
    sni = fields_per_stream(tshark_plain, capture, "tls.handshake.extensions_server_name")
    for key, values in fields_per_stream(tshark_plain, capture, "gquic.tag.sni").items():
        sni[key] += values                      # a gQUIC CHLO's SNI tag (Wireshark 4.0: not in tls.*)
    http = fields_per_stream(tshark_plain, capture, "http.host")
    cert = fields_per_stream(tshark_plain, capture, "x509ce.dNSName")
    cn = fields_per_stream(tshark_plain, capture, "x509sat.printableString")
    cn_utf8 = fields_per_stream(tshark_plain, capture, "x509sat.uTF8String")
    answers = collections.defaultdict(set)
    for qname, a, aaaa in tshark_plain.fields(capture, ["dns.qry.name", "dns.a", "dns.aaaa"],
                                              "-Y", "dns.flags.response == 1", "-E", "occurrence=a",
                                              "-E", "aggregator=|"):
        for addr in (a + "|" + aaaa).split("|"):
            if addr:
                answers[str(ipaddress.ip_address(addr))].add(normalized(qname))
    strong = {}
    for f in truth["flows"]:
        key = (f["proto"], *sorted(endpoints(f)))
        ev, host = f["evidence"], f["host"]
        if ev == "sni":
            assert host in [normalized(v) for v in sni[key]], f
        elif ev == "cert":
            assert host in [normalized(v) for v in cert[key] + cn[key] + cn_utf8[key]], f
            assert not sni[key], f"{f}: a flow named by its certificate has no SNI"
        elif ev == "http-host":
            assert host in [normalized(v.split(":")[0]) for v in http[key]], f
        elif ev == "dns":
            assert host in answers[f["server"]], f
            assert not sni[key] and not cert[key] and not http[key], f
        elif ev == "same-ip":
            strong.setdefault(f["server"], []).append(f)
        elif ev == "traffic":
            # Named by nothing at all: no SNI, certificate, HTTP Host or DNS answer for it.
            assert host is None and f["service"] in VOICE_SERVICES, f
            assert not sni[key] and not cert[key] and not http[key] and not answers[f["server"]], f
        elif ev == "lan":
            # A local server nothing names (doc/classification.md, "Rules"): no SNI, no valid certificate name, no DNS answer.
            assert host is None and f["service"] == "local" and is_local(f["server"]), f
            assert not sni[key] and not answers[f["server"]], f
        else:
            assert ev is None and host is None, f
        if ev in ("sni", "cert", "http-host"):
            strong.setdefault(("named", f["server"]), []).append(host)
    for server, flows in strong.items():
        if server[0] == "named":
            continue
        for f in flows:
            assert f["host"] in strong.get(("named", server), []), f


@pytest.mark.parametrize("capture", truth_captures(), ids=lambda p: p.name)
def test_wireshark_reads_the_capture_without_errors(tshark_plain, capture):
    if capture.name in HOSTILE:
        pytest.skip("malformed on purpose")
    bad = tshark_plain.run("-r", capture, "-Y", "_ws.malformed || _ws.expert.severity == error").stdout
    assert bad == ""


@pytest.mark.parametrize("capture", [p for p in truth_captures() if load_truth(p).get("interactions")],
                         ids=lambda p: p.name)
def test_automatic_phases_find_each_wake_word(tshark, capture):
    """No schedule: every scripted interaction lies in an `interaction` phase whose boundaries are
    within 1 s of it, and no `interaction` phase lies elsewhere (the conversation, a download)."""
    import json
    truth = load_truth(capture)
    data = json.loads(tshark.run("-r", capture, "-q", "-z", "echotap,json").stdout)
    assert data["automatic_phases"] is True
    detected = [p for p in data["phases"] if p["label"] == "interaction"]
    for it in truth["interactions"]:
        match = [p for p in detected if p["device"] == it["device"] and p["start"] < it["end"] and it["start"] < p["end"]]
        assert len(match) == 1, (it, detected)
        assert abs(match[0]["start"] - it["start"]) <= 1.0 and abs(match[0]["end"] - it["end"]) <= 1.0, (it, match)
    assert len(detected) == len(truth["interactions"]), detected
