"""The two evidence paths (preference echotap.evidence_path): names read from Wireshark's tree, or
parsed from the payload's bytes with no tree. On every committed capture and on ten real captures
of the dev corpus (../shared/real-captures beside the checkout, or $ECHOTAP_REAL_CORPUS) their
tables and JSON must be byte-identical, and the path `both` must report no difference."""
import os
from pathlib import Path

import pytest

from conftest import CAPTURES

ROOT = Path(__file__).resolve().parent.parent
# A worktree's parent holds no shared/: ECHOTAP_REAL_CORPUS names the corpus there.
CORPUS = Path(os.environ.get("ECHOTAP_REAL_CORPUS", ROOT.parent / "shared/real-captures/vcfingerprinting"))
REAL_SAMPLE = 10

TABLES = ("-q", "-z", "echotap,phases", "-z", "echotap,flows", "-z", "echotap,timeline")
JSON = ("-q", "-z", "echotap,json")
DIFFERS = "The evidence paths differ"


def committed_captures():
    return sorted(CAPTURES.glob("*.pcapng"))


def real_captures():
    """Every ninth capture of the dev corpus, both speakers' folders: ten captures."""
    found = sorted(CORPUS.glob("*/*.pcap*"))
    return found[::9][:REAL_SAMPLE]


def capture_id(path):
    return f"{path.parent.name}/{path.name}"


CASES = [pytest.param(c, id=capture_id(c)) for c in committed_captures()]
if CORPUS.is_dir():
    CASES += [pytest.param(c, id=capture_id(c)) for c in real_captures()]
else:
    CASES.append(pytest.param(None, id="real-corpus",
                              marks=pytest.mark.skip(reason=f"the real corpus is not here ({CORPUS})")))


def output(tshark, capture, path, args):
    return tshark.run("-r", str(capture), "-o", f"echotap.evidence_path:{path}", *args).stdout


@pytest.mark.parametrize("capture", CASES)
def test_paths_give_the_same_tables_and_json(tshark, capture):
    for args in (TABLES, JSON):
        tree = output(tshark, capture, "tree", args)
        assert tree.strip(), "no output"
        assert output(tshark, capture, "payload", args) == tree


@pytest.mark.parametrize("capture", CASES)
def test_both_reports_no_difference(tshark, capture):
    out = tshark.run("-r", str(capture), "-o", "echotap.evidence_path:both", "-q", "-z", "expert,note").stdout
    assert DIFFERS not in out and "Flow " not in out, out


def test_both_reports_a_difference(tshark):
    """Without TCP reassembly the tree misses a certificate chain split over segments; the payload
    path reads it from the stream, and `both` says so."""
    capture = CAPTURES / "realstack.pcapng"
    out = tshark.run("-r", str(capture), "-o", "echotap.evidence_path:both", "-o", "tcp.desegment_tcp_streams:FALSE",
                     "-q", "-z", "expert,note").stdout
    assert "Evidence cert: tree (none), payload bob-dispatch-prod-na.amazon.com" in out, out


def test_paths_agree_with_a_visible_tree(tshark):
    """With -V a tree is built anyway: the payload path still reads the bytes, and agrees."""
    capture = CAPTURES / "echo-study.pcapng"
    assert output(tshark, capture, "payload", ("-V",) + TABLES) == output(tshark, capture, "tree", ("-V",) + TABLES)


@pytest.fixture(scope="module")
def quic_capture(_tmp_root):
    """In conftest's temporary folder, which tshark's unprivileged user can read."""
    from quic_capture import write_capture
    path = _tmp_root / "quic.pcapng"
    write_capture(path)
    path.chmod(0o644)
    return path


def test_quic_initials_on_both_paths(tshark, quic_capture):
    """IETF QUIC (versions 1, 2, draft 29): the tree decrypts the client's Initials, the payload path
    too; a ClientHello in two Initials, out of order and sent twice, is read."""
    from quic_capture import SNIS
    for args in (TABLES, JSON):
        assert output(tshark, quic_capture, "payload", args) == output(tshark, quic_capture, "tree", args)
    found = output(tshark, quic_capture, "payload", JSON)
    for sni in SNIS.values():
        assert f'"{sni}"' in found
    out = tshark.run("-r", str(quic_capture), "-o", "echotap.evidence_path:both", "-q", "-z", "expert,note").stdout
    assert DIFFERS not in out and "Flow " not in out, out
