"""tools/echotap-summary (what the README's first command prints): per phase, the speaker's
upload per service group and the verdict, equal to the capture's truth."""
import os
import subprocess

from conftest import CAPTURES, ROOT, load_truth


def test_summary_shows_the_truths_upload_per_phase(plugin_so):
    truth = load_truth(CAPTURES / "echo-study.pcapng")
    out = subprocess.run([str(ROOT / "tools/echotap-summary"), str(CAPTURES / "echo-study.pcapng"),
                          "--schedule", truth["schedule"]], capture_output=True, text=True, check=True,
                         env={**os.environ, "ECHOTAP_PLUGIN": str(plugin_so)}).stdout
    speaker = truth["interactions"][0]["device"]
    expected = {}
    for s in truth["stats"]:
        if s["device"] == speaker and s["dir"] == "up":
            group = s["service"] if s["service"] in ("avs", "metrics", "cdn") else "other"
            key = (s["phase_index"], group)
            expected[key] = expected.get(key, 0) + s["bytes"]
    lines = out.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(f"Speaker {speaker}:")) + 2
    rows = lines[start:start + len(truth["phases"])]
    for phase, row in zip(truth["phases"], rows):
        label, _, _, *cells = row.split("|")[0].split()
        assert label == phase["label"], row
        upload = dict(zip(("avs", "metrics", "cdn", "other"), row.split("|")[1].split()))
        for group, text in upload.items():
            want = expected.get((phase["index"], group), 0)
            assert text == (f"{want / 1000:.1f}" if want else "-"), (row, group, want)
        verdict = row.split("|")[3].strip()
        assert verdict == ("wake word" if phase["label"] in ("query", "command") else "ok"), row
    assert "privacy verdict: no speech uploaded outside the wake-word phases" in out
