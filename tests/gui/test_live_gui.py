"""The echotap live view (Statistics > Echotap Live, -z echotap,live) in the real Wireshark GUI
during a live capture on the loopback interface.

Why a view of its own: the Echotap Phases/Flows/Timeline dialogs are stat_tap_table dialogs (Qt's
SimpleStatisticsDialog), whose fillTree() registers a tap listener, retaps the packets there are,
draws once and removes its tap listeners again: live packets never reach them and nothing redraws
them; only their Apply button does (ui/qt/simple_statistics_dialog.cpp, 4.0 to 4.6). No plugin
change can make those dialogs live. The live view is a tap listener that stays registered while
its window (a funnel text window, as Lua's) is open: Wireshark taps it with every captured packet
and calls its draw callback at its statistics update interval (3 s by default).

Wireshark captures while a local TLS client and server (openssl, SNI avs-alexa-1-na.amazon.com)
exchange traffic. One live window is opened at start with -z, a second from the Statistics menu
during the capture; both are read twice (their text, copied) and must grow, their Flows folded
into a screen's rows (the client's connections are one group of device, service and server) and
their "Drawn at" wall clock moving on, the last packet's capture time just before it; the menu's window is
then closed during the capture and the other keeps growing. Once the capture is stopped, the
window's numbers must equal tshark's read of the file Wireshark captured to; after File > Reload
(the file closed and read again), too. Wireshark's debug log of the plugin counts the views
opened and closed: each closed window's listener goes at once, the last at shutdown.
Without a capture file, the view opens (twice) from the menu, shows no packets and closes.
How the unprivileged user captures, and when the test is skipped: tests/live_capture.py.
"""
import datetime
import pathlib
import re
import subprocess
import tempfile
import time

import pytest

from conftest import Tshark
from live_capture import TlsTraffic, capture_programs, readable_copy
from live_view import (TOP, LiveTextError, expected_from_tables, flow_count, flow_packets, parse_live, phase_bytes,
                       sections, tshark_live_text)
from test_gui import FLOWS_ITEM_DEBIAN12, MENU_TABLES, display, out_dir  # noqa: F401  (fixtures)
from test_plugin import parse_table
import wireshark_gui as gui

UPDATE_S = 3.0          # Wireshark's default statistics update interval (statistics.update_interval, 3000 ms)
LIVE = "Echotap Live"
LOG_DEBUG = ["--log-debug", "echotap"]     # the plugin's "live view ... opened/closed (N open)" lines


class LiveWireshark(gui.Wireshark):
    """gui.Wireshark started from the capturing copy of the program (or the installed one), ready
    when the main window's title matches `ready` ("Capturing from ..." for a capture)."""

    def __init__(self, sandbox, display, log_dir, name, program, args, ready, timeout=60):
        self.sandbox, self.display, self.timeout = sandbox, display, timeout
        self.log = log_dir / f"{name}-wireshark.log"
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
        self.main = self.wait_window(ready)

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

    def views(self):
        """(opened, closed, open now) of the plugin's live views, from the debug log."""
        text = self.log.read_text()
        opened = re.findall(r"live view \S+ opened \((\d+) open\)", text)
        closed = re.findall(r"live view \S+ closed \((\d+) open\)", text)
        lines = re.findall(r"live view \S+ (?:opened|closed) \((\d+) open\)", text)
        return len(opened), len(closed), int(lines[-1]) if lines else 0

    def resets(self):
        """How often the live views were reset (a retap, a file closed), from the debug log."""
        return len(re.findall(r"live view \S+ reset", self.log.read_text()))


def sandbox_for(tmp, plugin_so):
    """A HOME with the plugin and a recent_common of fixed main-window geometry. recent_common is
    written before Tshark() hands HOME to the unprivileged user (as test_gui's sandbox does):
    Wireshark rewrites it when it quits, and a file it may not write makes Wireshark 4.4 and 4.6
    show "Can't open recent file ... Permission denied" in a modal dialog at quit and wait there
    for OK (4.0 quits without showing it)."""
    config = tmp / ".config" / "wireshark"
    config.mkdir(parents=True, exist_ok=True)
    (config / "recent_common").write_text(
        "gui.geometry_main_x: 0\ngui.geometry_main_y: 0\n"
        f"gui.geometry_main_width: {gui.MAIN_SIZE[0]}\ngui.geometry_main_height: {gui.MAIN_SIZE[1]}\n"
        "gui.geometry_main_maximized: FALSE\nprivs.warn_if_elevated: FALSE\n")
    return Tshark(tmp, plugin_so)       # copies the plugin, hands HOME to the unprivileged user


def read_view(ws, win):
    """The live window's text, parsed (tests/live_view.py)."""
    def ready(text):
        try:
            parse_live(text)
            return True
        except LiveTextError:
            return False
    return parse_live(ws.text_window_text(win, ready))


def open_from_menu(ws, title, exclude):
    """Statistics > title, found from where it is on Debian 12 (the menu's sorted section of
    tables, as test_gui walks it); the window it opened."""
    k = FLOWS_ITEM_DEBIAN12 + MENU_TABLES.index(title)
    seen = []
    for _ in range(12):
        ws.focus(ws.main)
        gui.xdo(ws.display, "mousemove", *gui.POINTER_PARK)
        ws.keys("alt+s")
        time.sleep(0.4)
        ws.keys(*["Down"] * k, "Return")
        try:
            win = ws.wait_window(".", timeout=4, exclude=exclude)
            got = ws.title(win).split(" · ")[1]
        except RuntimeError:
            ws.keys("Escape", "Escape", "Escape")
            win, got = None, None
        seen.append((k, got))
        if got == title:
            return win
        if win:
            ws.focus(win)
            ws.keys("Escape")
            time.sleep(0.5)
        k += 1 if got is None or got < title else -1
    pytest.fail(f"no Statistics item opens {title}; items seen: {seen}")


def close(ws, win):
    ws.focus(win)
    ws.keys("Escape")
    end = time.monotonic() + 10
    while win in ws.windows("."):
        assert time.monotonic() < end, f"window {win} did not close"
        time.sleep(0.2)


def wait_equal(ws, win, want, what):
    """Reads the window until its sections and packet count equal want's (a redraw can be up to one
    update interval away); fails with the difference."""
    deadline = time.monotonic() + 4 * UPDATE_S
    while True:
        got = read_view(ws, win)
        if (sections(got), got["packets"]) == (sections(want), want["packets"]) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert got["packets"] == want["packets"], what
    for name, section in sections(want).items():
        assert sections(got)[name] == section, f"{what}: {name}"


def test_live_view_grows_during_a_live_capture(display, out_dir, _tmp_root, plugin_so):
    sandbox = sandbox_for(_tmp_root / "home-gui-live", plugin_so)
    wireshark = capture_programs(sandbox, "wireshark")["wireshark"]
    # limit: a bound only. The clients must still be connecting when the capture is stopped (the
    # saved file then has packets the window had not drawn at its last read): 80 connections
    # 0.3 s apart had all ended before that on a fast machine (sid: 1470 packets both).
    traffic = TlsTraffic(_tmp_root, limit=400, pause=0.3)
    ws = None
    try:
        ws = LiveWireshark(sandbox, display, out_dir, "live", wireshark,
                           ["-i", "lo", "-k", "-f", f"tcp port {traffic.port}", "-o", "gui.ask_unsaved:FALSE",
                            "-z", "echotap,live", *LOG_DEBUG], ready="^Capturing from")
        at_start = ws.wait_window(LIVE)
        traffic.start_clients()
        time.sleep(1)
        from_menu = open_from_menu(ws, LIVE, exclude=[ws.main, at_start])
        assert ws.views() == (2, 0, 2)
        windows = {"-z": at_start, "menu": from_menu}

        reads = []
        for _ in range(2):
            time.sleep(2 * UPDATE_S)
            reads.append(({name: read_view(ws, win) for name, win in windows.items()}, traffic.connections,
                          datetime.datetime.now(datetime.timezone.utc)))
        (v1, c1, t1), (v2, c2, t2) = reads
        for name in windows:
            print(f"live window ({name}): packets {v1[name]['packets']} -> {v2[name]['packets']}, flows "
                  f"{flow_count(v1[name])} -> {flow_count(v2[name])} in {len(v2[name]['Flows'][1])} rows, phase "
                  f"bytes {phase_bytes(v1[name])} -> {phase_bytes(v2[name])}, drawn {v1[name]['drawn']} -> "
                  f"{v2[name]['drawn']}, last packet captured {v2[name]['captured']}")
        assert c2 > c1 > 0, "the TLS client did not connect"
        for name in windows:
            a, b = v1[name], v2[name]
            assert 0 < a["packets"] < b["packets"], f"{name}: packets did not grow: {a['packets']}, {b['packets']}"
            assert 0 < flow_count(a) < flow_count(b), f"{name}: flows did not grow"
            # The flows fold (one connection each) into a screen's rows.
            assert len(b["Flows"][1]) <= TOP + len({r["Device"] for r in b["Flows"][1]}) < flow_count(b)
            assert 0 < phase_bytes(a) < phase_bytes(b), f"{name}: phase bytes did not grow"
            assert flow_packets(b) == b["packets"]
            assert a["Phases"][1], f"{name}: no phase rows"
            # Redrawn during the capture: the wall clock moves on, the last packet is recent.
            for view, read_at in ((a, t1), (b, t2)):
                assert read_at - datetime.timedelta(seconds=2 * UPDATE_S + 2) <= view["drawn"] <= read_at
                assert datetime.timedelta(0) <= view["drawn"] - view["captured"] <= datetime.timedelta(seconds=10)
            assert a["drawn"] < b["drawn"]

        # A screenshot big enough to read: the window opens at 620 x 450 and wraps its lines.
        gui.xdo(ws.display, "windowsize", at_start, 1400, 640)
        gui.xdo(ws.display, "windowmove", at_start, 0, 0)
        time.sleep(0.5)
        shot = ws.screenshot(at_start, out_dir / "echotap-live.png")
        assert gui.png_size(shot) == ws.geometry(at_start)[2:] == (1400, 640)

        # Closing a window during the capture removes its listener at once; the other goes on.
        close(ws, from_menu)
        assert ws.views() == (2, 1, 1)
        time.sleep(2 * UPDATE_S)
        v3 = read_view(ws, at_start)
        assert v3["packets"] > v2["-z"]["packets"]

        assert traffic.connections < traffic.limit, "the TLS clients ended before the capture was stopped"
        traffic.stop_clients()
        time.sleep(1)
        ws.focus(ws.main)
        ws.keys("ctrl+e")                                   # Capture > Stop
        ws.wait_stopped()
        size = -1                       # dumpcap may still be writing its last block
        while size != ws.capture_file().stat().st_size:
            size = ws.capture_file().stat().st_size
            time.sleep(1)
        saved = readable_copy(ws.capture_file(), _tmp_root / "gui-live.pcapng")
        out = sandbox.run("-r", saved, "-q", "-z", "echotap,live", "-z", "echotap,phases", "-z", "echotap,flows").stdout
        want = parse_live(tshark_live_text(out))
        assert sections(want) == expected_from_tables(parse_table(out, "Echotap Phases"),
                                                      parse_table(out, "Echotap Flows"))
        assert want["packets"] > v3["packets"]
        print(f"live window (-z) after closing the other: packets {v3['packets']}; saved file: {want['packets']}, "
              f"{flow_count(want)} flows")
        # The last statistics update after the capture stopped draws the last packets.
        wait_equal(ws, at_start, want, "after the capture")

        # File > Reload: the file is closed (the view is reset) and read again.
        resets = ws.resets()
        ws.focus(ws.main)
        ws.keys("ctrl+r")
        time.sleep(1)
        wait_equal(ws, at_start, want, "after File > Reload")
        assert ws.resets() > resets, "File > Reload did not reset the view"
        assert ws.views() == (2, 1, 1)
    finally:
        traffic.stop()
        if ws:
            ws.stop()
    assert ws.views() == (2, 2, 0), "a live view's listener was not removed at shutdown"
    assert ws.proc.returncode == 0, f"Wireshark did not quit cleanly on Ctrl+Q; screen: {ws.quit_screen}"


def test_live_view_without_a_capture_file(display, out_dir, _tmp_root, plugin_so):
    sandbox = sandbox_for(_tmp_root / "home-gui-nofile", plugin_so)
    ws = LiveWireshark(sandbox, display, out_dir, "nofile", "wireshark", LOG_DEBUG, ready="^The Wireshark Network")
    try:
        time.sleep(1)                                       # menus are filled in after start-up
        first = open_from_menu(ws, LIVE, exclude=[ws.main])
        second = open_from_menu(ws, LIVE, exclude=[ws.main, first])
        assert ws.views() == (2, 0, 2)
        for win in (first, second):
            view = read_view(ws, win)
            assert view["packets"] == 0 and all(rows == [] for _, rows in sections(view).values())
        close(ws, first)
        close(ws, second)
        assert ws.views() == (2, 2, 0)
    finally:
        ws.stop()
    # 0: Wireshark quit on Ctrl+Q and the plugin's shutdown did not crash it (-9: killed after
    # 10 s, the screen then is in quit_screen).
    assert ws.proc.returncode == 0, f"screen: {ws.quit_screen}\n{ws.log.read_text()[-2000:]}"
