"""The echotap tables in the real Wireshark GUI during a live capture on the loopback interface.

Wireshark captures while a local TLS client and server (openssl, SNI avs-alexa-1-na.amazon.com)
exchange traffic: the Phases dialog opened at start with -z and the Flows dialog opened from the
Statistics menu during the capture are read twice through their Copy buttons and must grow; once
the capture is stopped, their counts must equal tshark's read of the file Wireshark captured to.
How the unprivileged user captures, and when the test is skipped: tests/live_capture.py.
"""
import collections
import pathlib
import re
import subprocess
import tempfile
import time

import pytest

from conftest import Tshark
from live_capture import TlsTraffic, capture_programs, readable_copy
from test_gui import (FLOWS_ITEM_DEBIAN12, PHASES_CELLS, PHASES_COLUMNS, CopiedTableError, by_name,  # noqa: F401
                      display, layout, out_dir, parse_copied_table, table_sums)
from test_plugin import parse_table
import wireshark_gui as gui

UPDATE_S = 3.0          # Wireshark's default statistics update interval (taps.update_interval, 3000 ms)
FLOW_NUMBERS = ["Up bytes", "Up pkts", "Down bytes", "Down pkts"]


class LiveWireshark(gui.Wireshark):
    """gui.Wireshark for a capture: started from the capturing copy of the program, ready when the
    main window says it is capturing."""

    def __init__(self, sandbox, display, log_dir, program, args, timeout=60):
        self.sandbox, self.display, self.timeout = sandbox, display, timeout
        self.log = log_dir / "live-wireshark.log"
        runtime = pathlib.Path(tempfile.mkdtemp(prefix="xdg-", dir=sandbox.home))
        no_extcap = pathlib.Path(tempfile.mkdtemp(prefix="extcap-", dir=sandbox.home))
        for d in (runtime, no_extcap):
            subprocess.run(["chown", "65534:65534", str(d)], check=False, capture_output=True)
        env = sandbox.env()
        env.update(DISPLAY=display, XDG_RUNTIME_DIR=str(runtime), QT_QPA_PLATFORM="xcb",
                   WIRESHARK_EXTCAP_DIR=str(no_extcap))
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(sandbox.prefix() + [program, *map(str, args)], env=env,
                                         stdout=log, stderr=subprocess.STDOUT)
        self.main = self.wait_window("^Capturing from")

    def wait_stopped(self):
        """Until the main window no longer says "Capturing from" (it then names the interface)."""
        end = time.monotonic() + self.timeout
        while self.title(self.main).startswith("Capturing from"):
            assert time.monotonic() < end, "the capture did not stop"
            time.sleep(0.2)

    def capture_file(self):
        """The file Wireshark captures into (its temporary file), from its log."""
        m = re.search(r'File: "([^"]+)"', self.log.read_text())
        assert m, f"no capture file in {self.log}"
        return pathlib.Path(m.group(1))


def copied(ws, layout, win, title):
    """(header, rows) of a dialog's table, read through its Copy button (empty tables too)."""
    ready = lambda text: f"{title} - " in text and text.rstrip().endswith("-")
    return parse_copied_table(ws.copy_button(win, *layout["table_copy"], ready=ready), title)


def phases_counts(header, rows):
    """Counter {(device, phase #, group, dir, "bytes"): n} of the Phases dialog (rows: {column: cell})."""
    if header != PHASES_COLUMNS:       # not an AssertionError: the xfail expects those only from growth
        raise CopiedTableError(f"Phases columns {header}")
    return +table_sums(rows, lambda row: (row["Device"], int(row["#"])), PHASES_CELLS)


def copied_phases(ws, layout, win):
    header, lines = copied(ws, layout, win, "Echotap Phases")
    return phases_counts(header, [by_name(header, line) for line in lines])


def flows_counts(header, lines):
    """Counter of (device, proto, server, port, up bytes, up pkts, down bytes, down pkts) rows of
    the Flows dialog; Host and Evidence can be empty, so the numbers are read from the row's end."""
    assert header[-6:-2] == FLOW_NUMBERS, header
    rows = [line.split() for line in lines]
    return collections.Counter(tuple(r[:4]) + tuple(int(n) for n in r[-6:-2]) for r in rows)


def total(counts, kind="bytes"):
    return sum(n for key, n in counts.items() if key[-1] == kind)


def open_flows_from_menu(ws, exclude):
    """Statistics → Echotap Flows, found from where it is on Debian 12 (as test_gui does)."""
    k = FLOWS_ITEM_DEBIAN12
    seen = []
    for _ in range(12):
        ws.focus(ws.main)
        gui.xdo(ws.display, "mousemove", *gui.POINTER_PARK)
        ws.keys("alt+s")
        time.sleep(0.4)
        ws.keys(*["Down"] * k, "Return")
        try:
            dlg = ws.wait_window(".", timeout=4, exclude=exclude)
            title = ws.title(dlg).split(" · ")[1]
        except RuntimeError:
            ws.keys("Escape", "Escape", "Escape")
            dlg, title = None, None
        seen.append((k, title))
        if title == "Echotap Flows":
            return dlg
        if dlg:
            ws.focus(dlg)
            ws.keys("Escape")
            time.sleep(0.5)
        k += 1 if title is None or title < "Echotap Flows" else -1
    pytest.fail(f"no Statistics item opens Echotap Flows; items seen: {seen}")


# Wireshark's stat_tap_table dialog fills its table by a retap of the packets there are when it is
# opened or Apply is pressed, then removes its tap listener (SimpleStatisticsDialog::fillTree):
# live packets never reach the tables and nothing redraws the dialog. With Apply pressed before
# each read, this test passes (growth, and final counts equal to tshark's read of the file).
@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="issue 15 item 1: the stat_tap_table dialogs of Wireshark do not tap live packets")
def test_tables_update_during_a_live_capture(display, layout, out_dir, _tmp_root, plugin_so):
    sandbox = Tshark(_tmp_root / "home-gui-live", plugin_so)
    (sandbox.config / "recent_common").write_text(
        "gui.geometry_main_x: 0\ngui.geometry_main_y: 0\n"
        f"gui.geometry_main_width: {gui.MAIN_SIZE[0]}\ngui.geometry_main_height: {gui.MAIN_SIZE[1]}\n"
        "gui.geometry_main_maximized: FALSE\nprivs.warn_if_elevated: FALSE\n")
    wireshark = capture_programs(sandbox, "wireshark")["wireshark"]
    traffic = TlsTraffic(_tmp_root, limit=80, pause=0.3)
    ws = None
    try:
        ws = LiveWireshark(sandbox, display, out_dir, wireshark,
                           ["-i", "lo", "-k", "-f", f"tcp port {traffic.port}", "-o", "gui.ask_unsaved:FALSE",
                            "-z", "echotap,phases"])
        phases = ws.wait_window("Echotap Phases")
        traffic.start_clients()
        flows = open_flows_from_menu(ws, exclude=[ws.main, phases])

        reads = []
        for _ in range(2):
            time.sleep(2 * UPDATE_S)
            reads.append((copied_phases(ws, layout, phases),
                          flows_counts(*copied(ws, layout, flows, "Echotap Flows")), traffic.connections))
        ws.screenshot("root", out_dir / "live-capture.png")
        (p1, f1, c1), (p2, f2, c2) = reads
        assert c2 > c1 > 0, "the TLS client did not connect"
        assert 0 < total(p1) < total(p2), f"Phases did not grow while capturing: {total(p1)} then {total(p2)} bytes"
        assert 0 < sum(f1.values()) < sum(f2.values()), \
            f"Flows did not grow while capturing: {sum(f1.values())} then {sum(f2.values())} rows"

        traffic.stop_clients()
        time.sleep(1)
        ws.focus(ws.main)
        ws.keys("ctrl+e")                                   # Capture → Stop
        ws.wait_stopped()
        saved = readable_copy(ws.capture_file(), _tmp_root / "gui-live.pcapng")
        out = sandbox.run("-r", saved, "-q", "-z", "echotap,phases", "-z", "echotap,flows").stdout
        want_rows = parse_table(out, "Echotap Phases")
        want_phases = phases_counts(list(want_rows[0]), want_rows)
        want_flows = collections.Counter(
            (r["Device"], r["Proto"], r["Server"], r["Port"], *(int(r[n]) for n in FLOW_NUMBERS))
            for r in parse_table(out, "Echotap Flows"))
        assert total(want_phases) > total(p2)
        # The last statistics update after the capture stopped draws the last packets.
        deadline = time.monotonic() + 3 * UPDATE_S
        while True:
            got_phases = copied_phases(ws, layout, phases)
            got_flows = flows_counts(*copied(ws, layout, flows, "Echotap Flows"))
            if (got_phases, got_flows) == (want_phases, want_flows) or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert got_phases == want_phases
        assert got_flows == want_flows
    finally:
        traffic.stop()
        if ws:
            ws.stop()
