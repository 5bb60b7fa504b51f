#!/usr/bin/env python3
"""Writes echotap's deterministic captures and their ground truth.

    captures/generate.py                 # every committed capture, into captures/
    captures/generate.py -o DIR NAME...  # some of them, elsewhere
    captures/generate.py -o build scale --hours 24 --speakers 5 --ota-mb 131

Each NAME.pcapng gets a NAME.truth.json: what every flow was meant to be (device, service,
host, evidence, per doc/classification.md), the bytes and packets the generator wrote per flow
and per phase x device x service x direction (frame lengths), the schedule and the wake-word
interactions. Same seed, same bytes.
"""
import argparse
import json
import pathlib
import random
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from echogen import (Capture, Host, Net, TcpConn, UdpConn, app_data, certificate, client_hello, is_local,  # noqa: E402
                     dns_message, gquic_chlo, gquic_short, handshake, http_request,
                     http_response, mdns_response, ntp_packet, record, server_hello, server_key_exchange,
                     tls13_handshake, tls_full_handshake, tls_mutual_handshake, tls_resumed_handshake, us)

HERE = pathlib.Path(__file__).resolve().parent
CERTS = {p.stem: p.read_bytes() for p in (HERE / "certs").glob("*.der")}
T0 = 1768471200.0            # 2026-01-15 10:00:00 UTC

# AVS audio (see captures/README.md): 16 kHz 16-bit mono PCM = 32000 B/s, sent as one HTTP/2
# DATA frame per 100 ms; a TLS record adds 5 bytes of header and 16 of AEAD tag, HTTP/2 9.
AUDIO_CHUNK = 3200 + 9 + 16


def lan_truth(server_ip, service, host, evidence):
    """What a flow's truth becomes under doc/classification.md's LAN rule: a local server whose flow no rule
    names (service None as the scenario meant it) is `local`; with no name at all, evidence `lan`."""
    if service is None and is_local(server_ip):
        return "local", host, evidence if host else "lan"
    return service, host, evidence


class World:
    """One capture being written: hosts, the resolver, port numbers, the truth."""

    def __init__(self, path, seed, schedule=None, router_mac="50:c7:bf:3e:10:01", resolver="192.168.1.1"):
        self.rng = random.Random(seed)
        self.seed, self.schedule = seed, schedule
        self.starts = parse_schedule(schedule) if schedule else [(0.0, "all")]
        self.cap = Capture(path, self.phase_of)
        self.net = Net(router_mac)
        self.resolver = Host(router_mac, resolver)
        self.ports = {}
        self.interactions = []
        self.dns_id = 0x2a00

    def phase_of(self, rel):
        idx = 0
        for i, (start, _) in enumerate(self.starts):
            if rel >= start:
                idx = i
        return idx

    def port(self, dev):
        """The device's next ephemeral port (Linux's range, 32768-60999, wrapping around)."""
        nxt = self.ports.get(dev, 40000 + self.rng.randrange(0, 20000, 7)) + self.rng.randrange(1, 9)
        self.ports[dev] = nxt if nxt <= 60999 else 32768 + nxt - 61000
        return self.ports[dev]

    def tcp(self, dev, server_ip, sport=443, service=None, host=None, evidence=None, rtt=0.030, cport=None,
            peer=None):
        """A TCP connection from dev to server_ip (beyond the router), or to `peer`, a Host on the LAN."""
        srv = peer or Host(None, server_ip)
        service, host, evidence = lan_truth(srv.ip, service, host, evidence)
        flow = self.cap.flow("tcp", dev.ip, cport or self.port(dev), srv.ip, sport, service, host, evidence)
        return TcpConn(self.cap, self.net, self.rng, flow, dev, srv, rtt=rtt)

    def udp(self, dev, server, sport, cport=None, service=None, host=None, evidence=None):
        service, host, evidence = lan_truth(server.ip, service, host, evidence)
        flow = self.cap.flow("udp", dev.ip, cport or self.port(dev), server.ip, sport, service, host, evidence)
        return UdpConn(self.cap, self.net, flow, dev, server)

    def dns(self, t, dev, name, answers, qtype=None, resolver=None):
        """A lookup by dev: query at t, answer 18 ms later. answers: [(owner, type, value)]."""
        res = resolver or self.resolver
        qtype = qtype or (28 if dev.ip.version == 6 else 1)
        self.dns_id += 7
        conn = self.udp(dev, res, 53)
        conn.send(t, True, dns_message(self.dns_id, name, qtype))
        conn.send(t + 0.018, False, dns_message(self.dns_id, name, qtype, answers))
        return t + 0.019

    def ntp(self, t, dev, server_ip):
        conn = self.udp(dev, Host(None, server_ip), 123, cport=123, service="time", host="ntp-g7g.amazon.com",
                        evidence="dns")
        conn.send(t, True, ntp_packet(self.rng, 3))
        conn.send(t + 0.041, False, ntp_packet(self.rng, 4))

    def https(self, t, dev, server_ip, truth, sni=None, certs=(), up=600, down=800, tls13=False, alpn=None,
              resume=None, rate=None, close=True, rtt=0.030, retransmit=(), reorder=()):
        """A whole HTTPS exchange: handshake (full TLS 1.2, resumed, or TLS 1.3), one request of
        `up` bytes, one response of `down` bytes, close. Returns (end time, connection)."""
        conn = self.tcp(dev, server_ip, 443, *truth, rtt=rtt)
        t = conn.open(t)
        if tls13:
            t = tls13_handshake(conn, self.rng, t, sni, alpn=alpn)
        elif resume is not None:
            t = tls_resumed_handshake(conn, self.rng, t, sni, resume)
        else:
            t = tls_full_handshake(conn, self.rng, t, sni, certs, alpn=alpn, session_id=self.rng.randbytes(32))
        t = conn.send(t + 0.001, True, app_data(self.rng, up))
        t = conn.send(t + 0.010, False, app_data(self.rng, down), rate=rate, retransmit=retransmit, reorder=reorder)
        if close:
            t = conn.close(t + 0.050)
        return t, conn

    def http(self, t, dev, server_ip, truth, host_header, path, body):
        conn = self.tcp(dev, server_ip, 80, *truth, rtt=0.025)
        t = conn.open(t)
        t = conn.send(t + 0.001, True, http_request(host_header, path))
        t = conn.send(t + 0.005, False, http_response(body))
        return conn.close(t + 0.005)

    def speak(self, conn, t, seconds):
        """Audio upload on the AVS connection: a Recognize event, then one frame per 100 ms."""
        t0 = t
        conn.send(t, True, app_data(self.rng, 1180))
        for i in range(int(round(seconds * 10))):
            conn.send(t0 + 0.02 + 0.1 * i, True, app_data(self.rng, AUDIO_CHUNK - 5))
        return t0 + 0.02 + seconds

    def answer(self, conn, t, audio_bytes):
        """Directives (JSON) then the spoken answer (MP3) on the AVS connection."""
        t = conn.send(t, False, app_data(self.rng, 1900))
        return conn.send(t + 0.01, False, app_data(self.rng, audio_bytes))

    def ping(self, conn, t):
        """HTTP/2 PING on the AVS connection and its PONG (17 bytes + TLS overhead each)."""
        conn.send(t, True, app_data(self.rng, 17 + 16))
        return conn.send(t + conn.rtt, False, app_data(self.rng, 17 + 16))

    def speak_opus(self, conn, t, seconds):
        """Audio as a real Echo streams it: a Recognize event, then one small TLS record (Opus
        frames in an HTTP/2 DATA frame) of 400-500 B every 40-50 ms. Returns the time of the last
        audio record."""
        conn.send(t, True, app_data(self.rng, 1180))
        at, last = t + 0.02, t
        while at < t + 0.02 + seconds:
            conn.send(at, True, app_data(self.rng, 400 + self.rng.randrange(101) - 5))
            last = at
            at += 0.040 + self.rng.randrange(11) / 1000
        return last

    def answer_chunks(self, conn, t, chunks, pause):
        """A long answer read out piece by piece: directives, then each chunk of speech (MP3) a
        `pause` after the one before. Returns when the last chunk is downloaded."""
        t = conn.send(t, False, app_data(self.rng, 1900))
        for i, size in enumerate(chunks):
            t = conn.send(t + (0.01 if i == 0 else pause), False, app_data(self.rng, size))
        return t

    def event_burst(self, conn, t, messages=3):
        """What a real Echo uploads about 5 s after most answers: three ~5 kB HTTP/2 messages
        (events, no audio-sized records) within 0.3 s, each answered with a ~130 B reply."""
        for i in range(messages):
            end = conn.send(t + 0.12 * i, True, app_data(self.rng, 4800 + self.rng.randrange(400)))
            conn.send(end + 0.004, False, app_data(self.rng, 125 + self.rng.randrange(10)))
        return end + 0.004

    def write_truth(self, path, made_by):
        self.cap.close()
        t_first = self.cap.t_first / 1e6
        duration = max(f.last for f in self.cap.flows if f.last is not None) / 1e6 - t_first
        phases = []
        for i, (start, label) in enumerate(self.starts):
            end = self.starts[i + 1][0] if i + 1 < len(self.starts) else round(duration, 6)
            phases.append({"index": i, "label": label, "start": start, "end": end})
        stats = [{"phase_index": k[0], "phase": self.starts[k[0]][1], "device": k[1], "service": k[2],
                  "dir": k[3], "bytes": v[0], "packets": v[1]} for k, v in sorted(self.cap.stats.items())]
        truth = {"capture": pathlib.Path(path).name.replace(".truth.json", ".pcapng"), "made_by": made_by,
                 "seed": self.seed, "first_packet": t_first, "schedule": self.schedule, "phases": phases,
                 "interactions": self.interactions,
                 "flows": [{**f.truth(), **getattr(f, "tls", {}),
                            **({"traffic_from": f.traffic_from} if hasattr(f, "traffic_from") else {})}
                           for f in self.cap.flows if f.first is not None],
                 "stats": stats, "packets": self.cap.packets}
        if hasattr(self, "devices"):
            truth["devices"] = self.devices
        if hasattr(self, "expected_verdicts"):
            truth["expected_verdicts"] = self.expected_verdicts
        pathlib.Path(path).write_text(json.dumps(truth, indent=1) + "\n")


def parse_schedule(text):
    out = []
    for entry in text.split(";"):
        start, label = entry.split()
        out.append((float(start), label))
    return out


# --- scenarios ---------------------------------------------------------------------------------

ECHO_MAC = "f0:27:2d:5c:71:a4"          # Amazon Technologies OUI (Echo Dot)
LAPTOP_MAC = "3c:a9:f4:20:8e:15"        # Intel OUI
AVS_IP, AVS2_IP = "52.94.233.10", "52.94.233.27"
METRICS_IP, UNAGI_IP, API_IP, DPGW_IP = "52.46.133.20", "52.46.155.70", "54.239.22.10", "52.94.210.5"
SPECTRUM_IP, NTP_IP, CDN_IP = "52.216.170.12", "52.119.170.30", "13.224.5.80"
AMAZON_WWW_IP, EXAMPLE_IP = "54.239.28.85", "93.184.216.34"

AVS_HOST = "avs-alexa-4-na.amazon.com"
# A CloudFront host of downloads (d3p8zr0ffa9t17.cloudfront.net answers the reachability probe).
OTA_HOST = "dvi8md6049w6b.cloudfront.net"
PROBE_HOST = "d3p8zr0ffa9t17.cloudfront.net"
AVS = ("avs", AVS_HOST, "dns")
SESSION_UNAGI = bytes(range(0x40, 0x60))


def unagi(w, t, dev, ip=UNAGI_IP):
    """The frequent short metrics connections: resumed TLS 1.2 sessions, SNI, no certificate."""
    return w.https(t, dev, ip, ("metrics", "unagi-na.amazon.com", "sni"), sni="unagi-na.amazon.com",
                   resume=SESSION_UNAGI, up=1100 + w.rng.randrange(200), down=240)[0]


def echo_study(path):
    """The study's script: 8 s silence, "what time is it?", 8 s silence, "tea, earl grey, hot",
    23 s of conversation without the wake word; an OTA-style CDN download during the conversation
    and a laptop in the same capture."""
    w = World(path, seed=1, schedule="0 silence; 8 query; 14 silence; 22 command; 27 conversation")
    echo = Host(ECHO_MAC, "192.168.1.20")
    laptop = Host(LAPTOP_MAC, "192.168.1.30")
    T = T0

    # The AVS connection began before the capture: no handshake; its DNS answer comes later.
    avs = w.tcp(echo, AVS_IP, 443, *AVS)
    w.ping(avs, T + 0.0)
    w.dns(T + 0.8, echo, "spectrum.s3.amazonaws.com", [("spectrum.s3.amazonaws.com", 1, SPECTRUM_IP)])
    w.http(T + 1.0, echo, SPECTRUM_IP, ("connectivity", "spectrum.s3.amazonaws.com", "http-host"),
           "spectrum.s3.amazonaws.com", "/kindle-wifi/wifistub.html", b"81ce4465-7167-4dcb-835b-dcc9e44c112a\n")
    w.dns(T + 1.5, echo, AVS_HOST, [(AVS_HOST, 1, AVS_IP)])
    w.dns(T + 2.0, echo, "ntp-g7g.amazon.com", [("ntp-g7g.amazon.com", 1, NTP_IP)])
    w.ntp(T + 2.1, echo, NTP_IP)
    w.dns(T + 3.0, laptop, "www.example.org", [("www.example.org", 1, EXAMPLE_IP)])
    w.https(T + 3.1, laptop, EXAMPLE_IP, (None, "www.example.org", "sni"), sni="www.example.org",
            certs=[CERTS["example"]], up=520, down=12400, rtt=0.090)
    w.dns(T + 4.9, echo, "device-metrics-us.amazon.com", [("device-metrics-us.amazon.com", 1, METRICS_IP)])
    w.https(T + 5.0, echo, METRICS_IP, ("metrics", "device-metrics-us.amazon.com", "sni"),
            sni="device-metrics-us.amazon.com", certs=[CERTS["metrics"]], up=4200, down=410)
    w.dns(T + 6.4, echo, "unagi-na.amazon.com", [("unagi-na.amazon.com", 1, UNAGI_IP)])
    unagi(w, T + 6.5, echo)

    # "Alexa, what time is it?" on the AVS connection.
    end = w.speak(avs, T + 8.3, 2.0)
    end = w.answer(avs, end + 0.3, 18400)
    w.interactions.append({"device": str(echo.ip), "label": "query", "start": 8.3, "end": round(end - T, 3)})
    w.dns(T + 11.9, echo, "api.amazonalexa.com", [("api.amazonalexa.com", 1, API_IP)])
    w.https(T + 12.0, echo, API_IP, ("api", "api.amazonalexa.com", "sni"), sni="api.amazonalexa.com",
            tls13=True, up=900, down=1500)
    avs.send(T + 13.4, True, app_data(w.rng, 700))        # SpeechFinished event
    avs.send(T + 13.45, False, app_data(w.rng, 200))

    unagi(w, T + 16.0, echo)
    w.ping(avs, T + 18.0)

    # "Alexa, tea, earl grey, hot": the answer, then an event on a new AVS connection without SNI,
    # named only by its certificate.
    end = w.speak(avs, T + 22.4, 1.6)
    end = w.answer(avs, end + 0.3, 12300)
    end, _ = w.https(end + 0.1, echo, AVS2_IP, ("avs", "bob-dispatch-prod-na.amazon.com", "cert"),
                     certs=[CERTS["avs"]], alpn=["h2"], up=2500, down=1000)
    w.interactions.append({"device": str(echo.ip), "label": "command", "start": 22.4, "end": round(end - T, 3)})
    unagi(w, T + 26.0, echo)

    # Conversation without the wake word; a firmware-style download runs meanwhile.
    w.dns(T + 27.9, echo, "softwareupdates.amazon.com",
          [("softwareupdates.amazon.com", 5, OTA_HOST), (OTA_HOST, 1, CDN_IP)])
    w.https(T + 28.0, echo, CDN_IP, ("cdn", OTA_HOST, "sni"), sni=OTA_HOST, certs=[CERTS["cloudfront"]], up=420, down=2_000_000,
            rate=140_000, rtt=0.012, retransmit=(211, 887), reorder=(540, 1203))
    w.ping(avs, T + 30.0)
    w.dns(T + 32.9, laptop, "www.amazon.com", [("www.amazon.com", 5, "tp.47cf2c8c9-frontier.amazon.com"),
                                              ("tp.47cf2c8c9-frontier.amazon.com", 1, AMAZON_WWW_IP)])
    w.https(T + 33.0, laptop, AMAZON_WWW_IP, ("amazon", "www.amazon.com", "sni"), sni="www.amazon.com",
            tls13=True, alpn=["h2", "http/1.1"], up=1400, down=61000, rtt=0.020)
    w.https(T + 35.0, echo, METRICS_IP, ("metrics", "device-metrics-us.amazon.com", "cert"),
            certs=[CERTS["metrics"]], up=6100, down=410)
    w.https(T + 38.0, echo, DPGW_IP, ("api", "dp-gw-na.amazon.com", "cert"), certs=[CERTS["dpgw"]],
            up=1500, down=2100)
    unagi(w, T + 40.0, echo)
    unagi(w, T + 46.5, echo)
    w.ping(avs, T + 48.0)
    avs.send(T + 49.9, False, app_data(w.rng, 90))
    w.write_truth(str(path).replace(".pcapng", ".truth.json"), "captures/generate.py echo-study")


def multi_speaker(path):
    """Two Echos and a phone running the Alexa app; no schedule. The second Echo's AVS connection
    is older than the capture and never named (no DNS): only its upload shape shows the command,
    beside an unnamed download whose acknowledgements are upload too."""
    w = World(path, seed=2)
    dot = Host(ECHO_MAC, "192.168.1.20")
    show = Host("74:c2:46:0b:33:9e", "192.168.1.21")     # Amazon OUI (Echo Show)
    phone = Host("8c:f5:a3:61:07:d2", "192.168.1.40")    # Samsung OUI
    T = T0
    avs_dot = w.tcp(dot, AVS_IP, 443, *AVS)
    # No name anywhere: its speech and the answers after it make it the voice connection.
    avs_show = w.tcp(show, "52.94.232.71", 443, "avs", None, "traffic")
    w.ping(avs_dot, T + 0.0)
    w.ping(avs_show, T + 0.4)
    w.dns(T + 0.9, dot, AVS_HOST, [(AVS_HOST, 1, AVS_IP)])
    for t in (3.0, 17.0, 31.0, 44.0, 58.0):
        unagi(w, T + t, dot)
        unagi(w, T + t + 2.5, show, ip="52.46.155.71")
    w.dns(T + 5.0, phone, "pitangui.amazon.com", [("pitangui.amazon.com", 1, "52.94.225.112")])
    w.https(T + 5.1, phone, "52.94.225.112", ("amazon", "pitangui.amazon.com", "sni"), sni="pitangui.amazon.com",
            tls13=True, up=2300, down=18000)
    # The app calls the Alexa API: a speaker service, but the phone is not a speaker.
    w.https(T + 8.0, phone, API_IP, ("amazon", "api.amazonalexa.com", "sni"), sni="api.amazonalexa.com",
            tls13=True, up=800, down=3100)
    w.https(T + 10.0, show, METRICS_IP, ("metrics", "device-metrics-us.amazon.com", "cert"),
            certs=[CERTS["metrics"]], up=5200, down=410)
    # The Show hears its wake word at 20 s, the Dot at 45 s.
    end = w.speak(avs_show, T + 20.0, 2.2)
    end = w.answer(avs_show, end + 0.4, 24000)
    w.interactions.append({"device": str(show.ip), "label": "interaction", "start": 20.0, "end": round(end - T, 3)})
    w.ping(avs_dot, T + 30.0)
    w.ping(avs_show, T + 33.0)
    # An unnamed download to the Show (it began before the capture): its stream of ACKs is upload
    # on the Show's voice path (untagged flows), and must not look like a command.
    dl = w.tcp(show, "13.224.9.41", 443, rtt=0.012)
    dl.send(T + 34.0, False, app_data(w.rng, 1_500_000), rate=250_000)
    end = w.speak(avs_dot, T + 45.0, 1.8)
    end = w.answer(avs_dot, end + 0.3, 15000)
    w.interactions.append({"device": str(dot.ip), "label": "interaction", "start": 45.0, "end": round(end - T, 3)})
    w.ping(avs_dot, T + 62.0)
    w.ping(avs_show, T + 63.0)
    avs_show.send(T + 69.5, False, app_data(w.rng, 90))
    w.write_truth(str(path).replace(".pcapng", ".truth.json"), "captures/generate.py multi-speaker")


def ipv6(path):
    """An Echo on IPv6: DNS over IPv6 (AAAA), the AVS connection, metrics, a TLS 1.3 CDN fetch."""
    w = World(path, seed=3, schedule="0 idle; 10 query; 20 idle", resolver="2001:db8:1::1")
    echo = Host(ECHO_MAC, "2001:db8:1::20")
    T = T0
    avs6, metrics6, cdn6 = "2001:db8:ffff::a5", "2001:db8:ffff::3e", "2001:db8:ffff::cd"
    avs = w.tcp(echo, avs6, 443, *AVS)
    w.ping(avs, T + 0.0)
    w.dns(T + 0.5, echo, AVS_HOST, [(AVS_HOST, 28, avs6)])
    w.dns(T + 2.0, echo, "device-metrics-us.amazon.com", [("device-metrics-us.amazon.com", 28, metrics6)])
    w.https(T + 2.1, echo, metrics6, ("metrics", "device-metrics-us.amazon.com", "sni"),
            sni="device-metrics-us.amazon.com", certs=[CERTS["metrics"]], up=3000, down=410)
    end = w.speak(avs, T + 11.0, 1.5)
    end = w.answer(avs, end + 0.3, 9000)
    w.interactions.append({"device": str(echo.ip), "label": "query", "start": 11.0, "end": round(end - T, 3)})
    w.https(T + 15.0, echo, cdn6, ("cdn", "dvi8md6049w6b.cloudfront.net", "sni"), sni="dvi8md6049w6b.cloudfront.net",
            tls13=True, up=400, down=150_000, rate=400_000, retransmit=(40,), reorder=(70,))
    w.ping(avs, T + 25.0)
    w.write_truth(str(path).replace(".pcapng", ".truth.json"), "captures/generate.py ipv6")


def cut_midflow(path):
    """A capture started late: every flow is already running (no SYN, no handshake, no DNS). The
    AVS connection is named only because a new connection to the same server address carries SNI."""
    w = World(path, seed=4)
    echo = Host(ECHO_MAC, "192.168.1.20")
    T = T0
    avs = w.tcp(echo, AVS_IP, 443, "avs", AVS_HOST, "same-ip")
    w.ping(avs, T + 0.0)
    metrics = w.tcp(echo, UNAGI_IP, 443)                     # nothing names it
    metrics.send(T + 0.5, True, app_data(w.rng, 800))
    metrics.send(T + 0.6, False, app_data(w.rng, 200))
    metrics.close(T + 0.8)
    cdn = w.tcp(echo, CDN_IP, 443, rtt=0.012)                # a download already half done
    cdn.send(T + 1.0, False, app_data(w.rng, 400_000), rate=300_000)
    end = w.speak(avs, T + 4.0, 1.5)
    w.answer(avs, end + 0.3, 8000)
    w.https(T + 9.0, echo, AVS_IP, ("avs", AVS_HOST, "sni"), sni=AVS_HOST, alpn=["h2"],
            certs=[CERTS["avs"]], up=1200, down=900)
    w.ping(avs, T + 12.0)
    w.write_truth(str(path).replace(".pcapng", ".truth.json"), "captures/generate.py cut-midflow")


def hostile(path):
    """Malformed and hostile handshakes, each on its own flow and server address."""
    w = World(path, seed=5)
    echo = Host(ECHO_MAC, "192.168.1.20")
    T = T0
    t = T

    def tls_hello_only(sni, truth, ip):
        nonlocal t
        conn = w.tcp(echo, ip, 443, *truth)
        end = conn.open(t)
        end = conn.send(end, True, client_hello(w.rng, sni))
        conn.reset(end + 0.05, by_client=False)
        t += 0.5

    # A ClientHello cut short: the record promises 512 bytes, 90 arrive, then the client gives up.
    conn = w.tcp(echo, "198.51.100.1", 443)
    end = conn.open(t)
    hello = client_hello(w.rng, AVS_HOST)
    end = conn.send(end, True, hello[:5 - 2] + (512).to_bytes(2, "big") + hello[5:90])
    conn.close(end + 0.1)
    t += 0.5
    # Names that are not host names are ignored (echotap.evidence.bad_name).
    tls_hello_only("a" * 70 + ".amazon.com", (), "198.51.100.2")              # label over 63
    tls_hello_only(".".join(["x" * 60] * 5) + ".amazon.com", (), "198.51.100.3")   # over 253
    tls_hello_only(b"avs-alexa-1-na.amazon.com\r\nX-Evil: 1", (), "198.51.100.4")
    tls_hello_only("b\u00fccher.amazon.com".encode(), (), "198.51.100.5")   # raw UTF-8, not an A-label
    tls_hello_only("xn--bcher-kva.amazon.com", ("amazon", "xn--bcher-kva.amazon.com", "sni"), "198.51.100.6")
    tls_hello_only("AVS-ALEXA-7-NA.Amazon.COM.", ("avs", "avs-alexa-7-na.amazon.com", "sni"), "198.51.100.7")
    # 401 SANs, the AVS name last; no SNI.
    w.https(t, echo, "198.51.100.8", ("avs", "avs-alexa-7-na.amazon.com", "cert"), certs=[CERTS["many-sans"]])
    t += 1.0
    # SNI and certificate disagree: the SNI stands (echotap.evidence.mismatch).
    w.https(t, echo, "198.51.100.9", ("metrics", "unagi-na.amazon.com", "sni"), sni="unagi-na.amazon.com",
            certs=[CERTS["example"]])
    t += 1.0
    # A CN that is not a host name and no SAN: nothing names the flow.
    w.https(t, echo, "198.51.100.10", (), certs=[CERTS["odd-cn"]])
    t += 1.0
    # A CNAME loop beside an address: the name asked for is the flow's host.
    w.dns(t, echo, "loop-a.example.net", [("loop-a.example.net", 5, "loop-b.example.net"),
                                          ("loop-b.example.net", 5, "loop-a.example.net"),
                                          ("loop-b.example.net", 1, "198.51.100.11")])
    w.https(t + 0.1, echo, "198.51.100.11", (None, "loop-a.example.net", "dns"), up=300, down=300)
    t += 1.0
    # A Host header with a port; the port is not part of the name.
    w.http(t, echo, "198.51.100.12", ("connectivity", "spectrum.s3.amazonaws.com", "http-host"),
           "SPECTRUM.s3.amazonaws.com:80", "/kindle-wifi/wifistub.html", b"ok\n")
    w.write_truth(str(path).replace(".pcapng", ".truth.json"), "captures/generate.py hostile")


def rejected_handshake(w, t, dev, server_ip, truth, sni, certs, issuer, alert=48):
    """A TLS 1.2 handshake whose server certificate the device rejects: it answers the server's
    flight with a fatal alert (48 unknown_ca) in the clear and closes. Returns the end time."""
    conn = w.tcp(dev, server_ip, 443, *truth)
    t = conn.open(t)
    t = conn.send(t, True, client_hello(w.rng, sni))
    flight = record(22, server_hello(w.rng, w.rng.randbytes(32)) + certificate(list(certs)) +
                    server_key_exchange(w.rng) + handshake(14, b""))
    t = conn.send(t + 0.002, False, flight)
    t = conn.send(t + 0.003, True, record(21, bytes([2, alert])))
    conn.flow.tls = {"tls_rejected": alert, "tls_issuer": issuer}
    return conn.close(t + 0.002)


def intercepted(path):
    """An Echo behind a man-in-the-middle proxy (mitmproxy style): its reachability probe, an SSDP
    search (HTTP Host an IP literal), two connections to api.amazonalexa.com that get a certificate
    forged by the proxy's CA and are rejected with unknown_ca, then, the proxy gone, one that gets
    the API's own certificate and completes."""
    w = World(path, seed=7)
    echo = Host(ECHO_MAC, "192.168.1.20")
    T = T0
    probe_ip = "13.224.5.81"
    w.dns(T + 0.0, echo, PROBE_HOST, [(PROBE_HOST, 1, probe_ip)])
    w.http(T + 0.1, echo, probe_ip, ("connectivity", PROBE_HOST, "http-host"), PROBE_HOST, "/HTTPConnTest.txt",
           b"HTTPConnTest\n")
    ssdp = w.udp(echo, Host(None, "239.255.255.250"), 1900)             # local, nothing names it
    ssdp.send(T + 0.5, True, b'M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\n'
                             b"MX: 1\r\nST: ssdp:all\r\n\r\n")
    w.dns(T + 1.0, echo, "api.amazonalexa.com", [("api.amazonalexa.com", 1, API_IP)])
    api = ("api", "api.amazonalexa.com", "sni")
    end = rejected_handshake(w, T + 1.1, echo, API_IP, api, "api.amazonalexa.com", [CERTS["forged-api"]], "mitmproxy")
    rejected_handshake(w, end + 2.0, echo, API_IP, api, "api.amazonalexa.com", [CERTS["forged-api"]], "mitmproxy")
    _, conn = w.https(T + 8.0, echo, API_IP, api, sni="api.amazonalexa.com", certs=[CERTS["api"]], up=900, down=1500)
    conn.flow.tls = {"tls_rejected": None, "tls_issuer": "Amazon RSA 2048 M01"}
    w.write_truth(str(path).replace(".pcapng", ".truth.json"), "captures/generate.py intercepted")


OLD_AVS_IP = "52.46.141.30"       # the Echo's AVS connection from before the capture: never named


def sent_up(conn):
    """The device's next sequence number on conn: differences are the TCP payload bytes it sent
    in between (what speech detection counts)."""
    return conn.seq[True]


def real_shapes(path):
    """What real Echo traffic does (../shared/real-captures/README.md), with automatic phases:
    the voice travels on an AVS connection older than the capture that nothing names; a second
    AVS connection opens with a full handshake (certificate bob-dispatch-prod-na) while the old one
    keeps carrying the voice; ~15 kB event bursts follow the answers by about 5 s; a multi-turn
    dialog; a long answer read out in chunks; an unnamed download whose only upload is ACKs; the
    capture stops inside an event burst. Speech both as a real Echo streams it (small Opus records
    every 40-50 ms) and as 16 kHz PCM frames every 100 ms."""
    w = World(path, seed=8)
    echo = Host(ECHO_MAC, "192.168.1.20")
    T = T0
    dev = str(echo.ip)

    def interaction(label, start, end, speech):
        w.interactions.append({"device": dev, "label": label, "start": round(start - T, 3),
                               "end": round(end - T, 3), "speech_bytes": speech})

    # 1. The AVS connection began before the capture: no handshake, no DNS answer for its server.
    #    Its speech answered by the server makes it avs by traffic.
    old = w.tcp(echo, OLD_AVS_IP, 443, "avs", None, "traffic")
    old.flow.traffic_from = None
    w.ping(old, T + 0.0)
    w.dns(T + 0.6, echo, "unagi-na.amazon.com", [("unagi-na.amazon.com", 1, UNAGI_IP)])
    unagi(w, T + 0.7, echo)
    w.dns(T + 1.9, echo, "device-metrics-us.amazon.com", [("device-metrics-us.amazon.com", 1, METRICS_IP)])
    w.https(T + 2.0, echo, METRICS_IP, ("metrics", "device-metrics-us.amazon.com", "sni"),
            sni="device-metrics-us.amazon.com", certs=[CERTS["metrics"]], up=4400, down=410)

    # A command streamed as Opus on the old connection; the answer; 5 s later an event burst (3).
    start, sent = T + 4.0, sent_up(old)
    end = w.speak_opus(old, start, 3.0)
    speech = sent_up(old) - sent
    old.flow.traffic_from = round(end + 0.3 - T, 6)       # the answer's first packet: speech answered
    end = w.answer(old, end + 0.3, 20000)
    interaction("opus command", start, end, speech)
    unagi(w, T + 8.5, echo)
    w.event_burst(old, end + 5.0)

    # 2. A second AVS connection opens: DNS for avs-alexa-4-na, then a full TLS 1.2 handshake
    #    without SNI whose certificate names bob-dispatch-prod-na; it carries an event and pings.
    w.dns(T + 14.0, echo, AVS_HOST, [(AVS_HOST, 1, AVS2_IP)])
    new = w.tcp(echo, AVS2_IP, 443, "avs", "bob-dispatch-prod-na.amazon.com", "cert")
    t = tls_full_handshake(new, w.rng, new.open(T + 14.1), None, [CERTS["avs"]], alpn=["h2"],
                           session_id=w.rng.randbytes(32))
    t = new.send(t + 0.001, True, app_data(w.rng, 1800))            # SynchronizeState
    new.send(t + 0.05, False, app_data(w.rng, 600))

    # 4. A multi-turn dialog on the old connection: a question (PCM), its answer, the follow-up
    #    turn 0.6 s after the answer ends (Opus), its answer: one interaction.
    start, sent = T + 18.0, sent_up(old)
    end = w.speak(old, start, 2.0)
    end = w.answer(old, end + 0.3, 14000)
    unagi(w, T + 19.0, echo)
    end = w.speak_opus(old, end + 0.6, 2.7)
    speech = sent_up(old) - sent                           # both turns (only ACKs go up in between)
    end = w.answer(old, end + 0.3, 9000)
    interaction("dialog", start, end, speech)
    w.ping(new, T + 26.0)
    w.event_burst(old, end + 5.2)

    # A long answer read out in five chunks, 1.5 s apart: one interaction ending at its last chunk.
    start, sent = T + 33.0, sent_up(old)
    end = w.speak_opus(old, start, 2.8)
    speech = sent_up(old) - sent
    end = w.answer_chunks(old, end + 0.3, [9000, 8500, 9200, 8800, 7600], 1.5)
    interaction("long answer", start, end, speech)
    w.event_burst(old, end + 4.9)

    # 5. An unnamed download (begun before the capture): the Echo's only upload on it is ACKs,
    #    every 100 ms bin for 3 s, on the voice path.
    dl = w.tcp(echo, "13.224.9.41", 443, rtt=0.012)
    dl.send(T + 50.0, False, app_data(w.rng, 300_000), rate=100_000)
    w.ping(old, T + 52.0)
    w.ping(new, T + 54.0)
    unagi(w, T + 55.0, echo)

    # 6. A last command; the capture stops inside the event burst that follows its answer.
    start, sent = T + 58.0, sent_up(old)
    end = w.speak_opus(old, start, 2.6)
    speech = sent_up(old) - sent
    end = w.answer(old, end + 0.3, 16000)
    interaction("last command", start, end, speech)
    burst = end + 5.0
    w.event_burst(old, burst)
    w.cap.stop_at(us(burst + 0.13))          # after the second message, before its ACK, reply and the third
    # Automatic phases: idle, then each interaction and the idle after it; nothing is flagged.
    w.expected_verdicts = [{"device": dev, "phase_index": 0, "phase": "idle", "verdict": "ok"}]
    for it in w.interactions:
        for label, verdict in (("interaction", "wake word"), ("idle", "ok")):
            w.expected_verdicts.append({"device": dev, "phase_index": len(w.expected_verdicts), "phase": label,
                                        "verdict": verdict})
    w.write_truth(str(path).replace(".pcapng", ".truth.json"), "captures/generate.py real-shapes")


def covert(path):
    """A schedule like the study's, and a speaker that streams speech without a wake word: in the
    `silence` after a command, only its post-answer event burst (ok); in a later `silence`, 4 s of
    speech-shaped upload (Opus records) on its voice connection with no command before it and no
    answer after it (UPLOAD WITHOUT WAKE WORD). Automatic phases see that upload as speech too."""
    w = World(path, seed=9, schedule="0 silence; 8 command; 14 silence; 28 query; 34 silence; 52 command")
    echo = Host(ECHO_MAC, "192.168.1.20")
    T = T0
    dev = str(echo.ip)
    avs = w.tcp(echo, AVS_IP, 443, *AVS)        # older than the capture, named by a later DNS answer
    w.ping(avs, T + 0.0)
    w.dns(T + 0.5, echo, AVS_HOST, [(AVS_HOST, 1, AVS_IP)])
    w.dns(T + 0.9, echo, "unagi-na.amazon.com", [("unagi-na.amazon.com", 1, UNAGI_IP)])
    unagi(w, T + 1.0, echo)
    w.https(T + 3.0, echo, METRICS_IP, ("metrics", "device-metrics-us.amazon.com", "cert"),
            certs=[CERTS["metrics"]], up=5000, down=410)
    w.ping(avs, T + 6.0)

    def interaction(label, start, end, sent, **extra):
        w.interactions.append({"device": dev, "label": label, "start": round(start - T, 3),
                               "end": round(end - T, 3), "speech_bytes": sent_up(avs) - sent, **extra})

    start, sent = T + 8.4, sent_up(avs)          # command (wake word)
    end = w.speak_opus(avs, start, 2.6)
    interaction("command", start, w.answer(avs, end + 0.3, 16000), sent)
    w.event_burst(avs, end + 5.0)                # in the silence that follows: not speech
    unagi(w, T + 20.0, echo)
    w.ping(avs, T + 24.0)

    start, sent = T + 28.5, sent_up(avs)         # query (wake word), PCM frames
    end = w.speak(avs, start, 2.0)
    end = w.answer(avs, end + 0.3, 12000)
    interaction("query", start, end, sent)
    w.event_burst(avs, end + 5.0)                # in the next silence, before the covert upload

    start, sent = T + 40.0, sent_up(avs)         # silence: speech-shaped upload, no command, no answer
    end = w.speak_opus(avs, start, 4.0)
    interaction("covert", start, end, sent, wake_word=False)
    unagi(w, T + 47.0, echo)
    w.ping(avs, T + 50.0)

    start, sent = T + 52.5, sent_up(avs)         # command (wake word)
    end = w.speak_opus(avs, start, 2.6)
    end = w.answer(avs, end + 0.3, 15000)
    interaction("command", start, end, sent)
    w.ping(avs, T + 57.5)
    w.expected_verdicts = [{"device": dev, "phase_index": i, "phase": label, "verdict": v} for i, (label, v) in
                           enumerate([("silence", "ok"), ("command", "wake word"), ("silence", "ok"),
                                      ("query", "wake word"), ("silence", "UPLOAD WITHOUT WAKE WORD"),
                                      ("command", "wake word")])]
    w.write_truth(str(path).replace(".pcapng", ".truth.json"), "captures/generate.py covert")


# --- other speakers (issue 21): true shapes, public sources in captures/README.md -------------------

MDNS = Host("01:00:5e:00:00:fb", "224.0.0.251")
APPLE_GUZZONI_IP = "17.57.146.20"        # Apple's 17.0.0.0/8
GOOGLE_WWW_IP, GOOGLE_WWW2_IP = "142.250.185.100", "142.250.185.132"


def device(addr, speaker, assistant, model=None):
    return {"address": str(addr.ip), "speaker": speaker, "assistant": assistant, "model": model}


def mdns(w, t, dev, records):
    """An mDNS response from dev (UDP 5353 to 224.0.0.251:5353): one flow per device, whose
    client is its sender (equal ports: the first packet's sender)."""
    flows = w.__dict__.setdefault("mdns_flows", {})
    if dev not in flows:
        flows[dev] = w.udp(dev, MDNS, 5353, cport=5353)
    flows[dev].send(t, True, mdns_response(records))


def speech_entry(w, dev, label, start, end, first, last, sent_bytes):
    """An interaction of the truth: first and last are the times of its first and last speech
    upload records (speech_s is their span)."""
    w.interactions.append({"device": str(dev.ip), "label": label, "start": round(start - T0, 3),
                           "end": round(end - T0, 3), "speech_s": round(last - first, 3),
                           "speech_bytes": sent_bytes})


def speak_pcm_records(w, conn, t, seconds, record=1100, every=0.031):
    """16 kHz 16-bit PCM as an Echo Dot 3 streams it: a TLS record of `record` bytes every
    `every` s (1024 B of audio + HTTP/2 and TLS framing): three records, 3.3 kB, in most 100 ms
    bins and four, 4.4 kB, in every 4th-5th. Returns the time of the last record."""
    at, last = t, t
    while at < t + seconds:
        conn.send(at, True, app_data(w.rng, record - 5))
        last = at
        at += every
    return last


class Gquic:
    """A gQUIC Q046 connection on UDP 443 as seen beside the client: its CHLO (with SNI) and the
    server's REJ, a second CHLO and the SHLO, then encrypted short-header packets. The server
    acknowledges every second packet a round trip later; the client acknowledges at once."""

    def __init__(self, w, dev, server_ip, truth, rtt=0.025):
        self.w, self.rtt = w, rtt
        service, host, evidence = truth
        self.conn = w.udp(dev, Host(None, server_ip), 443, service=service, host=host, evidence=evidence)
        self.cid = w.rng.randbytes(8)
        self.pkn = {True: 1, False: 1}
        self.unacked = {True: 0, False: 0}

    def _send(self, t, up, n):
        self.conn.send(t, up, gquic_short(self.w.rng, self.cid, self.pkn[up], n, to_server=up))
        self.pkn[up] += 1

    def handshake(self, t, sni):
        rng = self.w.rng
        self.conn.send(t, True, gquic_chlo(rng, self.cid, self.pkn[True], sni))
        self.pkn[True] += 1
        self._send(t + self.rtt, False, 1350)                      # REJ (server config, certificates)
        self._send(t + self.rtt + 0.0004, False, 1180)
        self.conn.send(t + self.rtt + 0.002, True, gquic_chlo(rng, self.cid, self.pkn[True], sni))
        self.pkn[True] += 1
        self._send(t + 2 * self.rtt + 0.002, False, 1200)          # SHLO
        return t + 2 * self.rtt + 0.003

    def data(self, t, up, n):
        """One data packet of n bytes; every second one is acknowledged by the other side."""
        self._send(t, up, n)
        self.unacked[up] += 1
        if self.unacked[up] == 2:
            self.unacked[up] = 0
            self._send(t + (self.rtt if up else 0.0002), not up, 50 + self.w.rng.randrange(12))

    def download(self, t, total, rate, size=1350):
        at = t
        while total > 0:
            self.data(at, False, min(size, total + 30))
            total -= size
            at += size / rate
        return at + 0.0003


def echo_pcm(path):
    """Three Echos (Amazon OUIs), automatic phases. An Echo Dot 3 whose AVS connection began
    before the capture sends nothing at all for 20 s, then ~66 kB of buffered audio in the first
    100 ms, 16 kHz 16-bit PCM for ~5 s, the answer. Two other Echos talk mutual TLS to each other
    on TCP 55443 (self-signed certificates, CN WHALEXA and 0.0.0.0) and UDP 55444; one of them
    speaks once (Opus-like records) on an AVS connection named by DNS."""
    w = World(path, seed=10)
    dot3 = Host("fc:65:de:3a:91:02", "192.168.1.22")         # Amazon OUI (Echo Dot 3)
    echo_b = Host("f0:d2:f1:44:07:be", "192.168.1.23")       # Amazon OUI
    echo_c = Host("44:65:0d:18:c2:5a", "192.168.1.24")       # Amazon OUI
    T = T0
    w.devices = [device(d, True, "alexa") for d in (dot3, echo_b, echo_c)]

    avs_b = w.tcp(echo_b, "52.94.233.41", 443, *AVS)       # older than the capture, named by DNS
    avs_c = w.tcp(echo_c, "52.94.233.42", 443, *AVS)
    w.ping(avs_b, T + 0.0)
    w.ping(avs_c, T + 0.3)
    w.dns(T + 0.6, echo_b, AVS_HOST, [(AVS_HOST, 1, "52.94.233.41")])
    w.dns(T + 0.8, echo_c, AVS_HOST, [(AVS_HOST, 1, "52.94.233.42")])

    # Echo-to-Echo on the LAN: mutual TLS on TCP 55443, each side's own self-signed certificate.
    # The flow's certificate is the server's: CN "0.0.0.0" names nothing (local, lan); WHALEXA
    # is a name no rule matches (local, host whalexa, cert).
    lan = w.tcp(echo_b, str(echo_c.ip), 55443, peer=echo_c, rtt=0.004)
    t = tls_mutual_handshake(lan, w.rng, lan.open(T + 1.0), CERTS["whalexa-zero"], CERTS["whalexa-a"])
    t = lan.send(t + 0.01, True, app_data(w.rng, 640))
    t = lan.send(t + 0.01, False, app_data(w.rng, 380))
    lan.close(t + 0.2)
    lan2 = w.tcp(echo_c, str(echo_b.ip), 55443, "local", "whalexa", "cert", peer=echo_b, rtt=0.004)
    t = tls_mutual_handshake(lan2, w.rng, lan2.open(T + 3.0), CERTS["whalexa-a"], CERTS["whalexa-zero"])
    for k in range(8):                                         # a small message each way every 6 s
        lan2.send(t + 0.05 + 6.0 * k, True, app_data(w.rng, 300 + w.rng.randrange(100)))
        lan2.send(t + 0.06 + 6.0 * k, False, app_data(w.rng, 200 + w.rng.randrange(100)))
    dgram = w.udp(echo_b, echo_c, 55444, cport=55444)          # equal ports: the first sender is the client
    for k in range(10):
        dgram.send(T + 2.0 + 5.0 * k, True, w.rng.randbytes(180 + w.rng.randrange(40)))
        dgram.send(T + 2.004 + 5.0 * k, False, w.rng.randbytes(180 + w.rng.randrange(40)))

    for k, d in enumerate((echo_b, echo_c)):
        w.dns(T + 4.0 + k, d, "unagi-na.amazon.com", [("unagi-na.amazon.com", 1, UNAGI_IP)])
        unagi(w, T + 4.1 + k, d)
        unagi(w, T + 30.0 + k, d)
    w.https(T + 9.0, echo_c, METRICS_IP, ("metrics", "device-metrics-us.amazon.com", "cert"),
            certs=[CERTS["metrics"]], up=5000, down=410)
    w.ping(avs_b, T + 15.0)
    w.ping(avs_c, T + 16.0)

    # The Dot 3: nothing for 20 s, then the buffered audio, PCM, the answer.
    old = w.tcp(dot3, "52.46.141.31", 443, "avs", None, "traffic", rtt=0.040)
    start, sent = T + 20.0, sent_up(old)
    old.send(start, True, app_data(w.rng, 66000))           # MSS-sized segments within ~6 ms
    last = speak_pcm_records(w, old, start + 0.1, 5.0)
    speech = sent_up(old) - sent
    old.flow.traffic_from = round(last + 0.3 - T, 6)
    end = w.answer(old, last + 0.3, 24000)
    speech_entry(w, dot3, "pcm command", start, end, start, last, speech)
    w.dns(T + 27.0, dot3, "unagi-na.amazon.com", [("unagi-na.amazon.com", 1, UNAGI_IP)])
    unagi(w, T + 27.1, dot3)

    # Echo B speaks once, Opus-like records.
    start, sent = T + 40.0, sent_up(avs_b)
    last = w.speak_opus(avs_b, start, 3.0)
    speech = sent_up(avs_b) - sent
    end = w.answer(avs_b, last + 0.3, 18000)
    speech_entry(w, echo_b, "opus command", start, end, start, last, speech)
    w.ping(avs_c, T + 46.0)
    w.ping(avs_b, T + 52.0)
    w.ping(old, T + 54.0)
    w.write_truth(str(path).replace(".pcapng", ".truth.json"), "captures/generate.py echo-pcm")


GUZZONI = "guzzoni.apple.com"


def homepod(path):
    """A HomePod (Apple OUI), told a speaker only by its mDNS TXT model=AudioAccessory1,1: short
    idle guzzoni connections, two Siri activations (Opus-like, then PCM records) on guzzoni with
    SNI, each followed by its answer. Beside it an iPhone (model=iPhone14,2) using Siri, whose
    speech-shaped upload to guzzoni leaves it a non-speaker (apple), and an Apple TV
    (model=AppleTV11,1) opening guzzoni at boot. Automatic phases."""
    w = World(path, seed=11)
    pod = Host("d0:03:4b:6e:20:11", "192.168.1.50")          # Apple OUI (HomePod)
    phone = Host("f0:b3:ec:2a:5d:73", "192.168.1.51")        # Apple OUI (iPhone)
    tv = Host("90:dd:5d:0c:44:e8", "192.168.1.52")           # Apple OUI (Apple TV)
    T = T0
    w.devices = [device(pod, True, "siri", "AudioAccessory1,1"), device(phone, False, None, "iPhone14,2"),
                 device(tv, False, None, "AppleTV11,1")]
    siri = ("siri", GUZZONI, "sni")
    apple = ("apple", GUZZONI, "sni")
    answer = [(GUZZONI, 5, "guzzoni-apple-com.v.aaplimg.com"), ("guzzoni-apple-com.v.aaplimg.com", 1, APPLE_GUZZONI_IP)]

    def airplay(dev, name, model, ip):
        inst = f"{name}._airplay._tcp.local"
        return [("_airplay._tcp.local", 12, inst),
                (inst, 16, [f"model={model}", "deviceid=" + ":".join(f"{b:02X}" for b in dev.mac), "flags=0x18644",
                            "features=0x4A7FDFD5,0x3C155FDE", "srcvers=610.20.41"]),
                (inst, 33, (7000, f"{name.replace(' ', '-')}.local")), (f"{name.replace(' ', '-')}.local", 1, ip)]

    mdns(w, T + 0.0, pod, airplay(pod, "Living Room", "AudioAccessory1,1", str(pod.ip)))
    mdns(w, T + 0.4, tv, airplay(tv, "Bedroom TV", "AppleTV11,1", str(tv.ip)))
    info = "Anna's iPhone._device-info._tcp.local"
    mdns(w, T + 0.7, phone, [("_device-info._tcp.local", 12, info), (info, 16, ["model=iPhone14,2", "osxvers=21"]),
                             ("Annas-iPhone.local", 1, str(phone.ip))])

    # The Apple TV boots: it looks guzzoni up and opens it (a few kB, no speech).
    w.dns(T + 1.0, tv, GUZZONI, answer)
    w.https(T + 1.1, tv, APPLE_GUZZONI_IP, apple, sni=GUZZONI, tls13=True, up=2100, down=3900)
    # The HomePod's short idle guzzoni connections: a few kB each, under 1 s.
    w.dns(T + 3.0, pod, GUZZONI, answer)
    for at in (3.1, 24.0, 52.0):
        w.https(T + at, pod, APPLE_GUZZONI_IP, siri, sni=GUZZONI, tls13=True, up=1800 + w.rng.randrange(900),
                down=2600 + w.rng.randrange(900))
    w.https(T + 6.0, pod, "17.248.146.70", ("apple", "p28-keyvalueservice.icloud.com", "sni"),
            sni="p28-keyvalueservice.icloud.com", tls13=True, up=1300, down=2200)

    # Siri activation 1: a guzzoni connection opens at the wake word; 3 s of Opus-like records.
    conn = w.tcp(pod, APPLE_GUZZONI_IP, 443, *siri)
    t = tls13_handshake(conn, w.rng, conn.open(T + 10.0), GUZZONI)
    start, sent = t + 0.6, sent_up(conn)
    last = w.speak_opus(conn, start, 3.0)
    speech = sent_up(conn) - sent
    end = w.answer(conn, last + 0.35, 21000)
    conn.close(end + 1.5)
    speech_entry(w, pod, "siri opus", start, end, start, last, speech)
    mdns(w, T + 20.0, pod, airplay(pod, "Living Room", "AudioAccessory1,1", str(pod.ip)))

    # Siri activation 2: 16 kHz PCM records, one per 100 ms, for 2.5 s.
    conn = w.tcp(pod, APPLE_GUZZONI_IP, 443, *siri)
    t = tls13_handshake(conn, w.rng, conn.open(T + 33.0), GUZZONI)
    start, sent = t + 0.6, sent_up(conn)
    w.speak(conn, start, 2.5)
    last = start + 0.02 + 0.1 * 24
    speech = sent_up(conn) - sent
    end = w.answer(conn, last + 0.35, 16000)
    conn.close(end + 1.5)
    speech_entry(w, pod, "siri pcm", start, end, start, last, speech)

    # The iPhone's Siri: the same shape to the same host; a phone stays a non-speaker.
    w.dns(T + 42.0, phone, GUZZONI, answer)
    conn = w.tcp(phone, APPLE_GUZZONI_IP, 443, *apple)
    t = tls13_handshake(conn, w.rng, conn.open(T + 42.1), GUZZONI)
    last = w.speak_opus(conn, t + 0.5, 3.2)
    end = w.answer(conn, last + 0.3, 19000)
    conn.close(end + 1.0)
    w.write_truth(str(path).replace(".pcapng", ".truth.json"), "captures/generate.py homepod")


def google_home(path):
    """A Google Home Mini (Google OUI; mDNS _googlecast._tcp md=Google Home Mini, fn=Kitchen)
    whose voice goes over gQUIC Q046 (UDP 443) to www.google.com: a CHLO with SNI, ~1.3 kB
    datagrams making ~3.5 kB per 100 ms for ~4 s, then the answer download during which it sends
    small ACK datagrams. Two activations. A laptop (Intel OUI) searches www.google.com over TLS
    and downloads over gQUIC from it with ACKs in every bin. Automatic phases."""
    w = World(path, seed=12)
    mini = Host("f4:f5:d8:61:3b:0e", "192.168.1.60")         # Google OUI (Home Mini)
    laptop = Host(LAPTOP_MAC, "192.168.1.30")
    T = T0
    w.devices = [device(mini, True, "google", "Google Home Mini"), device(laptop, False, None)]
    inst = "Google-Home-Mini-5b2c0e8f1a7d9e34._googlecast._tcp.local"
    cast = [("_googlecast._tcp.local", 12, inst),
            (inst, 16, ["id=5b2c0e8f1a7d9e34c0ffee0123456789", "cd=7A3D41B0E3C4F0A2", "rm=", "ve=05",
                        "md=Google Home Mini", "ic=/setup/icon.png", "fn=Kitchen", "ca=199172", "st=0",
                        "bs=FA8FCA7B2C44", "nf=1", "rs="]),
            (inst, 33, (8009, "5b2c0e8f-1a7d-9e34.local")), ("5b2c0e8f-1a7d-9e34.local", 1, str(mini.ip))]
    mdns(w, T + 0.0, mini, cast)
    www = [("www.google.com", 1, GOOGLE_WWW_IP)]
    w.dns(T + 0.5, mini, "connectivitycheck.gstatic.com", [("connectivitycheck.gstatic.com", 1, "142.250.186.35")])
    w.http(T + 0.6, mini, "142.250.186.35", ("google", "connectivitycheck.gstatic.com", "http-host"),
           "connectivitycheck.gstatic.com", "/generate_204", b"")
    w.dns(T + 1.5, mini, "www.google.com", www)

    def activation(at, seconds, answer_bytes, label):
        q = Gquic(w, mini, GOOGLE_WWW_IP, ("google-assistant", "www.google.com", "sni"))
        t = q.handshake(T + at, "www.google.com")
        start = t + 0.9                                      # the first speech datagram
        sent, n, last = 0, 0, start
        while start + n * 0.037 < start + seconds:
            last = start + n * 0.037
            size = 1290 + w.rng.randrange(30)
            q.data(last, True, size)
            sent, n = sent + size, n + 1
        end = q.download(last + 0.3, answer_bytes, rate=60_000)
        speech_entry(w, mini, label, start, end, start, last, sent)

    activation(8.0, 4.0, 42_000, "google voice 1")
    # The laptop: a search over TLS, then a download over gQUIC, both from www.google.com.
    w.dns(T + 18.0, laptop, "www.google.com", [("www.google.com", 1, GOOGLE_WWW2_IP)])
    w.https(T + 18.1, laptop, GOOGLE_WWW2_IP, ("google", "www.google.com", "sni"), sni="www.google.com", tls13=True,
            alpn=["h2", "http/1.1"], up=1600, down=58000, rtt=0.020)
    q = Gquic(w, laptop, GOOGLE_WWW2_IP, ("google", "www.google.com", "sni"), rtt=0.020)
    t = q.handshake(T + 20.0, "www.google.com")
    q.data(t + 0.001, True, 420)                             # the request
    q.download(t + 0.03, 1_500_000, rate=250_000)           # 6 s: ACK datagrams in every 100 ms bin
    mdns(w, T + 30.0, mini, cast)
    activation(36.0, 3.6, 35_000, "google voice 2")
    w.dns(T + 48.0, mini, "connectivitycheck.gstatic.com", [("connectivitycheck.gstatic.com", 1, "142.250.186.35")])
    w.http(T + 48.1, mini, "142.250.186.35", ("google", "connectivitycheck.gstatic.com", "http-host"),
           "connectivitycheck.gstatic.com", "/generate_204", b"")
    w.write_truth(str(path).replace(".pcapng", ".truth.json"), "captures/generate.py google-home")


def sonos(path):
    """Alexa built into Sonos speakers (OUI 48:a6:b8, Wireshark's "Sonos"): one looks up and
    opens avs-alexa-4-na.amazon.com (SNI) and speaks a command on it: a speaker, assistant alexa;
    its *.sonos.com connections are sonos. A second Sonos's AVS connection predates the capture
    and is never named: its one command makes it voice by traffic, the speaker's assistant
    unknown. Automatic phases."""
    w = World(path, seed=13)
    one = Host("48:a6:b8:2c:71:05", "192.168.1.70")          # Sonos OUI (Sonos One)
    two = Host("48:a6:b8:2c:9e:41", "192.168.1.71")          # Sonos OUI
    T = T0
    w.devices = [device(one, True, "alexa"), device(two, True, "unknown")]
    old = w.tcp(two, "52.46.141.40", 443, "voice", None, "traffic")   # older than the capture, never named
    w.ping(old, T + 0.2)
    for k, (d, at) in enumerate(((one, 1.0), (two, 1.6))):
        for host, ip in (("ab-us.ws.sonos.com", "54.200.113.7"), ("msmetrics.ws.sonos.com", "34.213.80.19")):
            if k == 0 or host.startswith("msmetrics"):
                w.dns(T + at, d, host, [(host, 1, ip)])
                w.https(T + at + 0.1, d, ip, ("sonos", host, "sni"), sni=host, tls13=True,
                        up=900 + w.rng.randrange(900), down=1500 + w.rng.randrange(2000))
                at += 1.0

    w.dns(T + 5.0, one, AVS_HOST, [(AVS_HOST, 1, "52.94.233.50")])
    avs = w.tcp(one, "52.94.233.50", 443, "avs", AVS_HOST, "sni")
    t = tls_full_handshake(avs, w.rng, avs.open(T + 5.1), AVS_HOST, [CERTS["avs"]], alpn=["h2"],
                           session_id=w.rng.randbytes(32))
    t = avs.send(t + 0.001, True, app_data(w.rng, 1800))              # SynchronizeState
    avs.send(t + 0.05, False, app_data(w.rng, 600))
    w.ping(avs, T + 10.0)

    start, sent = T + 15.0, sent_up(avs)
    w.speak(avs, start, 2.4)
    last = start + 0.02 + 0.1 * 23
    speech = sent_up(avs) - sent
    end = w.answer(avs, last + 0.3, 17000)
    speech_entry(w, one, "alexa on sonos", start, end, start, last, speech)
    w.ping(old, T + 22.0)
    w.https(T + 26.0, one, "34.213.80.19", ("sonos", "msmetrics.ws.sonos.com", "sni"), sni="msmetrics.ws.sonos.com",
            tls13=True, up=2400, down=900)

    start, sent = T + 35.0, sent_up(old)
    last = w.speak_opus(old, start, 3.2)
    speech = sent_up(old) - sent
    old.flow.traffic_from = round(last + 0.3 - T, 6)
    end = w.answer(old, last + 0.3, 20000)
    speech_entry(w, two, "unknown assistant", start, end, start, last, speech)
    w.ping(avs, T + 44.0)
    w.ping(old, T + 50.0)
    w.write_truth(str(path).replace(".pcapng", ".truth.json"), "captures/generate.py sonos")


def scale(path, hours, speakers, ota_mb):
    """A long capture for benchmarks and long runs: `speakers` Echos for `hours`, each with its
    AVS connection (pings every 30 s, a command every ~10 minutes), metrics and resumed unagi
    sessions, DNS and NTP, and one OTA download of `ota_mb` MB from a CDN for the first speaker."""
    w = World(path, seed=6)
    T = T0
    devs = [Host(f"f0:27:2d:5c:{0x80 + i:02x}:{0x10 + i:02x}", f"192.168.1.{100 + i}") for i in range(speakers)]
    avs = [w.tcp(d, f"52.94.233.{10 + i}", 443, *AVS) for i, d in enumerate(devs)]
    for i, d in enumerate(devs):
        w.dns(T + 0.5 + i * 0.01, d, AVS_HOST, [(AVS_HOST, 1, f"52.94.233.{10 + i}")])
    window = 30.0
    ota_left = ota_mb * 1_000_000
    ota = None
    for k in range(int(hours * 3600 / window)):
        base = T + k * window
        for i, d in enumerate(devs):
            off = base + 1.0 + i * 0.37
            w.ping(avs[i], off)
            unagi(w, off + 3.0, d)
            if k % 4 == i % 4:
                w.dns(off + 6.0, d, "device-metrics-us.amazon.com", [("device-metrics-us.amazon.com", 1, METRICS_IP)])
                w.https(off + 6.1, d, METRICS_IP, ("metrics", "device-metrics-us.amazon.com", "sni"),
                        sni="device-metrics-us.amazon.com", certs=[CERTS["metrics"]], up=4000, down=400)
            if k % 20 == (3 * i) % 20:
                end = w.speak(avs[i], off + 10.0, 2.0)
                w.answer(avs[i], end + 0.3, 20000)
            if k % 120 == i:                    # hourly time sync, looked up first as the study's
                w.dns(off + 14.9, d, "ntp-g7g.amazon.com", [("ntp-g7g.amazon.com", 1, NTP_IP)])
                w.ntp(off + 15.0, d, NTP_IP)
        if ota_left > 0 and devs:
            if ota is None:
                ota = w.tcp(devs[0], CDN_IP, 443, "cdn", OTA_HOST, "sni", rtt=0.012)
                t = tls_full_handshake(ota, w.rng, ota.open(base + 20.0), OTA_HOST,
                                       [CERTS["cloudfront"]])
                ota.send(t, True, app_data(w.rng, 420))
            else:
                chunk = min(ota_left, 2_000_000)
                ota.send(base + 0.1, False, app_data(w.rng, chunk), rate=chunk / 25.0)
                ota_left -= chunk
        w.cap.flush(us(base + window - 0.5))
    w.write_truth(str(path).replace(".pcapng", ".truth.json"), f"captures/generate.py scale {hours} h")


COMMITTED = {"echo-study": echo_study, "multi-speaker": multi_speaker, "ipv6": ipv6,
             "cut-midflow": cut_midflow, "hostile": hostile, "intercepted": intercepted,
             "real-shapes": real_shapes, "covert": covert, "echo-pcm": echo_pcm,
             "homepod": homepod, "google-home": google_home, "sonos": sonos}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("names", nargs="*", help=f"captures to write: {', '.join(COMMITTED)}, scale (default: all committed)")
    ap.add_argument("-o", "--out", default=str(HERE), help="output folder (default: captures/)")
    ap.add_argument("--hours", type=float, default=24.0, help="scale: capture length")
    ap.add_argument("--speakers", type=int, default=5, help="scale: number of Echos")
    ap.add_argument("--ota-mb", type=int, default=131, help="scale: size of the OTA download")
    args = ap.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.names or COMMITTED:
        if name == "scale":
            scale(out / "scale.pcapng", args.hours, args.speakers, args.ota_mb)
        elif name in COMMITTED:
            COMMITTED[name](out / f"{name}.pcapng")
        else:
            ap.error(f"unknown capture {name!r}")
        print(f"wrote {out / name}.pcapng")


if __name__ == "__main__":
    main()
