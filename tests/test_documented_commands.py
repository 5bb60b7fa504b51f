"""Every display filter and command that README.md and doc/*.md show, run for real (issue 24).

The docs are read here: each inline `echotap.` filter and each line of a fenced `sh` block. Each
must be known to this file, which runs it on the committed captures and checks that it selects
what the text says, against the captures' truth files (never against echotap's own output alone).
A command that needs root, apt or the network (the demo, the suite, the compat chroots, the
benchmark) is named with the test that runs it or the reason it is run by hand. A new example in
the docs fails here until it is given a check.
"""
import collections
import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import types

import pytest

from conftest import CAPTURES, FLOW_FRAMES, ROOT, group_of, load_truth, truth_captures, truth_speakers

DOCS = [ROOT / "README.md", *sorted((ROOT / "doc").glob("*.md"))]
STUDY = CAPTURES / "echo-study.pcapng"
STUDY_SCHEDULE = "0 silence; 8 query; 14 silence; 22 command; 27 conversation"
GAP_S = 1.0          # echotap.gap_ms: an interaction ends when its voice path is quiet this long
BIN_S = 0.1          # phases start and end on 100 ms bins
BURST_S = 0.3        # a speaker's buffered first burst may come before the truth's utterance start


def doc_filters():
    """Inline code spans that are display filters on echotap's fields (a comparison)."""
    found = set()
    for doc in DOCS:
        for span in re.findall(r"`([^`\n]+)`", doc.read_text()):
            if span.startswith("echotap.") and re.search(r"==|!=|&&|\|\|", span):
                found.add(span)
    return found


def doc_commands():
    """(doc, command) of every line of a fenced sh block, comments cut and continuations joined."""
    found = []
    for doc in DOCS:
        for block in re.findall(r"^```sh\n(.*?)^```", doc.read_text(), re.S | re.M):
            for line in block.replace("\\\n", " ").splitlines():
                line = re.sub(r"\s+#.*$", "", line).strip()
                if line:
                    found.append((doc.name, re.sub(r"\s+", " ", line)))
    return found


# ---- the truth per frame ----

class Frames:
    """A capture's TCP/UDP frames as Wireshark sees them without echotap, each given its truth
    flow: number, seconds from the first packet, length, flow, up?"""

    def __init__(self, tshark_plain, capture):
        self.truth = load_truth(capture)
        flows = {}
        for f in self.truth["flows"]:
            flows[(f["proto"], f["client"], f["client_port"], f["server"], f["server_port"])] = f
        rows = tshark_plain.fields(capture, ["frame.number", "frame.time_relative", "frame.len", "ip.src", "ipv6.src",
                                             "ip.dst", "ipv6.dst", "tcp.srcport", "tcp.dstport", "udp.srcport",
                                             "udp.dstport"], "-Y", FLOW_FRAMES)
        self.frames = []
        for num, t, length, s4, s6, d4, d6, ts, td, us, ud in rows:
            proto, sport, dport = ("tcp", ts, td) if ts else ("udp", us, ud)
            src, dst, sport, dport = s4 or s6, d4 or d6, int(sport), int(dport)
            flow = flows.get((proto, src, sport, dst, dport))
            up = flow is not None
            flow = flow or flows[(proto, dst, dport, src, sport)]
            self.frames.append((int(num), float(t), int(length), flow, up))
        devices = self.truth.get("devices")
        if devices:
            self.speakers = {d["address"] for d in devices if d["speaker"]}
            self.assistant = {d["address"]: d["assistant"] for d in devices if d["speaker"]}
        else:
            # Captures without a device list: their speakers are Echos (conftest.truth_speakers).
            self.speakers = truth_speakers(tshark_plain, capture)
            self.assistant = dict.fromkeys(self.speakers, "alexa")

    def select(self, keep):
        return {num for num, t, length, flow, up in self.frames if keep(t, flow, up)}


def echotap_frames(tshark, capture, display_filter, *extra):
    """Frame numbers that a display filter shows in the GUI's view (two passes: every packet of a
    flow carries the flow's final class)."""
    rows = tshark.fields(capture, ["frame.number"], "-2", "-Y", display_filter, *extra)
    return {int(r[0]) for r in rows}


# What each documented filter selects, said with the truth: (t, flow, up) -> selected?
FILTERS = {
    'echotap.service == "avs" && echotap.dir == "up"':
        lambda fr: lambda t, flow, up: flow["service"] == "avs" and up,
    "echotap.device.speaker == 1":
        lambda fr: lambda t, flow, up: flow["device"] in fr.speakers,
    'echotap.group == "voice" && echotap.device.assistant == "siri"':
        lambda fr: lambda t, flow, up: group_of(flow["service"]) == "voice" and fr.assistant.get(flow["device"]) == "siri",
}
# The automatic phases' interactions: checked against the truth's interactions below.
INTERACTION_UP = 'echotap.phase == "interaction" && echotap.dir == "up"'


def test_every_documented_filter_is_checked():
    unknown = doc_filters() - set(FILTERS) - {INTERACTION_UP}
    assert not unknown, f"documented filters that no test checks (add them to FILTERS): {sorted(unknown)}"


@pytest.mark.parametrize("capture", truth_captures(), ids=lambda p: p.stem)
def test_documented_filters_select_what_the_text_says(tshark, tshark_plain, capture):
    frames = Frames(tshark_plain, capture)
    for text, meaning in FILTERS.items():
        assert echotap_frames(tshark, capture, text) == frames.select(meaning(frames)), f"{capture.name}: {text}"


def test_a_bare_boolean_field_matches_every_packet(tshark):
    """Why the docs write `== 1`: a boolean field is present (false) on non-speakers' packets too."""
    everything = echotap_frames(tshark, STUDY, "echotap")
    assert echotap_frames(tshark, STUDY, "echotap.device.speaker") == everything
    assert echotap_frames(tshark, STUDY, "echotap.device.speaker == 1") < everything


@pytest.mark.parametrize("capture", [c for c in truth_captures() if not load_truth(c)["schedule"]
                                     and load_truth(c)["interactions"]], ids=lambda p: p.stem)
def test_interaction_filter_selects_each_interactions_upload(tshark, tshark_plain, capture):
    """Without a schedule: every upload of a speaker's voice path during one of its truth
    interactions is selected, and nothing outside one (from its buffered first burst to the gap
    after, on 100 ms bins)."""
    frames = Frames(tshark_plain, capture)
    got = echotap_frames(tshark, capture, INTERACTION_UP)
    spans = collections.defaultdict(list)
    for it in frames.truth["interactions"]:
        spans[it["device"]].append((it["start"], it["end"]))
    inside = frames.select(lambda t, flow, up: up and group_of(flow["service"]) == "voice" and any(
        a <= t <= b for a, b in spans[flow["device"]]))
    near = frames.select(lambda t, flow, up: up and any(
        a - BURST_S - BIN_S <= t <= b + GAP_S + BIN_S for a, b in spans[flow["device"]]))
    assert inside <= got, f"{capture.name}: interaction uploads not selected: {sorted(inside - got)[:10]}"
    assert got <= near, f"{capture.name}: selected outside any interaction: {sorted(got - near)[:10]}"


# ---- commands ----

def table_rows(out):
    """Rows of a tshark stat_tap_table as lists of stripped cells (header first)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Filter for statistics:"))
    return [[c.strip() for c in line.split("|")[:-1]] for line in lines[start + 1:]
            if line.endswith("|")]


def column_sums(rows, suffix):
    """Sum of every cell in the columns whose title ends with suffix (a str or a tuple of them)."""
    header = rows[0]
    return sum(int(r[i]) for r in rows[1:] for i, h in enumerate(header) if h.endswith(suffix))


def truth_total(capture, key):
    return sum(s[key] for s in load_truth(capture)["stats"])


def run_tshark_line(tshark, line, capture):
    """A documented `tshark ...` line on a capture, through the tests' runner."""
    args = shlex.split(line)[1:]
    return tshark.run(*[str(capture) if a == "capture.pcapng" else a for a in args]).stdout


def check_phases(ctx, line):
    tshark = ctx.tshark
    for capture in truth_captures():
        rows = table_rows(run_tshark_line(tshark, line, capture))
        assert column_sums(rows, " bytes") == truth_total(capture, "bytes"), capture.name
    rows = table_rows(run_tshark_line(tshark, line, STUDY))
    labels = [r[1] for r in rows[1:] if r[0] in truth_speakers_of(STUDY)]
    if "echotap.schedule" in line:
        assert labels == [p["label"] for p in load_truth(STUDY)["phases"]]
    else:
        assert set(labels) <= {"idle", "interaction"}


def truth_speakers_of(capture):
    return {i["device"] for i in load_truth(capture)["interactions"]}


def check_phase_packets(ctx, line):
    tshark = ctx.tshark
    for capture in truth_captures():
        rows = table_rows(run_tshark_line(tshark, line, capture))
        assert column_sums(rows, " pkts") == truth_total(capture, "packets"), capture.name


def check_flows(ctx, line):
    tshark = ctx.tshark
    for capture in truth_captures():
        rows = table_rows(run_tshark_line(tshark, line, capture))
        assert len(rows) - 1 == len(load_truth(capture)["flows"]), capture.name


def check_timeline(ctx, line):
    tshark = ctx.tshark
    for capture in truth_captures():
        out = run_tshark_line(tshark, line, capture)
        rows = table_rows(out)
        assert column_sums(rows, (" up", " down")) == truth_total(capture, "bytes"), capture.name
        # A row per device and 100 ms interval that has bytes.
        assert all(round(float(r[1]) * 1000) % 100 == 0 for r in rows[1:]), capture.name


def check_live(ctx, line):
    tshark = ctx.tshark
    out = run_tshark_line(tshark, line, STUDY)
    assert "Echotap Live:" in out and "\nPhases\n" in out and "\nFlows (" in out
    assert f"{truth_total(STUDY, 'packets')} packets of TCP and UDP flows" in out


def check_json(ctx, line):
    """Every capture's JSON: its flows are the truth's flows, their bytes the truth's bytes."""
    for capture in truth_captures():
        data = json.loads(run_tshark_line(ctx.tshark, line, capture))
        truth = load_truth(capture)
        assert len(data["flows"]) == len(truth["flows"]), capture.name
        assert sum(s["bytes"] for s in data["stats"]) == truth_total(capture, "bytes"), capture.name


def check_summary(ctx, line):
    """The summary names each of the study's speakers and the truth's phases of each."""
    args = shlex.split(line)
    proc = subprocess.run([str(ROOT / args[0]), *args[1:]], cwd=ROOT, capture_output=True, text=True,
                          env=tool_env(ctx), timeout=600)
    assert proc.returncode == 0, proc.stderr
    for speaker in truth_speakers_of(STUDY):
        assert f"Speaker {speaker}:" in proc.stdout


def check_plot(ctx, line):
    png = ctx.tmp / "study.png"
    args = [str(png) if a == "study.png" else a for a in shlex.split(line)]
    proc = subprocess.run([str(ROOT / args[0]), *args[1:]], cwd=ROOT, capture_output=True, text=True,
                          env=tool_env(ctx), timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def tool_env(ctx):
    return dict(os.environ, ECHOTAP_PLUGIN=str(ctx.plugin_so))


def corpus(ctx, *args):
    proc = subprocess.run([str(ROOT / "tools" / "echotap-corpus"), *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, env=tool_env(ctx), timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def check_corpus(ctx, line):
    """The synopsis with each of its options: two captures, their database's flows as the truth's."""
    src = ctx.tmp / "corpus-in"
    src.mkdir(exist_ok=True)
    for name in ("echo-study.pcapng", "homepod.pcapng"):
        shutil.copy(CAPTURES / name, src)
    out = ctx.tmp / "corpus-out"
    corpus(ctx, src, "-o", out, "-j", "2", "--schedule", "0 silence; 8 query", "-p", "echotap.gap_ms:800",
           "--timeline")
    db = sqlite3.connect(out / "corpus.sqlite")
    assert db.execute("select count(*) from flows").fetchone()[0] == sum(
        len(load_truth(CAPTURES / n)["flows"]) for n in ("echo-study.pcapng", "homepod.pcapng"))
    assert db.execute("select count(*) from timeline").fetchone()[0] > 0


def check_corpus_jobs(ctx, line):
    """--emit-jobs, the jobs run here one by one, then --merge (the next documented line)."""
    src = ctx.tmp / "corpus-jobs-in"
    src.mkdir(exist_ok=True)
    shutil.copy(STUDY, src)
    out = ctx.tmp / "corpus-jobs"
    corpus(ctx, src, "-o", out, "--emit-jobs", "parallel")
    for job in (out / "jobs" / "jobs.txt").read_text().splitlines():
        assert subprocess.run(job, shell=True, env=tool_env(ctx), timeout=600).returncode == 0, job
    assert len(list((out / "fragments").glob("*.json"))) == 1


def check_corpus_merge(ctx, line):
    out = ctx.tmp / "corpus-jobs"
    if not (out / "fragments").exists():
        check_corpus_jobs(ctx, line)
    corpus(ctx, "--merge", out / "fragments", "-o", out)
    db = sqlite3.connect(out / "corpus.sqlite")
    assert db.execute("select count(*) from flows").fetchone()[0] == len(load_truth(STUDY)["flows"])


# How each documented command is run. A function runs it here; a string names the test that
# runs it (checked to exist and to run it) or why it is run only by hand.
COMMANDS = {
    "./tools/demo.sh": ("tests/test_demo.py", "demo.sh"),
    "./tools/run-tests.sh": (None, "the whole suite itself, which CI runs"),
    "cmake -B build && cmake --build build && cmake --install build": ("tests/test_package.py", '"--install"'),
    "cmake --build build --target uninstall": ("tests/test_package.py", '"--target", "uninstall"'),
    "cmake --build build --target package": ("tests/test_package.py", "CPackConfig.cmake"),
    "sudo dpkg -i build/echotap_0.1.0_amd64.deb":
        (None, "tests/test_package.py unpacks the package with dpkg-deb -x and runs its tools, never installs it"),
    "sudo ./tools/compat": (None, "needs root, debootstrap and Debian's archive: run by hand (doc/results.md)"),
    "sudo ./tools/compat --committed sid": (None, "as above"),
    "sudo ./tools/compat --plain": (None, "as above"),
    "tshark -r capture.pcapng -q -z echotap,phases": check_phases,
    "tshark -r capture.pcapng -q -z echotap,phase_packets": check_phase_packets,
    "tshark -r capture.pcapng -q -z echotap,flows": check_flows,
    "tshark -r capture.pcapng -q -z echotap,timeline,interval=0.1": check_timeline,
    f'tshark -r capture.pcapng -q -o "echotap.schedule:{STUDY_SCHEDULE}" -z echotap,phases': check_phases,
    "tshark -r capture.pcapng -q -z echotap,live": check_live,
    "tshark -r capture.pcapng -q -z echotap,json": check_json,
    "tools/echotap-summary captures/echo-study.pcapng": check_summary,
    f'wireshark -C echotap -r captures/echo-study.pcapng -o "echotap.schedule:{STUDY_SCHEDULE}" -z echotap,phases':
        ("tests/gui/test_gui.py", "echotap,phases"),
    "wireshark -C echotap -i eth0 -k -z echotap,live": ("tests/gui/test_live_gui.py", "echotap,live"),
    f'tools/plot captures/echo-study.pcapng -o study.png --schedule "{STUDY_SCHEDULE}"': check_plot,
    'tools/echotap-corpus DIR... -o OUT [-j N] [--schedule "0 silence; 8 query"] [-p echotap.gap_ms:800] '
    '[--timeline]': check_corpus,
    "tools/echotap-corpus DIR... -o OUT --emit-jobs parallel|slurm": check_corpus_jobs,
    "tools/echotap-corpus --merge OUT/fragments -o OUT": check_corpus_merge,
    "tools/bench": (None, "minutes on the real corpus, run by hand: figures in doc/results.md"),
    "tools/bench --no-generated": (None, "as above"),
    "tools/bench --callgrind": (None, "as above"),
    "tools/bench --quick": (None, "as above"),
}


def test_every_documented_command_is_known():
    unknown = {line for _, line in doc_commands()} - set(COMMANDS)
    assert not unknown, f"documented commands that no test runs (add them to COMMANDS): {sorted(unknown)}"


@pytest.mark.parametrize("line", [k for k, v in COMMANDS.items() if isinstance(v, tuple) and v[0]])
def test_command_is_run_by_its_test(line):
    path, needle = COMMANDS[line]
    assert needle in (ROOT / path).read_text(), f"{path} does not run {line!r}"


@pytest.mark.parametrize("line", [k for k, v in COMMANDS.items() if callable(v)])
def test_documented_command_does_what_the_text_says(tshark, plugin_so, _tmp_root, line):
    COMMANDS[line](types.SimpleNamespace(tshark=tshark, plugin_so=plugin_so, tmp=_tmp_root), line)


def test_filter_after_a_table_selects_that_device(tshark):
    """README: `-z echotap,flows,ip.addr==192.168.1.20` counts only that device's flows."""
    assert "`-z echotap,flows,ip.addr==192.168.1.20`" in (ROOT / "README.md").read_text()
    rows = table_rows(tshark.run("-r", STUDY, "-q", "-z", "echotap,flows,ip.addr==192.168.1.20").stdout)
    want = [f for f in load_truth(STUDY)["flows"] if "192.168.1.20" in (f["client"], f["server"])]
    assert len(rows) - 1 == len(want) and len(want) < len(load_truth(STUDY)["flows"])
