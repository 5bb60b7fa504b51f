"""echogen: the building blocks of the deterministic capture generator.

Frames (Ethernet, IPv4, IPv6, TCP, UDP), TLS records, DNS and NTP messages, a TCP connection
that keeps sequence and acknowledgement numbers, and a pcapng writer that also keeps the ground
truth: every frame it writes is counted against the flow and direction the scenario meant.
Python standard library only; the same seed gives the same bytes.
"""
import heapq
import ipaddress
import struct

ETH_IPV4, ETH_IPV6 = 0x0800, 0x86DD
TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


class Host:
    """An endpoint: its MAC address (None for a server beyond the router) and its IP address."""

    def __init__(self, mac_text, ip):
        self.mac = mac(mac_text) if mac_text else None
        self.ip = ipaddress.ip_address(ip)

    def __str__(self):
        return str(self.ip)


class Net:
    """Builds frames as seen on the LAN beside the devices: frames from off-LAN servers carry the
    router's MAC address."""

    def __init__(self, router_mac):
        self.router_mac = mac(router_mac)
        self.ip_id = 0x1000

    def frame(self, src, dst, proto, l4):
        src_mac = src.mac if src.mac is not None else self.router_mac
        dst_mac = dst.mac if dst.mac is not None else self.router_mac
        if src.ip.version == 4:
            self.ip_id = (self.ip_id + 1) & 0xFFFF
            hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), self.ip_id, 0x4000, 64, proto, 0,
                              src.ip.packed, dst.ip.packed)
            hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
            return dst_mac + src_mac + struct.pack("!H", ETH_IPV4) + hdr + l4
        hdr = struct.pack("!IHBB16s16s", 0x60000000, len(l4), proto, 64, src.ip.packed, dst.ip.packed)
        return dst_mac + src_mac + struct.pack("!H", ETH_IPV6) + hdr + l4

    @staticmethod
    def pseudo(src, dst, proto, length):
        if src.ip.version == 4:
            return src.ip.packed + dst.ip.packed + struct.pack("!BBH", 0, proto, length)
        return src.ip.packed + dst.ip.packed + struct.pack("!IxxxB", length, proto)

    def tcp(self, src, dst, sport, dport, seq, ack, flags, payload=b"", options=b""):
        off = (20 + len(options)) // 4
        seg = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, off << 4, flags,
                          65535, 0, 0) + options + payload
        csum = checksum(self.pseudo(src, dst, 6, len(seg)) + seg)
        seg = seg[:16] + struct.pack("!H", csum) + seg[18:]
        return self.frame(src, dst, 6, seg)

    def udp(self, src, dst, sport, dport, payload):
        dgram = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
        csum = checksum(self.pseudo(src, dst, 17, len(dgram)) + dgram) or 0xFFFF
        dgram = dgram[:6] + struct.pack("!H", csum) + dgram[8:]
        return self.frame(src, dst, 17, dgram)


class Flow:
    """What the scenario meant a conversation to be: the truth the tests judge the plugin by."""

    def __init__(self, proto, client, cport, server, sport, service=None, host=None, evidence=None):
        self.proto, self.client, self.cport, self.server, self.sport = proto, client, cport, server, sport
        self.service, self.host, self.evidence = service, host, evidence
        self.bytes = {"up": 0, "down": 0}
        self.packets = {"up": 0, "down": 0}
        self.first = self.last = None

    def truth(self):
        return {"proto": self.proto, "client": str(self.client), "client_port": self.cport,
                "server": str(self.server), "server_port": self.sport, "device": str(self.client),
                "service": self.service, "host": self.host, "evidence": self.evidence,
                "bytes_up": self.bytes["up"], "bytes_down": self.bytes["down"],
                "packets_up": self.packets["up"], "packets_down": self.packets["down"],
                "first": round(self.first / 1e6, 6), "last": round(self.last / 1e6, 6)}


class Capture:
    """Collects frames with their meaning and writes them in time order as pcapng.

    Frames are kept in a heap and written out up to a time the scenario promises not to go back
    before (flush), so long captures stream without holding every packet in memory."""

    def __init__(self, path, phases_of=None):
        self.out = open(path, "wb")
        self.heap = []
        self.order = 0
        self.flows = []
        self.stats = {}
        self.phase_of = phases_of or (lambda rel: 0)
        self.t_first = None
        self.packets = 0
        self.out.write(self._shb() + self._idb())

    @staticmethod
    def _block(btype, body):
        body += b"\0" * (-len(body) % 4)
        n = 12 + len(body)
        return struct.pack("<II", btype, n) + body + struct.pack("<I", n)

    def _shb(self):
        app = b"echotap captures/generate.py"
        opt = struct.pack("<HH", 4, len(app)) + app + b"\0" * (-len(app) % 4) + struct.pack("<HH", 0, 0)
        return self._block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + opt)

    def _idb(self):
        return self._block(1, struct.pack("<HHI", 1, 0, 262144))  # Ethernet, microsecond stamps

    def flow(self, *args, **kw):
        f = Flow(*args, **kw)
        self.flows.append(f)
        return f

    def add(self, ts_us, frame, flow, up):
        heapq.heappush(self.heap, (ts_us, self.order, frame, flow, up))
        self.order += 1

    def flush(self, until_us=None):
        """Writes every frame stamped before until_us (all of them when None)."""
        while self.heap and (until_us is None or self.heap[0][0] < until_us):
            ts, _, frame, flow, up = heapq.heappop(self.heap)
            self._write(ts, frame, flow, up)

    def _write(self, ts, frame, flow, up):
        if self.t_first is None:
            self.t_first = ts
        self.out.write(self._block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame))
                                   + frame))
        self.packets += 1
        if flow is None:
            return
        d = "up" if up else "down"
        flow.bytes[d] += len(frame)
        flow.packets[d] += 1
        flow.first = ts if flow.first is None else flow.first
        flow.last = ts
        key = (self.phase_of((ts - self.t_first) / 1e6), str(flow.client), flow.service or "untagged", d)
        b, p = self.stats.get(key, (0, 0))
        self.stats[key] = (b + len(frame), p + 1)

    def close(self):
        self.flush()
        self.out.close()

    def stop_at(self, until_us):
        """The recording stops at until_us: every frame stamped at or after it that is not written
        yet is forgotten (counted nowhere, as if never seen), however the scenario went on."""
        self.heap = [e for e in self.heap if e[0] < until_us]
        heapq.heapify(self.heap)


def us(t):
    return int(round(t * 1e6))


class TcpConn:
    """One TCP connection between a LAN device and a server, seen at the device's side: data the
    device sends is acknowledged a round trip later, data it receives at once."""

    def __init__(self, cap, net, rng, flow, client, server, mss=None, rtt=0.030):
        self.cap, self.net, self.rng, self.flow = cap, net, rng, flow
        self.client, self.server = client, server
        self.cport, self.sport = flow.cport, flow.sport
        self.mss = mss or (1460 if client.ip.version == 4 else 1440)
        self.rtt = rtt
        self.seq = {True: rng.getrandbits(32), False: rng.getrandbits(32)}  # next seq, by "sent by client"

    def _emit(self, t, up, flags, payload=b"", seq=None, options=b""):
        src, dst = (self.client, self.server) if up else (self.server, self.client)
        sp, dp = (self.cport, self.sport) if up else (self.sport, self.cport)
        s = self.seq[up] if seq is None else seq
        frame = self.net.tcp(src, dst, sp, dp, s, self.seq[not up], flags, payload, options)
        self.cap.add(us(t), frame, self.flow, up)

    def open(self, t):
        """Three-way handshake from the client; returns when the client may send."""
        opts = struct.pack("!BBH", 2, 4, self.mss)
        self._emit(t, True, TCP_SYN, options=opts)
        self.seq[True] += 1
        self._emit(t + self.rtt, False, TCP_SYN | TCP_ACK, options=opts)
        self.seq[False] += 1
        self._emit(t + self.rtt + 0.0002, True, TCP_ACK)
        return t + self.rtt + 0.0003

    def send(self, t, up, data, rate=None, retransmit=(), reorder=()):
        """Sends data in MSS-sized segments starting at t, paced at rate bytes/s (default: line
        speed), each pair acknowledged; segment numbers in retransmit are sent twice, those in
        reorder swapped with the next one. Returns the time the last acknowledgement is seen."""
        chunks = [data[i:i + self.mss] for i in range(0, len(data), self.mss)] or [b""]
        ack_delay = self.rtt if up else 0.0002
        gap = 0.00012 if rate is None else self.mss / rate
        times = [t + i * gap for i in range(len(chunks))]
        order = list(range(len(chunks)))
        for i in reorder:
            if i + 1 < len(order):
                order[i], order[i + 1] = order[i + 1], order[i]
        base = self.seq[up]
        offsets = [sum(len(c) for c in chunks[:i]) for i in range(len(chunks))]
        last = t
        for slot, i in enumerate(order):
            flags = TCP_ACK | (TCP_PSH if i == len(chunks) - 1 else 0)
            self._emit(times[slot], up, flags, chunks[i], seq=base + offsets[i])
            if i in retransmit:
                self._emit(times[slot] + 0.2 * self.rtt + 0.0001, up, flags, chunks[i], seq=base + offsets[i])
            last = times[slot]
        self.seq[up] = base + len(data)
        acked = 0
        for i in range(1, len(chunks) + 1):
            if i % 2 == 0 or i == len(chunks):
                acked = i
                at = times[i - 1] + ack_delay
                self._ack(at, not up, base + offsets[i - 1] + len(chunks[i - 1]))
        return max(last, times[acked - 1]) + ack_delay + 0.0001

    def _ack(self, t, up, ack_no):
        src, dst = (self.client, self.server) if up else (self.server, self.client)
        sp, dp = (self.cport, self.sport) if up else (self.sport, self.cport)
        frame = self.net.tcp(src, dst, sp, dp, self.seq[up], ack_no, TCP_ACK)
        self.cap.add(us(t), frame, self.flow, up)

    def close(self, t, by_client=True):
        first = by_client
        self._emit(t, first, TCP_FIN | TCP_ACK)
        self.seq[first] += 1
        d = self.rtt if first else 0.0002
        self._emit(t + d, not first, TCP_FIN | TCP_ACK)
        self.seq[not first] += 1
        self._emit(t + d + (0.0002 if first else self.rtt), first, TCP_ACK)
        return t + 2 * d + self.rtt

    def reset(self, t, by_client=True):
        self._emit(t, by_client, TCP_RST | TCP_ACK)


class UdpConn:
    def __init__(self, cap, net, flow, client, server):
        self.cap, self.net, self.flow, self.client, self.server = cap, net, flow, client, server

    def send(self, t, up, payload):
        src, dst = (self.client, self.server) if up else (self.server, self.client)
        sp, dp = (self.flow.cport, self.flow.sport) if up else (self.flow.sport, self.flow.cport)
        self.cap.add(us(t), self.net.udp(src, dst, sp, dp, payload), self.flow, up)


# --- TLS -----------------------------------------------------------------------------------

def u8(n):
    return struct.pack("!B", n)


def u16(n):
    return struct.pack("!H", n)


def u24(n):
    return struct.pack("!I", n)[1:]


def record(ctype, body, version=0x0303):
    out = b""
    for i in range(0, max(len(body), 1), 16384):   # records carry at most 2^14 bytes
        part = body[i:i + 16384]
        out += u8(ctype) + u16(version) + u16(len(part)) + part
    return out


def handshake(htype, body):
    return u8(htype) + u24(len(body)) + body


def ext(etype, body):
    return u16(etype) + u16(len(body)) + body


def sni_ext(name_bytes):
    entry = u8(0) + u16(len(name_bytes)) + name_bytes
    return ext(0, u16(len(entry)) + entry)


def client_hello(rng, sni=None, session_id=b"", alpn=None, tls13=False):
    """sni: str or raw bytes (hostile input is written as given)."""
    suites = [0x1301, 0x1302, 0x1303] if tls13 else []
    suites += [0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0x009C, 0x009D, 0x002F, 0x0035]
    exts = b""
    if sni is not None:
        exts += sni_ext(sni.encode() if isinstance(sni, str) else sni)
    exts += ext(0xFF01, b"\0") + ext(10, u16(6) + u16(0x001D) + u16(0x0017) + u16(0x0018))
    exts += ext(11, b"\x01\x00") + ext(35, b"")
    if alpn:
        protos = b"".join(u8(len(p)) + p.encode() for p in alpn)
        exts += ext(16, u16(len(protos)) + protos)
    exts += ext(13, u16(8) + u16(0x0403) + u16(0x0804) + u16(0x0401) + u16(0x0503))
    if tls13:
        exts += ext(43, u8(4) + u16(0x0304) + u16(0x0303))
        exts += ext(51, u16(36) + u16(0x001D) + u16(32) + rng.randbytes(32))
    body = (u16(0x0303) + rng.randbytes(32) + u8(len(session_id)) + session_id +
            u16(2 * len(suites)) + b"".join(u16(s) for s in suites) + b"\x01\x00" + u16(len(exts)) + exts)
    return record(22, handshake(1, body), version=0x0301)


def server_hello(rng, session_id=b"", tls13=False):
    exts = ext(0xFF01, b"\0")
    if tls13:
        exts = ext(43, u16(0x0304)) + ext(51, u16(0x001D) + u16(32) + rng.randbytes(32))
    body = (u16(0x0303) + rng.randbytes(32) + u8(len(session_id)) + session_id +
            u16(0x1301 if tls13 else 0xC02F) + b"\x00" + u16(len(exts)) + exts)
    return handshake(2, body)


def certificate(ders):
    chain = b"".join(u24(len(d)) + d for d in ders)
    return handshake(11, u24(len(chain)) + chain)


def server_key_exchange(rng):
    point = b"\x04" + rng.randbytes(64)
    sig = rng.randbytes(72)
    return handshake(12, b"\x03" + u16(0x0017) + u8(len(point)) + point + u16(0x0403) + u16(len(sig)) + sig)


def client_key_exchange(rng):
    point = b"\x04" + rng.randbytes(64)
    return handshake(16, u8(len(point)) + point)


CCS = record(20, b"\x01")


def encrypted_finished(rng):
    return record(22, rng.randbytes(40))


def app_data(rng, n):
    """Application data records holding n bytes of ciphertext in all."""
    return record(23, rng.randbytes(n))


def tls_full_handshake(conn, rng, t, sni=None, certs=(), alpn=None, session_id=b""):
    """TLS 1.2 full handshake (certificate in clear). Returns when the client may send data."""
    t = conn.send(t, True, client_hello(rng, sni, alpn=alpn))
    flight = record(22, server_hello(rng, session_id) + certificate(list(certs)) + server_key_exchange(rng) +
                    handshake(14, b""))
    t = conn.send(t + 0.002, False, flight)
    t = conn.send(t + 0.003, True, record(22, client_key_exchange(rng)) + CCS + encrypted_finished(rng))
    return conn.send(t + 0.001, False, CCS + encrypted_finished(rng))


def tls_resumed_handshake(conn, rng, t, sni, session_id):
    """TLS 1.2 abbreviated handshake: the server accepts the session id, sends no certificate."""
    t = conn.send(t, True, client_hello(rng, sni, session_id=session_id))
    t = conn.send(t + 0.002, False, record(22, server_hello(rng, session_id)) + CCS + encrypted_finished(rng))
    return conn.send(t + 0.001, True, CCS + encrypted_finished(rng))


def tls13_handshake(conn, rng, t, sni, cert_bytes=3000, alpn=None):
    """TLS 1.3: only the ClientHello (SNI) is readable; the certificate travels encrypted."""
    t = conn.send(t, True, client_hello(rng, sni, alpn=alpn, tls13=True, session_id=rng.randbytes(32)))
    t = conn.send(t + 0.002, False, record(22, server_hello(rng, rng.randbytes(32), tls13=True)) + CCS +
                  app_data(rng, cert_bytes))
    return conn.send(t + 0.001, True, CCS + app_data(rng, 53))


# --- DNS, HTTP, NTP --------------------------------------------------------------------------

def dns_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += u8(len(label)) + label.encode()
    return out + b"\0"


def dns_message(qid, qname, qtype, answers=None):
    """answers: None for a query, else [(owner, type, value)] with type 1 (A), 28 (AAAA) or 5
    (CNAME); value an address or a name."""
    flags = 0x0100 if answers is None else 0x8180
    body = struct.pack("!HHHHHH", qid, flags, 1, len(answers or []), 0, 0) + dns_name(qname) + u16(qtype) + u16(1)
    for owner, rtype, value in answers or []:
        rdata = ipaddress.ip_address(value).packed if rtype in (1, 28) else dns_name(value)
        body += dns_name(owner) + u16(rtype) + u16(1) + struct.pack("!I", 60) + u16(len(rdata)) + rdata
    return body


def http_request(host, path, extra=""):
    return (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Dalvik/2.1.0 (Linux; U; Android 7.1.2)\r\n"
            f"{extra}Connection: close\r\n\r\n").encode()


def http_response(body):
    return (f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n"
            f"Connection: close\r\n\r\n").encode() + body


def ntp_packet(rng, mode):
    return bytes([0x20 | mode, 2 if mode == 4 else 0, 6, 0xEC]) + rng.randbytes(44)


# --- mDNS, gQUIC, mutual TLS (other speakers) --------------------------------------------------

def txt_rdata(strings):
    return b"".join(u8(len(s.encode())) + s.encode() for s in strings)


def mdns_response(records):
    """An mDNS response (RFC 6762: id 0, authoritative, no question). records: [(owner, type,
    value)] with type 12 (PTR: a name), 16 (TXT: a list of strings), 33 (SRV: (port, target)),
    1 (A) or 28 (AAAA); unique records (all but PTR) carry the cache-flush bit."""
    body = struct.pack("!HHHHHH", 0, 0x8400, 0, len(records), 0, 0)
    for owner, rtype, value in records:
        if rtype == 12:
            rdata = dns_name(value)
        elif rtype == 16:
            rdata = txt_rdata(value)
        elif rtype == 33:
            port, target = value
            rdata = struct.pack("!HHH", 0, 0, port) + dns_name(target)
        else:
            rdata = ipaddress.ip_address(value).packed
        rclass = 0x0001 if rtype == 12 else 0x8001
        body += dns_name(owner) + u16(rtype) + u16(rclass) + struct.pack("!I", 4500 if rtype == 12 else 120)
        body += u16(len(rdata)) + rdata
    return body


def gquic_tags(tags):
    """A gQUIC handshake message's tag list: count (u16 LE), 2 bytes of padding, then (tag, end
    offset u32 LE) pairs and the values back to back."""
    head, values = u16le(len(tags)) + b"\0\0", b""
    for tag, value in tags:
        values += value
        head += tag + struct.pack("<I", len(values))
    return head + values


def u16le(n):
    return struct.pack("<H", n)


def gquic_chlo(rng, cid, pkn, sni, size=1350):
    """A client's gQUIC Q046 Initial packet (long header: 0xC3, version Q046, DCIL/SCIL 0x50,
    8-byte connection id, 4-byte packet number) holding, unencrypted, a 12-byte message
    authentication hash and one STREAM frame on stream 1 with a CHLO whose SNI tag is `sni`,
    padded (PAD tag) to `size` bytes of UDP payload, as Chrome's and Google devices' are."""
    def packet(pad):
        chlo = b"CHLO" + gquic_tags([(b"PAD\0", b"-" * pad), (b"SNI\0", sni.encode()), (b"VER\0", b"Q046"),
                                     (b"PDMD", b"X509"), (b"UAID", b"Chrome/74.0.3729.172 Linux x86_64"),
                                     (b"AEAD", b"AESG"), (b"KEXS", b"C255"), (b"NONP", rng_bytes)])
        frame = b"\xa0\x01" + u16(len(chlo)) + chlo          # STREAM, 1-byte id, data length
        return b"\xc3Q046\x50" + cid + struct.pack("!I", pkn) + hash12 + frame
    rng_bytes, hash12 = rng.randbytes(32), rng.randbytes(12)
    base = len(packet(0))
    return packet(max(0, size - base))


def gquic_short(rng, cid, pkn, n, to_server=True):
    """A gQUIC Q046 short-header packet of n bytes: first byte 0x43 (4-byte packet number), the
    connection id only towards the server, then encrypted payload."""
    head = b"\x43" + (cid if to_server else b"") + struct.pack("!I", pkn)
    return head + rng.randbytes(max(16, n - len(head)))


def certificate_request():
    """TLS 1.2 CertificateRequest: ECDSA and RSA certificates, two signature algorithms, no CA names."""
    return handshake(13, u8(2) + u8(64) + u8(1) + u16(4) + u16(0x0403) + u16(0x0804) + u16(0))


def certificate_verify(rng):
    sig = rng.randbytes(71)
    return handshake(15, u16(0x0403) + u16(len(sig)) + sig)


def tls_mutual_handshake(conn, rng, t, server_cert, client_cert):
    """TLS 1.2 full handshake with client authentication (no SNI): the server's flight carries its
    certificate and a CertificateRequest; the client answers with its own certificate and a
    CertificateVerify. Returns when the client may send data."""
    t = conn.send(t, True, client_hello(rng, None))
    flight = record(22, server_hello(rng, rng.randbytes(32)) + certificate([server_cert]) +
                    server_key_exchange(rng) + certificate_request() + handshake(14, b""))
    t = conn.send(t + 0.002, False, flight)
    t = conn.send(t + 0.003, True, record(22, certificate([client_cert]) + client_key_exchange(rng) +
                                          certificate_verify(rng)) + CCS + encrypted_finished(rng))
    return conn.send(t + 0.001, False, CCS + encrypted_finished(rng))


# Local addresses (doc/classification.md, "Rules"; flows.c et_addr_is_local: multicast and everything
# above it in IPv4): a flow to one of them whose host matches no rule is `local`,
# with evidence `lan` when nothing names it. Documentation ranges (198.51.100.0/24, 2001:db8::/32)
# stand for cloud servers here: they are not in this list.
LOCAL_NETS = [ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/3",
    "0.0.0.0/8", "fc00::/7", "fe80::/10", "ff00::/8", "::1/128")]


def is_local(ip):
    ip = ipaddress.ip_address(ip)
    return any(ip in net for net in LOCAL_NETS if net.version == ip.version)
