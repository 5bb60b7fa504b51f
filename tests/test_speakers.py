"""Other speakers (issue 21): echotap on the captures of an Echo Dot 3 at PCM rate, a HomePod, a
Google Home Mini and Sonos speakers, judged against their truth files.

The truth is what captures/generate.py meant under doc/classification.md (services, evidence, which device is a
speaker and of which assistant, the interactions and their seconds of speech); never earlier
plugin output. The flows come from -z echotap,json (each flow's final state), the devices from
the fields every frame of a device's flows carries on the second pass, the interactions from the
automatic phases of -z echotap,json.
"""
import collections
import json

import pytest

from conftest import CAPTURES, load_truth

SPEAKER_CAPTURES = [CAPTURES / f"{name}.pcapng" for name in ("echo-pcm", "homepod", "google-home", "sonos")]
TOLERANCE_S = 0.3
_runs = {}


def ids(path):
    return path.stem


def export(tshark, capture):
    """-z echotap,json of the capture (automatic phases: these captures have no schedule)."""
    key = ("json", capture)
    if key not in _runs:
        _runs[key] = json.loads(tshark.run("-r", capture, "-q", "-z", "echotap,json").stdout)
    return _runs[key]


def device_fields(tshark, capture, field):
    """{device: set of values of field} over every frame echotap tags, second pass (one field per
    run, so that a field the plugin lacks fails only its own test)."""
    key = (field, capture)
    if key not in _runs:
        seen = collections.defaultdict(set)
        for dev, value in tshark.fields(capture, ["echotap.device", field], "-2"):
            if dev:
                seen[dev].add(value)
        _runs[key] = seen
    return _runs[key]


def flow_key(f):
    return (f["proto"], f["device"], f["client_port"], f["server"], f["server_port"])


def truth_devices(capture):
    return {d["address"]: d for d in load_truth(capture)["devices"]}


def interaction_phases(data, device):
    return [p for p in data["phases"] if p["device"] == device and p["label"] == "interaction"]


def matching_phases(data, it):
    return [p for p in interaction_phases(data, it["device"]) if p["start"] < it["end"] and it["start"] < p["end"]]


@pytest.mark.parametrize("capture", SPEAKER_CAPTURES, ids=ids)
def test_every_flow_is_in_the_export(tshark, capture):
    got = {flow_key(f) for f in export(tshark, capture)["flows"]}
    assert got == {flow_key(f) for f in load_truth(capture)["flows"]}


@pytest.mark.parametrize("capture", SPEAKER_CAPTURES, ids=ids)
def test_each_flow_has_the_service_host_and_evidence_meant(tshark, capture):
    got = {flow_key(f): f for f in export(tshark, capture)["flows"]}
    for f in load_truth(capture)["flows"]:
        g = got.get(flow_key(f))
        assert g is not None, f"flow missing: {f}"
        # The truth's null service: a flow without one, "untagged" in the export as in the tables.
        assert (g["service"], g["host"], g["evidence"]) == (f["service"] or "untagged", f["host"], f["evidence"]), f


@pytest.mark.parametrize("capture", SPEAKER_CAPTURES, ids=ids)
def test_no_host_is_an_address(tshark, capture):
    """A certificate CN "0.0.0.0" (echo-pcm) is a bad name: never a host."""
    for f in export(tshark, capture)["flows"]:
        assert not (f["host"] or "x").split(".")[-1].isdigit(), f


@pytest.mark.parametrize("capture", SPEAKER_CAPTURES, ids=ids)
def test_each_device_is_a_speaker_or_not_as_meant(tshark, capture):
    seen = device_fields(tshark, capture, "echotap.device.speaker")
    for address, d in truth_devices(capture).items():
        want = {"1", "True"} if d["speaker"] else {"0", "False"}
        values = seen[address]
        assert len(values) == 1 and values <= want, (address, values, d)


@pytest.mark.parametrize("capture", SPEAKER_CAPTURES, ids=ids)
def test_each_device_has_the_assistant_meant(tshark, capture):
    seen = device_fields(tshark, capture, "echotap.device.assistant")
    for address, d in truth_devices(capture).items():
        assert seen[address] == {d["assistant"] or ""}, (address, d)


@pytest.mark.parametrize("capture", SPEAKER_CAPTURES, ids=ids)
def test_each_device_has_its_mdns_model(tshark, capture):
    seen = device_fields(tshark, capture, "echotap.device.model")
    for address, d in truth_devices(capture).items():
        assert seen[address] == {d["model"] or ""}, (address, d)


@pytest.mark.parametrize("capture", SPEAKER_CAPTURES, ids=ids)
def test_every_device_is_in_the_export(tshark, capture):
    got = {d["device"]: d["speaker"] for d in export(tshark, capture)["devices"]}
    assert got == {a: d["speaker"] for a, d in truth_devices(capture).items()}


@pytest.mark.parametrize("capture", SPEAKER_CAPTURES, ids=ids)
def test_phases_are_automatic(tshark, capture):
    assert export(tshark, capture)["automatic_phases"] is True


@pytest.mark.parametrize("capture", SPEAKER_CAPTURES, ids=ids)
def test_each_interaction_is_found_once_where_it_was(tshark, capture):
    data = export(tshark, capture)
    for it in load_truth(capture)["interactions"]:
        match = matching_phases(data, it)
        assert len(match) == 1, (it, interaction_phases(data, it["device"]))
        assert abs(match[0]["start"] - it["start"]) <= TOLERANCE_S, (it, match[0])
        assert abs(match[0]["end"] - it["end"]) <= TOLERANCE_S, (it, match[0])


@pytest.mark.parametrize("capture", SPEAKER_CAPTURES, ids=ids)
def test_no_interaction_is_found_that_was_not_meant(tshark, capture):
    truth = load_truth(capture)
    data = export(tshark, capture)
    found = [p for p in data["phases"] if p["label"] == "interaction"]
    assert len(found) == len(truth["interactions"]), found


@pytest.mark.parametrize("capture", SPEAKER_CAPTURES, ids=ids)
def test_non_speakers_have_one_phase_all(tshark, capture):
    data = export(tshark, capture)
    for address, d in truth_devices(capture).items():
        if not d["speaker"]:
            assert [p["label"] for p in data["phases"] if p["device"] == address] == ["all"], address


@pytest.mark.parametrize("capture", SPEAKER_CAPTURES, ids=ids)
def test_speech_seconds_of_each_interaction(tshark, capture):
    data = export(tshark, capture)
    for it in load_truth(capture)["interactions"]:
        match = matching_phases(data, it)
        assert len(match) == 1, it
        assert abs(match[0]["speech_s"] - it["speech_s"]) <= TOLERANCE_S, (it, match[0])
