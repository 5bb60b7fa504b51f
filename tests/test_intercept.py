"""Interception and per-flow expert infos, judged against the captures' truth.

`intercepted` holds two connections whose forged certificate (issuer "mitmproxy") the Echo
rejects with a fatal unknown_ca alert, and one that it accepts; its truth records the rejection
(`tls_rejected`: the alert's code, `tls_issuer`). Per-flow expert infos (a mismatch, a rejected
certificate) are counted once per flow, by the one-pass and the two-pass tshark alike.
"""
import pytest

from conftest import load_truth, truth_captures

CAPTURES = truth_captures()
INTERCEPTED = [p for p in CAPTURES if p.name == "intercepted.pcapng"]
PASSES = pytest.mark.parametrize("passes", [[], ["-2"]], ids=["one-pass", "two-pass"])
TRUE = ("1", "True")


def flow_key(a, pa, b, pb):
    return tuple(sorted([(a, int(pa)), (b, int(pb))]))


def expert_count(tshark, capture, passes, text, *extra):
    """How many echotap expert infos whose summary holds `text` tshark -q -z expert counts."""
    out = tshark.run("-r", capture, "-q", *passes, *extra, "-z", "expert").stdout
    return sum(int(line.split()[0]) for line in out.splitlines() if " echotap " in line and text in line)


@pytest.mark.parametrize("capture", INTERCEPTED, ids=lambda p: p.name)
@PASSES
def test_rejected_certificate_fields(tshark, capture, passes):
    truth = load_truth(capture)
    tls_flows = {flow_key(f["client"], f["client_port"], f["server"], f["server_port"]): f
                 for f in truth["flows"] if "tls_rejected" in f}
    assert sorted(f["tls_rejected"] or 0 for f in tls_flows.values()) == [0, 48, 48]
    fields = ["frame.number", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "echotap.tls.rejected",
              "echotap.tls.alert", "echotap.tls.issuer", "tls.alert_message.desc"]
    rows = tshark.fields(capture, fields, *passes, "-Y", "tcp")
    seen_alert, seen_cert = {}, {}
    for row in rows:
        r = dict(zip(fields, row))
        f = tls_flows.get(flow_key(r["ip.src"], r["tcp.srcport"], r["ip.dst"], r["tcp.dstport"]))
        if f is None:
            assert r["echotap.tls.rejected"] == "", r
            continue
        key = id(f)
        if r["tls.alert_message.desc"]:
            seen_alert[key] = True
        if r["echotap.tls.rejected"]:
            seen_cert[key] = True
        if passes:
            # Later passes: every packet carries the flow's final state (before the Certificate too).
            assert (r["echotap.tls.rejected"] in TRUE) == bool(f["tls_rejected"]), r
            assert r["echotap.tls.issuer"] == f["tls_issuer"], r
            assert r["echotap.tls.alert"] == (str(f["tls_rejected"]) if f["tls_rejected"] else ""), r
        elif seen_alert.get(key):
            # First pass: rejected from the alert on ...
            assert r["echotap.tls.rejected"] in TRUE and r["echotap.tls.alert"] == "48", r
        elif seen_cert.get(key):
            # ... not rejected (yet) from the server's Certificate on, nothing before it.
            assert r["echotap.tls.rejected"] not in TRUE and r["echotap.tls.issuer"] == f["tls_issuer"], r
    assert len(seen_alert) == 2


@pytest.mark.parametrize("capture", INTERCEPTED, ids=lambda p: p.name)
@PASSES
def test_rejected_certificate_expert_once_per_flow(tshark, capture, passes):
    rejected = [f for f in load_truth(capture)["flows"] if f.get("tls_rejected")]
    assert expert_count(tshark, capture, passes, "rejected the server's certificate") == len(rejected) == 2
    # With a tree (-V) too, and on the alert's frame.
    rows = tshark.fields(capture, ["frame.number", "tls.alert_message.desc"], *passes,
                         "-Y", "_ws.expert && echotap.tls.alert && tls.alert_message")
    assert len(rows) == 2 and all(r[1] == "48" for r in rows), rows


@pytest.mark.parametrize("capture", INTERCEPTED, ids=lambda p: p.name)
@PASSES
def test_ip_literal_host_is_no_bad_name(tshark, capture, passes):
    """The SSDP search's Host is 239.255.255.250:1900: valid, not a name, not flagged; the flow is
    local (a multicast server), evidence lan."""
    assert expert_count(tshark, capture, passes, "not a valid host name") == 0
    rows = tshark.fields(capture, ["http.host", "echotap.host", "echotap.evidence"], *passes, "-Y", "ssdp")
    assert rows == [["239.255.255.250:1900", "", "lan"]], rows


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
@PASSES
def test_mismatch_once_per_flow(tshark, capture, passes):
    """Every flow that ends mismatched carries the expert info on one frame (-2); the one-pass
    run flags each flow once too, at the first packet where the mismatch is known."""
    flagged = tshark.fields(capture, ["echotap.flow"], "-2", "-Y", "echotap.evidence.mismatch")
    flows = [r[0] for r in flagged]
    assert len(flows) == len(set(flows)), flagged
    assert expert_count(tshark, capture, passes, "Evidence disagrees") == len(flows)
    if capture.name == "hostile.pcapng":
        assert len(flows) == 1                 # the SNI the certificate does not cover
    else:
        assert len(flows) == 0
