#!/usr/bin/env python3
"""Writes the ground truth of the real-stack capture (JSON on stdout).

Usage: truth.py CAPTURE STEPS.TSV INTERACTIONS.TSV

STEPS.TSV is what make-capture.sh did, one connection per line in the order it made them:
proto, server, server port, then service, host and evidence as doc/classification.md says they
follow from that connection ("-" for none). The k-th captured flow to a server address and port
is the k-th step to it. Packets, bytes and times come from Wireshark's own dissection (tshark
without the plugin), cross-checked against `tshark -z conv,tcp` / `conv,udp`. INTERACTIONS.TSV
holds the wake-word exchanges the script made: device, label, start and end (epoch seconds, taken
by the script around them).
"""
import collections
import json
import os
import pathlib
import re
import subprocess
import sys

FIELDS = ["frame.time_epoch", "frame.len", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "tcp.flags.syn", "tcp.flags.ack"]


def tshark(capture, *args):
    # Wireshark's own dissection: packet and frame fields do not depend on any plugin.
    env = dict(os.environ, TZ="UTC", LC_ALL="C.UTF-8")
    cmd = ["tshark", "-n", "-r", str(capture), *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout


def read_steps(path):
    steps = []
    for line in pathlib.Path(path).read_text().splitlines():
        proto, server, port, service, host, evidence = line.split("\t")
        none = lambda v: None if v == "-" else v
        steps.append({"proto": proto, "server": server, "server_port": int(port),
                      "service": none(service), "host": none(host), "evidence": none(evidence)})
    return steps


def packets(capture):
    """Every TCP/UDP frame as a dict; frames inside ICMP errors are refused (they are no flow)."""
    quoted = tshark(capture, "-Y", "(tcp or udp) and (icmp or icmpv6)", "-T", "fields", "-e", "frame.number")
    if quoted.strip():
        sys.exit(f"truth.py: ICMP errors quote TCP/UDP headers in frames {quoted.split()}; run again")
    args = ["-Y", "tcp or udp", "-T", "fields", "-E", "occurrence=f"]
    for f in FIELDS:
        args += ["-e", f]
    for line in tshark(capture, *args).splitlines():
        r = dict(zip(FIELDS, line.split("\t")))
        proto = "tcp" if r["tcp.srcport"] else "udp"
        yield {"proto": proto, "time": r["frame.time_epoch"], "len": int(r["frame.len"]),
               "src": r["ip.src"] or r["ipv6.src"], "dst": r["ip.dst"] or r["ipv6.dst"],
               "sport": int(r[f"{proto}.srcport"]), "dport": int(r[f"{proto}.dstport"]),
               "syn_only": r["tcp.flags.syn"] in ("1", "True") and r["tcp.flags.ack"] in ("0", "False")}


def conversations(capture):
    """tshark -z conv,tcp / conv,udp rows: key -> (frames A->B, size A->B, frames B->A, size B->A)."""
    out = tshark(capture, "-q", "-z", "conv,tcp", "-z", "conv,udp")
    proto, rows = None, {}
    size = r"(\d+) (bytes|kB|MB)"
    line_re = re.compile(rf"^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+{size}\s+(\d+)\s+{size}\s")
    for line in out.splitlines():
        if line.startswith(("TCP Conversations", "UDP Conversations")):
            proto = line[:3].lower()
        m = line_re.match(line)
        if m:
            (a, pa), (b, pb) = m.group(1).rsplit(":", 1), m.group(2).rsplit(":", 1)
            # "<-" is traffic towards A (the left address), "->" traffic from A.
            to_a, to_a_size = int(m.group(3)), (int(m.group(4)), m.group(5))
            from_a, from_a_size = int(m.group(6)), (int(m.group(7)), m.group(8))
            rows[(proto, (a, int(pa)), (b, int(pb)))] = (from_a, from_a_size, to_a, to_a_size)
    return rows


def size_agrees(exact, shown):
    value, unit = shown
    scale = {"bytes": 1, "kB": 1000, "MB": 1000 ** 2}[unit]
    return exact == value if scale == 1 else abs(exact / scale - value) < 1


def main():
    capture, steps_file, interactions_file = sys.argv[1:4]
    flows = collections.OrderedDict()
    for p in packets(capture):
        key = (p["proto"], *sorted([(p["src"], p["sport"]), (p["dst"], p["dport"])]))
        flows.setdefault(key, []).append(p)

    # The k-th flow to a server endpoint (in order of first packet) is the k-th step to it.
    by_server = collections.defaultdict(list)
    for step in read_steps(steps_file):
        by_server[(step["proto"], step["server"], step["server_port"])].append(step)
    captured = collections.defaultdict(list)
    for key, pkts in flows.items():
        proto, e1, e2 = key
        server = next((e for e in (e1, e2) if (proto, *e) in by_server), None)
        if server is None:
            sys.exit(f"truth.py: flow {key} is no step of make-capture.sh")
        client = e2 if server == e1 else e1
        captured[(proto, *server)].append((float(pkts[0]["time"]), client, key))
    conv = conversations(capture)
    truth_flows = []
    for endpoint, steps in by_server.items():
        seen = sorted(captured.get(endpoint, []))
        if len(seen) != len(steps):
            sys.exit(f"truth.py: {len(steps)} connections to {endpoint} made, {len(seen)} captured")
        for step, (_, client, key) in zip(steps, seen):
            pkts = flows[key]
            syn = [p for p in pkts if p["syn_only"]]
            if step["proto"] == "tcp" and (not syn or (syn[0]["src"], syn[0]["sport"]) != client):
                sys.exit(f"truth.py: {key}: the client did not send the SYN")
            up = [p for p in pkts if (p["src"], p["sport"]) == client]
            down = [p for p in pkts if (p["src"], p["sport"]) != client]
            flow = {"proto": step["proto"], "client": client[0], "client_port": client[1],
                    "server": step["server"], "server_port": step["server_port"], "device": client[0],
                    "service": step["service"], "host": step["host"], "evidence": step["evidence"],
                    "bytes_up": sum(p["len"] for p in up), "bytes_down": sum(p["len"] for p in down),
                    "packets_up": len(up), "packets_down": len(down),
                    "first": float(pkts[0]["time"]), "last": float(pkts[-1]["time"])}
            row = conv.get((key[0], client, (flow["server"], flow["server_port"])))
            if row is None or (row[0], row[2]) != (flow["packets_up"], flow["packets_down"]) \
                    or not size_agrees(flow["bytes_up"], row[1]) or not size_agrees(flow["bytes_down"], row[3]):
                sys.exit(f"truth.py: {key}: tshark -z conv says {row}, frames say {flow}")
            truth_flows.append(flow)
    if len(conv) != len(truth_flows):
        sys.exit(f"truth.py: tshark -z conv has {len(conv)} conversations, the truth {len(truth_flows)}")
    truth_flows.sort(key=lambda f: f["first"])

    stats = collections.Counter()
    for f in truth_flows:
        for d in ("up", "down"):
            key = (f["device"], f["service"] or "untagged", d)
            stats[key + ("bytes",)] += f[f"bytes_{d}"]
            stats[key + ("packets",)] += f[f"packets_{d}"]
    rows = [{"phase_index": 0, "phase": "all", "device": dev, "service": svc, "dir": d,
             "bytes": stats[(dev, svc, d, "bytes")], "packets": stats[(dev, svc, d, "packets")]}
            for dev, svc, d in sorted({k[:3] for k in stats})]
    first_packet = float(tshark(capture, "-c", "1", "-T", "fields", "-e", "frame.time_epoch"))
    duration = max(f["last"] for f in truth_flows) - first_packet
    frames = len(tshark(capture, "-T", "fields", "-e", "frame.number").split())
    interactions = []
    for line in pathlib.Path(interactions_file).read_text().splitlines():
        device, label, start, end = line.split("\t")
        interactions.append({"device": device, "label": label, "start": round(float(start) - first_packet, 3),
                             "end": round(float(end) - first_packet, 3)})
    # No schedule: one phase.
    json.dump({"capture": pathlib.Path(capture).name,
               "made_by": "captures/realstack/make-capture.sh: dnsmasq, openssl s_server/s_client, curl and "
                          "python3 http.server in network namespaces, dumpcap on the device's interface; "
                          "packets and bytes from tshark",
               "seed": None, "first_packet": first_packet, "schedule": None,
               "phases": [{"index": 0, "label": "all", "start": 0.0, "end": round(duration, 6)}],
               "interactions": interactions, "flows": truth_flows, "stats": rows, "packets": frames},
              sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
