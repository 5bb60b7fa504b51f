"""echotap on the real development corpus (VCFingerprinting, ../shared/real-captures): the figures
that reached their goals stay there. Skipped where the corpus is absent (users' clones)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared/real-captures/vcfingerprinting"

pytestmark = pytest.mark.skipif(not (CORPUS / "labels.tsv").exists(),
                                reason=f"the real corpus is not here ({CORPUS}): nothing to measure")


@pytest.fixture(scope="module")
def figures(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "eval.json"
    subprocess.run([sys.executable, str(ROOT / "tools/eval-real"), str(CORPUS), "--expert", "--json", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def test_the_voice_connection_is_named(figures):
    t = figures["tagging"]
    assert t["avs_tagged_share"] >= 0.99, t["confusion"].get("avs")
    assert t["named_right_share"] >= 0.99, t["confusion"]


def test_no_speaker_service_on_other_devices(figures):
    assert figures["tagging"]["speaker_services_on_other_devices"] == []


def test_interactions_match_the_reference_bursts(figures):
    p = figures["phases"]
    worst = [w["capture"] for w in p["worst"]]
    assert p["recall"] >= 0.99, worst
    assert p["precision"] >= 0.96, worst
    assert p["start_error_p90"] <= 0.5
    assert p["end_error_p90"] <= 0.5


def test_no_false_upload_without_wake_word(figures):
    p = figures["phases"]
    assert p["flagged_captures"] == [], p["flagged_captures"]


def test_expert_infos_once_per_flow_and_no_false_mismatch(figures):
    e = figures["expert"]
    assert e["totals"].get("mismatch", 0) == 0, e
    assert e["totals"].get("upload_without_wake_word", 0) == 0, e
    assert e["more_than_once_per_flow"] == [], e
