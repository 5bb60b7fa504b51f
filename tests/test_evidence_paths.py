"""The two evidence paths (preference echotap.evidence_path): names read from Wireshark's tree, or
parsed from the payload's bytes with no tree. On every committed capture and on ten real captures
of the dev corpus (../shared/real-captures beside the checkout, or $ECHOTAP_REAL_CORPUS) their
tables and JSON must be byte-identical, also with the default (auto: the payload path in tshark),
and the path `both` must report no difference. Where the payload path cannot read a packet (a
tunnel) it says so; with TLS keys configured auto takes the tree."""
import json
import os
import struct
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
    """tshark's output with the evidence path forced, or with the default (path None)."""
    forced = ("-o", f"echotap.evidence_path:{path}") if path else ()
    return tshark.run("-r", str(capture), *forced, *args).stdout


@pytest.mark.parametrize("capture", CASES)
def test_paths_give_the_same_tables_and_json(tshark, capture):
    for args in (TABLES, JSON):
        tree = output(tshark, capture, "tree", args)
        assert tree.strip(), "no output"
        assert output(tshark, capture, "payload", args) == tree
        assert output(tshark, capture, None, args) == tree


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


TUNNEL_HOST = "device-metrics-us.amazon.com"
UNREAD = "the payload evidence path cannot read"


def _ipv4(src, dst, proto, payload):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0,
                       bytes(src), bytes(dst)) + payload


def _ether(payload):
    return bytes.fromhex("020000000002" "fc65de000001" "0800") + payload


def _pcap(frames):
    out = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1)
    for i, frame in enumerate(frames):
        out += struct.pack("<IIII", 1700000000 + i, 0, len(frame), len(frame)) + frame
    return out


@pytest.fixture(scope="module")
def tunnel_capture(_tmp_root):
    """One HTTP request inside VXLAN (UDP 4789), which Wireshark decodes and the payload path's
    frame reader does not: a pcap written byte by byte."""
    request = f"GET / HTTP/1.1\r\nHost: {TUNNEL_HOST}\r\n\r\n".encode()
    tcp = struct.pack("!HHIIBBHHH", 50000, 80, 1, 0, 5 << 4, 0x18, 65535, 0, 0) + request
    inner = _ether(_ipv4((192, 168, 1, 10), (52, 94, 1, 1), 6, tcp))
    vxlan = struct.pack("!BxxxI", 0x08, 42 << 8) + inner
    udp = struct.pack("!HHHH", 40000, 4789, 8 + len(vxlan), 0) + vxlan
    frame = _ether(_ipv4((10, 0, 0, 1), (10, 0, 0, 2), 17, udp))
    path = _tmp_root / "vxlan.pcap"
    path.write_bytes(_pcap([frame]))
    path.chmod(0o644)
    return path


def test_auto_says_what_the_payload_path_cannot_read(tshark, tunnel_capture):
    """The tree reads the tunnelled request's Host; the default (the payload path) cannot, and says
    so on stderr and in an expert info, naming the preference that reads it."""
    assert f'"{TUNNEL_HOST}"' in output(tshark, tunnel_capture, "tree", JSON)
    run = tshark.run("-r", str(tunnel_capture), *JSON)
    assert f'"{TUNNEL_HOST}"' not in run.stdout
    assert UNREAD in run.stderr and "echotap.evidence_path:tree" in run.stderr, run.stderr
    expert = tshark.run("-r", str(tunnel_capture), "-q", "-z", "expert,warn").stdout
    assert "Flow 0: " + UNREAD in expert, expert
    assert UNREAD not in tshark.run("-r", str(tunnel_capture), "-o", "echotap.evidence_path:tree", *JSON).stderr


def test_auto_takes_the_tree_with_tls_keys(tshark, tunnel_capture):
    """A TLS key log file configured: the tree may read decrypted names, so auto is the tree."""
    run = tshark.run("-r", str(tunnel_capture), "-o", "tls.keylog_file:/nonexistent/keys.log", *JSON)
    assert f'"{TUNNEL_HOST}"' in run.stdout and UNREAD not in run.stderr, run.stderr


REUSE_HOSTS = ("api.amazon.com", "device-metrics-us.amazon.com")


CLIENT, SERVER = (192, 168, 1, 10), (52, 94, 1, 1)


def _tcp(up, seq, ack, flags, data=b""):
    """A frame of a TCP connection from CLIENT:50000 to SERVER:80."""
    ports = (50000, 80) if up else (80, 50000)
    tcp = struct.pack("!HHIIBBHHH", *ports, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
    return _ether(_ipv4(*((CLIENT, SERVER) if up else (SERVER, CLIENT)), 6, tcp))


def _http_connection(isn, request, split=None):
    """Handshake, the request (in two segments at byte split), the server's FIN, the client's."""
    c, s = isn, 5000 + isn
    parts = [request] if split is None else [request[:split], request[split:]]
    frames = [_tcp(True, c, 0, 0x02), _tcp(False, s, c + 1, 0x12), _tcp(True, c + 1, s + 1, 0x10)]
    at = c + 1
    for part in parts:
        frames.append(_tcp(True, at, s + 1, 0x18, part))
        at += len(part)
    return frames + [_tcp(False, s + 1, at, 0x11), _tcp(True, at, s + 2, 0x11), _tcp(False, s + 2, at + 1, 0x10)]


def _request(host):
    return f"GET / HTTP/1.1\r\nUser-Agent: test\r\nHost: {host}\r\n\r\n".encode()


@pytest.fixture(scope="module")
def port_reuse_capture(_tmp_root):
    """Two TCP connections over one 5-tuple, the second opened by a new SYN (another initial
    sequence number) after the first closed, each with one HTTP request."""
    frames = _http_connection(1000, _request(REUSE_HOSTS[0])) + _http_connection(900000, _request(REUSE_HOSTS[1]))
    path = _tmp_root / "port-reuse.pcap"
    path.write_bytes(_pcap(frames))
    path.chmod(0o644)
    return path


def test_a_reused_port_is_a_new_flow(tshark, tshark_plain, port_reuse_capture):
    """As Wireshark's TCP conversations (its tcp.stream numbers are the ground truth): a new SYN
    after the first connection closed starts a new flow, on every path."""
    streams = tshark_plain.run("-r", str(port_reuse_capture), "-T", "fields", "-e", "tcp.stream").stdout.split()
    assert sorted(set(streams)) == ["0", "1"], streams
    for path in ("tree", "payload", None):
        found = json.loads(output(tshark, port_reuse_capture, path, JSON))
        flows = sorted((f["packets_up"] + f["packets_down"], f["host"]) for f in found["flows"])
        assert flows == [(7, REUSE_HOSTS[0]), (7, REUSE_HOSTS[1])], (path, found["flows"])


SPLIT_HOST = "prod.amazoncrl.com"


def test_pppoe_on_every_path(tshark, tshark_plain, _tmp_root):
    """A request in a PPPoE session (RFC 2516): Wireshark's http.host (the truth) on every path,
    and nothing the payload path could not read."""
    frames = []
    for frame in _http_connection(1000, _request(SPLIT_HOST)):
        ip = frame[14:]
        pppoe = struct.pack("!BBHHH", 0x11, 0, 7, len(ip) + 2, 0x0021)
        frames.append(frame[:12] + b"\x88\x64" + pppoe + ip)
    path = _tmp_root / "pppoe.pcap"
    path.write_bytes(_pcap(frames))
    path.chmod(0o644)
    assert tshark_plain.run("-r", str(path), "-T", "fields", "-e", "http.host").stdout.split() == [SPLIT_HOST]
    for path_name in ("tree", "payload", None):
        run = tshark.run("-r", str(path), *(("-o", f"echotap.evidence_path:{path_name}") if path_name else ()), *JSON)
        assert f'"{SPLIT_HOST}"' in run.stdout and UNREAD not in run.stderr, (path_name, run.stderr)


def test_an_http_head_over_two_segments(tshark, tshark_plain, _tmp_root):
    """A request head split before its Host line: Wireshark reassembles it (http.host, the ground
    truth); the payload path reads it from the stream."""
    path = _tmp_root / "split-head.pcap"
    path.write_bytes(_pcap(_http_connection(1000, _request(SPLIT_HOST), split=20)))
    path.chmod(0o644)
    assert tshark_plain.run("-r", str(path), "-T", "fields", "-e", "http.host").stdout.split() == [SPLIT_HOST]
    for path_name in ("tree", "payload", None):
        assert f'"{SPLIT_HOST}"' in output(tshark, path, path_name, JSON), path_name


@pytest.fixture(scope="module")
def quic_capture(_tmp_root):
    """In conftest's temporary folder, which tshark's unprivileged user can read."""
    from quic_capture import write_capture
    path = _tmp_root / "quic.pcapng"
    write_capture(path)
    path.chmod(0o644)
    return path


def test_quic_initials_on_both_paths(tshark, quic_capture):
    """IETF QUIC (versions 1, 2, draft 29): the tree decrypts the client's Initials on Wireshark 4.0,
    4.4 and 4.6, the payload path too; a ClientHello in two Initials, out of order and sent twice,
    is read."""
    from quic_capture import SNIS
    for args in (TABLES, JSON):
        assert output(tshark, quic_capture, "payload", args) == output(tshark, quic_capture, "tree", args)
    found = output(tshark, quic_capture, "payload", JSON)
    for sni in SNIS.values():
        assert f'"{sni}"' in found
    out = tshark.run("-r", str(quic_capture), "-o", "echotap.evidence_path:both", "-q", "-z", "expert,note").stdout
    assert DIFFERS not in out and "Flow " not in out, out
