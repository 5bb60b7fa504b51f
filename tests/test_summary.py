"""tools/echotap-summary (what the README's first command prints): per phase, the speaker's
upload per statistics group (tools/lib's groups, counted as the tables count them) and the
verdict, equal to the capture's truth; the devices that are not speakers in one line, equal to
the truth and to Wireshark's own byte count; a --help that documents every option."""
import os
import re
import subprocess

import pytest

from conftest import CAPTURES, FLOW_FRAMES, ROOT, group_of, load_truth, truth_speakers, wireshark_bytes
from echotap_tshark import GROUP_LABELS, GROUPS

TOOL = ROOT / "tools" / "echotap-summary"


def summary(plugin_so, *args, stdin=None):
    return subprocess.run([str(TOOL), *map(str, args)], capture_output=True, text=True, check=True, input=stdin,
                          env={**os.environ, "ECHOTAP_PLUGIN": str(plugin_so)}).stdout


def kb(n):
    return f"{n / 1000:.1f}" if n else "-"


def test_summary_shows_the_truths_upload_per_phase(plugin_so):
    # ipv6: a schedule, and a speaker with untagged upload (echo-study's DNS to the router is local).
    capture = CAPTURES / "ipv6.pcapng"
    truth = load_truth(capture)
    out = summary(plugin_so, capture, "--schedule", truth["schedule"])
    speaker = truth["interactions"][0]["device"]
    expected = {}
    for s in truth["stats"]:
        if s["device"] == speaker and s["dir"] == "up":
            key = (s["phase_index"], group_of(s["service"]))
            expected[key] = expected.get(key, 0) + s["bytes"]
    assert any(g == "untagged" and n for (_, g), n in expected.items()), "the capture must test the untagged column"
    lines = out.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(f"Speaker {speaker}:")) + 1
    assert lines[start].split("|")[1].split() == [GROUP_LABELS[g] for g in GROUPS]
    rows = lines[start + 1:start + 1 + len(truth["phases"])]
    for phase, row in zip(truth["phases"], rows):
        label, _, _ = row.split("|")[0].split()
        assert label == phase["label"], row
        upload = dict(zip(GROUPS, row.split("|")[1].split()))
        for group in GROUPS:
            assert upload[group] == kb(expected.get((phase["index"], group), 0)), (row, group)
        verdict = row.split("|")[3].strip()
        assert verdict == ("wake word" if phase["label"] in ("query", "command") else "ok"), row
    assert "privacy verdict: no speech uploaded outside the wake-word phases" in out
    # The same text from the JSON on standard input.
    json_text = subprocess.run([str(ROOT / "tools/lib/tshark-with-plugin"), "-r", str(capture),
                                "-q", "-o", f"echotap.schedule:{truth['schedule']}", "-z", "echotap,json"],
                               capture_output=True, text=True, check=True,
                               env={**os.environ, "ECHOTAP_PLUGIN": str(plugin_so)}).stdout
    assert summary(plugin_so, "-", stdin=json_text) == out


@pytest.mark.parametrize("name", ["echo-study.pcapng", "multi-speaker.pcapng"])
def test_devices_that_are_not_speakers_in_one_line(plugin_so, tshark_plain, name):
    capture = CAPTURES / name
    truth = load_truth(capture)
    speakers = truth_speakers(tshark_plain, capture)
    others = {f["device"] for f in truth["flows"]} - speakers
    assert others, "the capture must have a device that is not a speaker"
    out = summary(plugin_so, capture)
    assert sorted(re.findall(r"^Speaker (\S+):", out, re.M)) == sorted(speakers)
    up = sum(f["bytes_up"] for f in truth["flows"] if f["device"] in others)
    down = sum(f["bytes_down"] for f in truth["flows"] if f["device"] in others)
    # Wireshark's count of the same frames: those these devices sent, and those they got.
    ip = lambda d: "ipv6" if ":" in d else "ip"  # noqa: E731
    for direction, n in (("src", up), ("dst", down)):
        match = " or ".join(f"{ip(d)}.{direction} == {d}" for d in sorted(others))
        assert wireshark_bytes(tshark_plain, capture, f"{FLOW_FRAMES} and ({match})") == n
    assert out.splitlines()[-1] == (f"Devices that are not speakers: {len(others)}, up {up / 1000:.1f} kB, "
                                    f"down {down / 1000:.1f} kB (not judged)")


def test_help_documents_every_option_and_column(plugin_so):
    text = summary(plugin_so, "--help")
    for word in ("--schedule", "--pref", "ECHOTAP_PLUGIN", "Exit status", *GROUP_LABELS.values(),
                 "UPLOAD WITHOUT WAKE WORD", "echotap,json"):
        assert word in text, word
    # No sentence cut short: the description and every option's help end with a full stop.
    assert all(part.rstrip().endswith(".") for part in re.split(r"\n(?:positional arguments|options):\n", text)), text
    # The preference reaches tshark: a schedule given as a preference is the schedule.
    truth = load_truth(CAPTURES / "echo-study.pcapng")
    assert summary(plugin_so, CAPTURES / "echo-study.pcapng", "-p", f"echotap.schedule:{truth['schedule']}") == \
        summary(plugin_so, CAPTURES / "echo-study.pcapng", "--schedule", truth["schedule"])


def test_installed_beside_echotap_corpus(plugin_so, _tmp_root):
    """`cmake --install` puts echotap-summary beside echotap-corpus, with the library they share;
    installed (no checkout around it) it prints what the checkout's prints."""
    build = plugin_so.resolve().parent
    if not (build / "cmake_install.cmake").exists():
        pytest.skip(f"{plugin_so} is not in a CMake build directory")
    dest = _tmp_root / "installed"
    subprocess.run(["cmake", "--install", str(build)], check=True, capture_output=True,
                   env={**os.environ, "DESTDIR": str(dest)})
    tools = {p.name: p for p in dest.rglob("echotap-*") if p.is_file() and os.access(p, os.X_OK)}
    assert set(tools) == {"echotap-corpus", "echotap-summary"}
    assert tools["echotap-summary"].parent == tools["echotap-corpus"].parent
    capture = CAPTURES / "multi-speaker.pcapng"
    installed = subprocess.run([str(tools["echotap-summary"]), str(capture)], capture_output=True, text=True, check=True,
                               cwd="/", env={**os.environ, "ECHOTAP_PLUGIN": str(plugin_so)}).stdout
    assert installed == summary(plugin_so, capture)
