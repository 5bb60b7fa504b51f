"""The echotap plugin and profile in the real Wireshark Qt GUI, on a private Xvfb display.

Wireshark runs as the unprivileged user of a Tshark sandbox (tools/lib/echotap_tshark.py): a temporary HOME holding the
plugin and the "echotap" profile where `cmake --install` puts them. Tables are read through each
dialog's Copy button and the clipboard, and judged against the capture's truth file.
Screenshots go to $ECHOTAP_GUI_OUT (default: a temporary folder); doc/images/ holds copies.
"""
import collections
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import CAPTURES, ROOT, Tshark, group_of, load_truth, tshark_version
from echotap_tshark import GROUP_LABELS
from live_view import GROUP_BYTES, flow_count, parse_live
import wireshark_gui as gui

CAPTURE = CAPTURES / "echo-study.pcapng"
# Colouring rules of plugin/profile/colorfilters (background, 8-bit): a filter that shows only one
# kind of packet must paint whole rows in its colour and none in the others'.
RULE_COLOURS = {'echotap.service == "avs" && echotap.dir == "up"': "#FF9E9E",
                'echotap.service == "avs" && echotap.dir == "down"': "#A8D4FF",
                'echotap.service == "metrics"': "#FFE680",
                'echotap.service == "cdn"': "#B4ECB4"}
ROW_PIXELS = 10000          # one packet-list row is about 1300 x 17 pixels
ECHOTAP_COLUMNS = ["echotap.service", "echotap.dir", "echotap.device", "echotap.phase"]
# Where to click, from a dialog's bottom-right corner (Debian's DejaVu fonts, Xvfb at 96 dpi), per
# Wireshark X.Y: a table dialog's Copy button; the I/O graph dialog's Copy button and Interval box.
LAYOUTS = {"4.0": {"table_copy": (236, 24), "iograph_copy": (321, 23), "iograph_interval": (466, 53)},
           "4.4": {"table_copy": (236, 24), "iograph_copy": (321, 23), "iograph_interval": (497, 53)},
           "4.6": {"table_copy": (236, 24), "iograph_copy": (327, 23), "iograph_interval": (259, 53)}}
FLOWS_ITEM_DEBIAN12 = 9     # Statistics menu: Down presses to "Echotap Flows"
# The Statistics menu's echotap items, in the menu's (strcmp) order, from "Echotap Flows" down:
# the four tables and the live view (a funnel menu item, sorted among them).
MENU_TABLES = ["Echotap Flows", "Echotap Live", "Echotap Phase Packets", "Echotap Phases", "Echotap Timeline"]
# Columns of the phase tables (doc/fields.md): the story first, then the counts per group and direction.
PHASE_KEY = ["Device", "Phase", "#", "Start (s)", "Duration (s)"]
JUDGEMENT = ["Verdict", "Speech up (bytes)", "Speech up B/s", "Speech (s)"]
PHASES_COLUMNS = PHASE_KEY + JUDGEMENT + [f"{n} {d} bytes" for n in GROUP_LABELS.values() for d in ("up", "down")]
PHASE_PACKETS_COLUMNS = PHASE_KEY + [f"{n} {d} pkts" for n in GROUP_LABELS.values() for d in ("up", "down")]


def truth_sums(truth, key):
    """Counter of truth bytes/packets by key(stat row)."""
    sums = collections.Counter()
    for s in truth["stats"]:
        sums[key(s) + ("bytes",)] += s["bytes"]
        sums[key(s) + ("packets",)] += s["packets"]
    return sums


@pytest.fixture(scope="module")
def out_dir(_tmp_root):
    d = pathlib.Path(os.environ.get("ECHOTAP_GUI_OUT") or _tmp_root / "gui")
    d.mkdir(parents=True, exist_ok=True)
    return d


@pytest.fixture(scope="module", autouse=True)     # first, so that a missing tool skips before any setup
def display(out_dir):
    missing = gui.missing_tools()
    if missing:
        pytest.skip(f"no display server or GUI tools (Debian packages {' '.join(missing)}): run tools/setup.sh")
    server = gui.Xvfb(out_dir)
    yield server.display
    server.stop()


def installed_profile(tmp):
    """The profile folder as `cmake --install` writes it (into a DESTDIR), or the source copy when
    no build folder is given."""
    build = os.environ.get("ECHOTAP_BUILD_DIR")
    if not build:
        return ROOT / "plugin" / "profile"
    # The default component, named, so that the build's install_manifest.txt (what the uninstall
    # target removes) is left alone: CMake writes install_manifest_Unspecified.txt instead.
    subprocess.run(["cmake", "--install", build, "--component", "Unspecified"],
                   env={**os.environ, "DESTDIR": str(tmp)}, check=True, capture_output=True, timeout=120)
    found = sorted(tmp.rglob("profiles/echotap"))
    assert found, "cmake --install installed no profiles/echotap folder"
    return found[0]


@pytest.fixture(scope="module")
def sandbox(_tmp_root, plugin_so):
    home = _tmp_root / "home-gui"
    config = home / ".config" / "wireshark"
    with tempfile.TemporaryDirectory() as dest:
        shutil.copytree(installed_profile(pathlib.Path(dest)), config / "profiles" / "echotap")
    # Fixed main-window geometry, for screenshots of a known size.
    (config / "recent_common").write_text(
        f"gui.geometry_main_x: 0\ngui.geometry_main_y: 0\n"
        f"gui.geometry_main_width: {gui.MAIN_SIZE[0]}\ngui.geometry_main_height: {gui.MAIN_SIZE[1]}\n"
        "gui.geometry_main_maximized: FALSE\n")
    shutil.copy(CAPTURE, home / CAPTURE.name)
    return Tshark(home, plugin_so)       # copies the plugin, hands HOME to the unprivileged user


@pytest.fixture
def wireshark(display, sandbox, out_dir, request):
    """wireshark_start(*args): Wireshark with the echotap profile on the study capture."""
    started = []

    def start(*args):
        ws = gui.Wireshark(sandbox, display, out_dir, request.node.name,
                           ["-C", "echotap", "-r", sandbox.home / CAPTURE.name, *args])
        started.append(ws)
        return ws
    yield start
    for ws in started:
        ws.stop()


@pytest.fixture(scope="module")
def layout():
    version = tshark_version()
    if version not in LAYOUTS:
        pytest.fail(f"no click positions measured for Wireshark {version} (LAYOUTS in {__file__})")
    return LAYOUTS[version]


def schedule_args(truth):
    return ["-o", f"echotap.schedule:{truth['schedule']}"]


class CopiedTableError(ValueError):
    """The copied text is not the table expected (not an AssertionError: test_live_gui expects
    those only from the property it tests)."""


def parse_copied_table(text, title):
    """(header, lines) of a stat_tap_table dialog's copied text: the column names and the text
    lines of the rows. The copy joins cells with two or more spaces (padded to their column's
    format), and no column name holds two spaces running."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith(f"{title} - ")), None)
    if start is None:
        raise CopiedTableError(f"no table {title!r} in the copied text:\n{text}")
    header = re.split(r" {2,}", lines[start + 1].strip())
    rows = []
    for line in lines[start + 3:]:
        if line.startswith("-----"):
            break
        rows.append(line)
    return header, rows


def by_name(header, line):
    """{column: cell} of one copied row, read by the header's positions: cells are split on runs of
    two or more spaces, so a cell with single spaces ("wake word", "UPLOAD WITHOUT WAKE WORD")
    stays whole wherever its column is. An empty cell would shift the cells after it: a row
    whose cell count is not the header's is refused, never guessed."""
    cells = re.split(r" {2,}", line.strip())
    if len(cells) != len(header):
        raise CopiedTableError(f"{len(cells)} cells for {len(header)} columns {header}: {line!r}")
    return dict(zip(header, cells))


def table_ready(title):
    return lambda text: f"{title} - {CAPTURE.name}" in text and text.rstrip().endswith("-") \
        and len(text.splitlines()) > 5


def copy_table(ws, layout, win, title):
    return parse_copied_table(ws.copy_button(win, *layout["table_copy"], ready=table_ready(title)), title)


def copy_rows(ws, layout, win, title, columns):
    """The rows ({column: cell}) of a dialog whose header must be exactly these columns."""
    header, lines = copy_table(ws, layout, win, title)
    assert header == columns, f"{title}: columns {header}"
    return [by_name(header, line) for line in lines]


PHASES_CELLS = {"bytes": "{} {} bytes"}                              # "Voice up bytes"
PHASE_PACKETS_CELLS = {"packets": "{} {} pkts"}                      # "AVS up pkts"
TIMELINE_CELLS = {"bytes": "{} {}"}                                  # "AVS up" (bytes)


def table_sums(rows, row_key, cells):
    """Counter {row_key(row) + (group, dir, count): value} over the group columns of a table."""
    sums = collections.Counter()
    for row in rows:
        for group, name in GROUP_LABELS.items():
            for d in ("up", "down"):
                for count, cell in cells.items():
                    sums[row_key(row) + (group, d, count)] += int(row[cell.format(name, d)])
    return sums


def phase_key(row):
    return (int(row["#"]), row["Device"])


def assert_judgement_as_tshark(sandbox, args, rows):
    """The dialog's phase and judgement columns say what tshark's table says, in the same rows, as
    the same text: numbers with decimals as tshark's column format writes them ("22.900", not
    Qt's "22.900000" for a float cell)."""
    out = sandbox.run("-r", sandbox.home / CAPTURE.name, "-q", "-2", *args, "-z", "echotap,phases").stdout
    lines = out.splitlines()
    start = lines.index("Echotap Phases:")
    header = [c.strip() for c in lines[start + 2].split("|")[:-1]]
    assert header == PHASES_COLUMNS, f"tshark's columns {header}"
    want = []
    for line in lines[start + 4:]:
        if line.startswith("====="):
            break
        want.append(dict(zip(header, [c.strip() for c in line.split("|")[:-1]])))
    assert len(rows) == len(want)
    assert "Duration (s)" in PHASE_KEY and "Speech up B/s" in JUDGEMENT
    for got, row in zip(rows, want):
        assert {c: got[c] for c in PHASE_KEY + JUDGEMENT} == {c: row[c] for c in PHASE_KEY + JUDGEMENT}


def test_phases_dialog_at_start_equals_truth(wireshark, sandbox, layout, out_dir):
    truth = load_truth(CAPTURE)
    # One table only: Wireshark 4.0 fills only the first of several -z dialogs at start (the others
    # stay empty until Apply). The packet counts per phase are read from the menu's Phase Packets.
    ws = wireshark(*schedule_args(truth), "-z", "echotap,phases")
    dlg = ws.wait_window("Echotap Phases")
    rows = copy_rows(ws, layout, dlg, "Echotap Phases", PHASES_COLUMNS)
    got = table_sums(rows, phase_key, PHASES_CELLS)
    expected = truth_sums(truth, lambda s: (s["phase_index"], s["device"], group_of(s["service"]), s["dir"]))
    assert +got == +collections.Counter({key: n for key, n in expected.items() if key[-1] == "bytes"})
    labels = [p.split(None, 1)[1] for p in truth["schedule"].split(";")]
    speaker = truth["interactions"][0]["device"]
    assert [row["Phase"] for row in rows if row["Device"] == speaker] == labels
    assert_judgement_as_tshark(sandbox, schedule_args(truth), rows)
    # The truth's schedule flags nothing (tests/test_plugin.py: the verdicts themselves).
    assert [row for row in rows if row["Verdict"].startswith("UPLOAD")] == []

    # A screenshot big enough to read: the dialog opens small.
    gui.xdo(ws.display, "windowsize", dlg, 1400, 420)
    gui.xdo(ws.display, "windowmove", dlg, 0, 0)
    time.sleep(0.5)
    shot = ws.screenshot(dlg, out_dir / "echotap-phases.png")
    assert gui.png_size(shot) == ws.geometry(dlg)[2:] == (1400, 420)


def test_statistics_menu_lists_the_echotap_items(wireshark, sandbox, layout, out_dir):
    """Statistics menu, keyboard only: Alt+S, Down k times, Return opens the k-th item. The four
    tables and the live view sit in the menu's sorted section of tables (after "DHCP (BOOTP)
    Statistics" in 4.0); the live view's text is read with Ctrl+A, Ctrl+C.
    The first query is called "silence" here, so that the Phases dialog shows a verdict of several
    words in a column that is not the last: UPLOAD WITHOUT WAKE WORD (the phases keep their times,
    so the truth's counts per phase hold)."""
    truth = load_truth(CAPTURE)
    relabelled = ["-o", "echotap.schedule:" + truth["schedule"].replace("8 query", "8 silence")]
    assert relabelled[1] != "echotap.schedule:" + truth["schedule"]
    ws = wireshark(*relabelled)
    time.sleep(1)                                     # menus are filled in after start-up

    def select_item(k):
        ws.focus(ws.main)
        gui.xdo(ws.display, "mousemove", *gui.POINTER_PARK)
        ws.keys("alt+s")
        time.sleep(0.4)
        ws.keys(*["Down"] * k)

    def open_item(k):
        """(window, title) of the dialog the k-th item opens, or (None, None): a submenu or nothing."""
        select_item(k)
        ws.keys("Return")
        try:
            dlg = ws.wait_window(".", timeout=4, exclude=[ws.main])
        except RuntimeError:
            ws.keys("Escape", "Escape", "Escape")
            return None, None
        return dlg, ws.title(dlg).split(" · ")[1]

    def close(dlg):
        ws.focus(dlg)
        ws.keys("Escape")
        time.sleep(0.5)

    # Find "Echotap Flows" from where it is on Debian 12, walking by the section's sort order.
    k, seen = FLOWS_ITEM_DEBIAN12, []
    for _ in range(12):
        dlg, title = open_item(k)
        seen.append((k, title))
        if dlg:
            close(dlg)
        if title == MENU_TABLES[0]:
            break
        k += 1 if title is None or title < MENU_TABLES[0] else -1
    else:
        pytest.fail(f"no Statistics item opens Echotap Flows; items seen: {seen}")

    select_item(k)
    menu = ws.screenshot("root", out_dir / "echotap-statistics-menu.png")
    assert gui.png_size(menu) == gui.SCREEN
    ws.keys("Escape", "Escape")

    total_up = sum(f["bytes_up"] for f in truth["flows"])
    total_down = sum(f["bytes_down"] for f in truth["flows"])
    per_phase = truth_sums(truth, lambda s: (s["phase_index"], s["device"], group_of(s["service"]), s["dir"]))
    totals = truth_sums(truth, lambda s: (group_of(s["service"]), s["dir"]))
    only = lambda sums, count: collections.Counter({key: n for key, n in sums.items() if key[-1] == count})
    phase_rows = {}
    for offset, title in enumerate(MENU_TABLES):
        dlg, got_title = open_item(k + offset)
        assert got_title == title, f"item {k + offset} of Statistics opens {got_title}"
        if title == "Echotap Flows":
            # Host and Evidence can be empty: read the numbers from the row's end.
            header, lines = copy_table(ws, layout, dlg, title)
            cells = [line.split() for line in lines]
            assert header[-6:] == ["Up bytes", "Up pkts", "Down bytes", "Down pkts", "First (s)", "Last (s)"]
            assert len(cells) == len(truth["flows"])
            assert sum(int(c[-6]) for c in cells) == total_up
            assert sum(int(c[-4]) for c in cells) == total_down
            assert all(re.fullmatch(r"\d+\.\d{3}", t) for c in cells for t in c[-2:]), "First/Last as tshark's"
        elif title == "Echotap Live":
            # The live view's text (tests/live_view.py): the same bytes per phase, the same flows.
            view = parse_live(ws.text_window_text(dlg, lambda text: "packets of TCP and UDP flows" in text))
            rows = view["Phase bytes"][1]
            got = collections.Counter()
            for row in rows:
                for column in GROUP_BYTES:
                    group, direction = column.split()
                    got[(int(row["#"]), row["Device"], group.lower(), direction, "bytes")] += int(row[column])
            assert +got == +only(per_phase, "bytes")
            assert flow_count(view) == len(truth["flows"])
            assert view["packets"] == sum(f["packets_up"] + f["packets_down"] for f in truth["flows"])
        elif title == "Echotap Timeline":
            header, lines = copy_table(ws, layout, dlg, title)
            rows = [by_name(header, line) for line in lines]
            assert +table_sums(rows, lambda row: (), TIMELINE_CELLS) == +only(totals, "bytes")
        else:
            columns, cells = {"Echotap Phases": (PHASES_COLUMNS, PHASES_CELLS),
                              "Echotap Phase Packets": (PHASE_PACKETS_COLUMNS, PHASE_PACKETS_CELLS)}[title]
            rows = phase_rows[title] = copy_rows(ws, layout, dlg, title, columns)
            count = next(iter(cells))
            assert +table_sums(rows, lambda row: (), cells) == +only(totals, count)
            assert +table_sums(rows, phase_key, cells) == +only(per_phase, count)
        close(dlg)
    phases, packets = phase_rows["Echotap Phases"], phase_rows["Echotap Phase Packets"]
    assert [[r[c] for c in PHASE_KEY] for r in packets] == [[r[c] for c in PHASE_KEY] for r in phases]
    assert_judgement_as_tshark(sandbox, relabelled, phases)
    speaker = truth["interactions"][0]["device"]
    assert [phase_key(r) for r in phases if r["Verdict"] == "UPLOAD WITHOUT WAKE WORD"] == [(1, speaker)]


def test_profile_columns_and_colours(wireshark, sandbox, out_dir):
    truth = load_truth(CAPTURE)
    # Scroll to the first query's upload (a place to look at, not a value under test): the list
    # scrolls until the 20th packet after the wake word is its last row.
    first_query = truth["interactions"][0]["start"]
    frames = sandbox.run("-r", sandbox.home / CAPTURE.name, "-Y", f"frame.time_relative >= {first_query}",
                         "-T", "fields", "-e", "frame.number").stdout.split()
    frame = frames[min(20, len(frames) - 1)]
    ws = wireshark(*schedule_args(truth), "-g", frame)
    time.sleep(1)
    shot = ws.screenshot(ws.main, out_dir / "echotap-main-window.png")
    assert gui.png_size(shot) == gui.MAIN_SIZE
    whole = gui.colour_histogram(shot)
    assert sum(whole.get(c, 0) for c in RULE_COLOURS.values()) >= ROW_PIXELS, "no echotap-coloured rows"

    for display_filter, colour in RULE_COLOURS.items():
        ws.focus(ws.main)
        ws.keys("ctrl+slash", "ctrl+a")
        gui.xdo(ws.display, "type", "--delay", "5", display_filter)
        ws.keys("Return")
        time.sleep(1.5)
        hist = gui.colour_histogram(ws.screenshot(ws.main, out_dir / "last-filter.png"))
        assert hist.get(colour, 0) >= ROW_PIXELS, f"{display_filter}: rows not coloured {colour}"
        for other in set(RULE_COLOURS.values()) - {colour}:
            assert hist.get(other, 0) < ROW_PIXELS, f"{display_filter}: rows coloured {other}"
    ws.stop()

    # Wireshark rewrites the profile's "recent" file (shipped with column widths) from its live
    # packet-list columns when it quits.
    recent = (sandbox.config / "profiles" / "echotap" / "recent").read_text()
    assert recent.startswith("# Recent settings file for Wireshark"), "recent was not rewritten"
    widths = recent.split("column.width:", 1)[1].split("\n\n", 1)[0]
    for field in ECHOTAP_COLUMNS:
        assert f'"%Cus:{field}"' in widths, f"{field} column missing in {widths}"


def test_io_graph_presets_split_the_study(wireshark, layout, out_dir):
    truth = load_truth(CAPTURE)
    ws = wireshark("-z", "io,stat")
    dlg = ws.wait_window("I/O Graphs")
    # Wireshark 4.0 keeps no interval in the profile: step the interval box from the default 1 s
    # down to 100 ms, one item at a time (keys sent while the dialog retaps can be lost).
    graph_ready = lambda t: t.startswith('"Interval start"') and len(t.splitlines()) > 2
    csv = ""
    for _ in range(8):
        previous, csv = csv, ws.copy_button(dlg, *layout["iograph_copy"], ready=graph_ready)
        step = float(csv.splitlines()[2].split(",")[0])
        if step == 0.1 and csv == previous:       # the same twice: the retap is over
            break
        if step > 0.1:
            ws.click(dlg, *layout["iograph_interval"])
            time.sleep(0.5)
            ws.keys("Up", "Return")
        time.sleep(1)
    assert step == 0.1, f"interval {step} s, not 100 ms"
    lines = csv.splitlines()
    header = [h.strip('"') for h in lines[0].split(",")]
    assert header == ["Interval start", "Voice up", "Voice down", "metrics", "CDN", "untagged"]
    sums = collections.Counter()
    for line in lines[1:]:
        for name, value in zip(header[1:], line.split(",")[1:]):
            sums[name] += int(float(value))
    bytes_of = lambda pred: sum(s["bytes"] for s in truth["stats"] if pred(s))
    assert sums["Voice up"] == bytes_of(lambda s: group_of(s["service"]) == "voice" and s["dir"] == "up")
    assert sums["Voice down"] == bytes_of(lambda s: group_of(s["service"]) == "voice" and s["dir"] == "down")
    assert sums["metrics"] == bytes_of(lambda s: s["service"] == "metrics")
    assert sums["CDN"] == bytes_of(lambda s: s["service"] == "cdn")
    assert sums["untagged"] == bytes_of(lambda s: group_of(s["service"]) == "untagged")
    shot = ws.screenshot(dlg, out_dir / "echotap-io-graph.png")
    assert gui.png_size(shot) == ws.geometry(dlg)[2:]


def test_bad_schedule_with_z_keeps_wireshark_open(wireshark):
    """tshark stops on a bad schedule with one line (tests/test_plugin.py); Wireshark takes -z
    arguments too, and there the refusal must be a message, not the end of the program (tshark's
    way out, exit, closed Wireshark a second after it started)."""
    ws = wireshark("-o", "echotap.schedule:0 silence; x bogus", "-z", "echotap,json")
    time.sleep(3)
    assert ws.proc.poll() is None, ws.log.read_text()[-2000:]
    assert ws.windows(r"\.pcapng$") == [ws.main]
