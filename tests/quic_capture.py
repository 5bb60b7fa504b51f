"""IETF QUIC client Initials for the tests (RFC 9000 / 9001; version 2: RFC 9369), encrypted as a
client does, and a capture of three connections that Wireshark's tree decrypts: version 1 with a
ClientHello in two Initials (CRYPTO frames out of order, one packet sent twice, the second to
another Destination Connection ID), draft 29 and version 2. Also printed as C arrays for
tests/unit/test_quic.c (`python3 tests/quic_capture.py --c-arrays`)."""
import os
import struct
import sys
import textwrap
from pathlib import Path

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "captures"))
from echogen import Capture, Host, Net, UdpConn  # noqa: E402

V1, DRAFT29, V2 = 0x00000001, 0xff00001d, 0x6b3343cf
SALTS = {V1: "38762cf7f55934b34d179ae6a4c80cadccbb7f0a", DRAFT29: "afbfec289993d24c9e9786f19c6111e04390a899",
         V2: "0dede3def700a6db819381be6e269dcbf9bd2ed9"}
SNIS = {V1: "avs-alexa-14-na.amazon.com", DRAFT29: "www.google.com", V2: "example.org"}


def _hmac(key, data):
    h = hmac.HMAC(key, hashes.SHA256())
    h.update(data)
    return h.finalize()


def _expand_label(secret, label, n):
    full = b"tls13 " + label
    return _hmac(secret, struct.pack("!HB", n, len(full)) + full + b"\0\1")[:n]


def keys(version, dcid, side=b"client in"):
    """(key, iv, hp) of one side's Initials, from the client's first Destination Connection ID."""
    secret = _expand_label(_hmac(bytes.fromhex(SALTS[version]), dcid), side, 32)
    prefix = b"quicv2 " if version == V2 else b"quic "
    return tuple(_expand_label(secret, prefix + what, n) for what, n in ((b"key", 16), (b"iv", 12), (b"hp", 16)))


def _varint(v):
    return bytes([v]) if v < 64 else struct.pack("!H", 0x4000 | v)


def crypto(offset, data):
    return b"\x06" + _varint(offset) + _varint(len(data)) + data


def initial(version, dcid, scid, pn, frames, key_iv_hp, pad_to=1200):
    """A protected Initial packet (2-byte packet number), padded to pad_to bytes."""
    key, iv, hp = key_iv_hp
    first = 0xc0 | ((1 if version == V2 else 0) << 4) | 1
    head = bytes([first]) + struct.pack("!I", version) + bytes([len(dcid)]) + dcid + bytes([len(scid)]) + scid + b"\0"
    payload = frames + b"\0" * max(0, pad_to - len(head) - 4 - len(frames) - 16)
    header = head + struct.pack("!HH", 0x4000 | (2 + len(payload) + 16), pn)
    nonce = bytes(a ^ b for a, b in zip(iv, bytes(4) + struct.pack("!Q", pn)))
    packet = bytearray(header + AESGCM(key).encrypt(nonce, payload, header))
    pn_at = len(header) - 2
    enc = Cipher(algorithms.AES(hp), modes.ECB()).encryptor()
    mask = enc.update(bytes(packet[pn_at + 4:pn_at + 20])) + enc.finalize()
    packet[0] ^= mask[0] & 0x0f
    packet[pn_at] ^= mask[1]
    packet[pn_at + 1] ^= mask[2]
    return bytes(packet)


def client_hello(sni, bulk=0, random=os.urandom):
    """A TLS 1.3 ClientHello with a server_name, after an extension of bulk bytes (a post-quantum
    key share's size). Its type is a GREASE value (RFC 8701), which every Wireshark skips: as
    0xfe0d (encrypted_client_hello) Wireshark 4.6 read it and, with bulk 0, threw before the
    server_name."""
    name = sni.encode()
    exts = (struct.pack("!HH", 0x1a1a, bulk) + random(bulk) +
            struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name +
            struct.pack("!HHBH", 43, 3, 2, 0x0304))
    body = (struct.pack("!H", 0x0303) + random(32) + b"\0" + struct.pack("!HH", 2, 0x1301) + b"\1\0" +
            struct.pack("!H", len(exts)) + exts)
    return b"\1" + struct.pack("!I", len(body))[1:] + body


def write_capture(path):
    cap, net = Capture(str(path)), Net("02:00:00:00:00:01")
    speaker = Host("fc:65:de:00:00:01", "192.168.1.10")
    t = 1.0
    for i, version in enumerate((V1, DRAFT29, V2)):
        server = Host(None, f"52.94.1.{i + 1}")
        conn = UdpConn(cap, net, cap.flow("udp", speaker, 50000 + i, server, 443), speaker, server)
        dcid, scid, server_cid = os.urandom(8), os.urandom(8), os.urandom(8)
        hello = client_hello(SNIS[version], 1500 if version == V1 else 0)
        ck, sk = keys(version, dcid), keys(version, dcid, b"server in")
        sent = []
        if version == V1:
            first = initial(version, dcid, scid, 0, crypto(500, hello[500:1000]) + crypto(0, hello[:500]), ck)
            sent = [(True, first), (False, initial(version, scid, server_cid, 0, b"\x02\0\0\0\0", sk)),
                    (True, first), (True, initial(version, server_cid, scid, 1, crypto(1000, hello[1000:]), ck))]
        else:
            sent = [(True, initial(version, dcid, scid, 0, crypto(0, hello), ck)),
                    (False, initial(version, scid, server_cid, 0, b"\x02\0\0\0\0", sk, pad_to=0))]
        sent += [(up, bytes([0x40]) + os.urandom(60 if up else 300)) for _ in range(5) for up in (True, False)]
        for up, datagram in sent:
            conn.send(t, up, datagram)
            t += 0.01
    cap.close()


def c_arrays():
    """Two Initials of one ClientHello (SNI example.com) to DCID 8394c8f03e515708 (RFC 9001 A.1):
    its second half first, then its first 40 bytes to another DCID."""
    dcid = bytes.fromhex("8394c8f03e515708")
    hello = client_hello("example.com", random=bytes)
    k = keys(V1, dcid)
    for name, packet in (("initial_tail", initial(V1, dcid, b"", 0, crypto(40, hello[40:]), k, pad_to=0)),
                         ("initial_head", initial(V1, bytes.fromhex("0011223344556677"), b"", 1,
                                                  crypto(0, hello[:40]), k, pad_to=0))):
        print(f"static const uint8_t {name}[] = {{")
        for line in textwrap.wrap(", ".join(f"0x{b:02x}" for b in packet), 96):
            print("    " + line)
        print("};")


if __name__ == "__main__":
    if sys.argv[1:] == ["--c-arrays"]:
        c_arrays()
    else:
        write_capture(sys.argv[1])
