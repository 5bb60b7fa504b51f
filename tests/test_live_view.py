"""The live view's text in tshark (-z echotap,live; plugin/echotap-live.c): the same numbers as
the Phases and Flows tables of the same run (-z echotap,phases, -z echotap,flows; the Flows folded
per device, service and server), and as many packets and flows as Wireshark's own TCP and UDP
conversations hold. The view counts into private copies of those tables, so the run with the
tables and the run without them must print the same view.
The GUI's live window is tests/gui/test_live_gui.py."""
import datetime

import pytest

from conftest import CAPTURES, load_truth
from live_view import (FLOWS, GROUP_BYTES, PHASE_KEY, STORY, TOP, expected_from_tables, flow_count, flow_packets,
                       flow_groups, parse_live, sections, tshark_live_text)
from test_captures import conv_table
from test_plugin import parse_table

ALL = sorted(CAPTURES.glob("*.pcapng"))


def schedule_args(capture):
    truth_file = capture.with_suffix(".truth.json")
    truth = load_truth(capture) if truth_file.exists() else {}
    return ["-o", f"echotap.schedule:{truth['schedule']}"] if truth.get("schedule") else []


@pytest.mark.parametrize("capture", ALL, ids=lambda p: p.name)
def test_live_view_equals_the_tables(tshark, tshark_plain, capture):
    args = ["-r", capture, "-q", *schedule_args(capture)]
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    out = tshark.run(*args, "-z", "echotap,live", "-z", "echotap,phases", "-z", "echotap,flows").stdout
    after = datetime.datetime.now(datetime.timezone.utc)
    text = tshark_live_text(out)
    view = parse_live(text)
    phases, flows = parse_table(out, "Echotap Phases"), parse_table(out, "Echotap Flows")
    assert phases and flows
    assert view["Phases"][0] == STORY
    assert view["Phase bytes"][0] == PHASE_KEY + list(GROUP_BYTES)
    assert view["Flows"][0] == FLOWS
    assert sections(view) == expected_from_tables(phases, flows)
    groups = {(r["Device"], r["Service"], r["Server"]) for r in flows}
    assert flow_groups(text) == (len(flows), len(groups))
    assert len(view["Flows"][1]) <= TOP + len({r["Device"] for r in flows})
    # Every packet and every TCP or UDP conversation of Wireshark's own (tshark without echotap).
    conv = {proto: conv_table(tshark_plain, capture, proto) for proto in ("tcp", "udp")}
    conv_frames = sum(a + b for table in conv.values() for a, b in table.values())
    assert view["packets"] == conv_frames == flow_packets(view) == sum(int(r["Up pkts"]) + int(r["Down pkts"])
                                                                         for r in flows)
    assert flow_count(view) == len(flows) == sum(len(table) for table in conv.values())
    assert view["last"] == max(float(r["Last (s)"]) for r in flows)
    # The wall clock: when tshark drew the view, and when the last packet counted was captured.
    assert before <= view["drawn"] <= after
    epochs = tshark_plain.run("-r", capture, "-Y", "(tcp or udp) and not icmp and not icmpv6", "-T", "fields",
                              "-e", "frame.time_epoch").stdout.split()
    last = datetime.datetime.fromtimestamp(int(max(float(e) for e in epochs)), datetime.timezone.utc)
    assert view["captured"] == last
    # The view alone (no registered table counting beside it) prints the same.
    alone = parse_live(tshark_live_text(tshark.run(*args, "-z", "echotap,live").stdout))
    assert alone.pop("drawn") >= view.pop("drawn")
    assert alone == view


def test_live_view_with_a_filter_and_twice(tshark):
    capture = CAPTURES / "multi-speaker.pcapng"
    device = "192.168.1.20"
    flt = f"ip.addr=={device}"
    out = tshark.run("-r", capture, "-q", "-z", f"echotap,live,{flt}", "-z", "echotap,live",
                     "-z", f"echotap,flows,{flt}", "-z", f"echotap,phases,{flt}").stdout
    # Both views are printed: the filtered one (named by its filter) and the whole one.
    texts = out.split("Echotap Live:\n")[1:]
    assert len(texts) == 2, out
    views = [parse_live(tshark_live_text("Echotap Live:\n" + t)) for t in texts]
    filtered = next(v for v in views if v["filter"] == flt)
    whole = next(v for v in views if v["filter"] is None)
    expected = expected_from_tables(parse_table(out, "Echotap Phases"), parse_table(out, "Echotap Flows"))
    assert sections(filtered) == expected
    assert {r["Device"] for r in filtered["Flows"][1]} == {device}
    assert whole["packets"] > filtered["packets"] > 0


def test_live_view_of_an_empty_capture(tshark, _tmp_root):
    empty = _tmp_root / "empty.pcap"
    empty.write_bytes(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
    empty.chmod(0o644)
    view = parse_live(tshark_live_text(tshark.run("-r", empty, "-q", "-z", "echotap,live").stdout))
    assert view["packets"] == 0 and view["last"] is None and view["captured"] is None and view["drawn"]
    assert all(rows == [] for _, rows in sections(view).values())


def test_live_view_refuses_a_bad_schedule_in_tshark(tshark):
    """As the tables do: one line naming the problem, no statistics printed. (In Wireshark the
    window opens and names the problem in its first lines instead: exiting would end the GUI.)"""
    proc = tshark.run("-r", CAPTURES / "echo-study.pcapng", "-q", "-o", "echotap.schedule:0 silence; 8x query",
                      "-z", "echotap,live", check=False)
    assert proc.returncode != 0
    assert "echotap,live: bad phase schedule (echotap.schedule)" in proc.stderr and '"8x"' in proc.stderr
    assert "Echotap Live" not in proc.stdout
