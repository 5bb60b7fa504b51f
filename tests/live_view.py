"""The text of the echotap live view (plugin/echotap-live.c), as tshark prints it for
-z echotap,live and as its Wireshark window shows it.

The text: a line "N packets of TCP and UDP flows[, the last at T s][ (filter: F)].", a line
"Drawn at WALL CLOCK (wall clock)[; the last packet was captured at WALL CLOCK].", maybe more
lines, then sections, each a heading line, a header line, a line of dashes (one run per column,
as wide as the column) and one line per row; a blank line ends a section. Cells are cut at the
dash runs' columns, so empty cells and cells with spaces (verdicts) are read right.
The Flows section is folded: the flows per device, service and server, the TOP groups with the
most bytes, then one line per device for the rest (fold_flows).
"""
import datetime
import re

from echotap_tshark import GROUP_LABELS, GROUPS

STORY = ["Device", "Phase", "#", "Start (s)", "Duration (s)", "Verdict", "Speech up (bytes)", "Speech up B/s",
         "Speech (s)"]
PHASE_KEY = ["Device", "Phase", "#"]
# The Phase bytes section's group columns, and the Phases table's columns they show.
GROUP_BYTES = {f"{GROUP_LABELS[g]} {d}": f"{GROUP_LABELS[g]} {d} bytes" for g in GROUPS for d in ("up", "down")}
SECTIONS = ("Phases", "Phase bytes", "Flows")
FLOWS = ["Device", "Service", "Server", "Host", "Flows", "Up bytes", "Up pkts", "Down bytes", "Down pkts", "First (s)",
         "Last (s)"]
TOP = 10
WALL_CLOCK = "%Y-%m-%d %H:%M:%S %z"
_DASHES = re.compile(r"^-+(  -+)*$")


class LiveTextError(ValueError):
    """The text is not (yet) the live view's."""


def tshark_live_text(out):
    """The live view's text in tshark's output (between "Echotap Live:" and tshark's rule)."""
    lines = out.splitlines()
    try:
        start = lines.index("Echotap Live:")
    except ValueError:
        raise LiveTextError(f"no Echotap Live in tshark's output:\n{out[-2000:]}") from None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("=====")), len(lines))
    return "\n".join(lines[start + 1:end])


def parse_live(text):
    """{"packets": N, "last": T or None, "filter": F or None, SECTION: (header, rows)} where rows
    are {column: cell} in the text's order; SECTION is the heading up to " (" (SECTIONS)."""
    lines = text.splitlines()
    first = next((l for l in lines if re.match(r"^\d+ packets of TCP and UDP flows", l)), None)
    if first is None:
        raise LiveTextError(f"no packet count in the text:\n{text[:2000]}")
    m = re.match(r"^(\d+) packets of TCP and UDP flows(?:, the last at ([\d.]+) s)?(?: \(filter: (.*)\))?\.$", first)
    if not m:
        raise LiveTextError(f"unexpected first line: {first!r}")
    view = {"packets": int(m.group(1)), "last": float(m.group(2)) if m.group(2) else None, "filter": m.group(3)}
    second = lines[lines.index(first) + 1] if lines.index(first) + 1 < len(lines) else ""
    m = re.match(r"^Drawn at (.+?) \(wall clock\)(?:; the last packet was captured at (.+))?\.$", second)
    if not m:
        raise LiveTextError(f"unexpected second line: {second!r}")
    clock = lambda text: datetime.datetime.strptime(text, WALL_CLOCK) if text else None
    view.update(drawn=clock(m.group(1)), captured=clock(m.group(2)))
    for i in range(len(lines) - 2):
        if not _DASHES.match(lines[i + 2]):
            continue
        spans = [mm.span() for mm in re.finditer(r"-+", lines[i + 2])]
        cut = lambda line: [line[a:b].strip() for a, b in spans]
        header = cut(lines[i + 1])
        rows = []
        for line in lines[i + 3:]:
            if not line.strip() or line == "(no rows yet)":
                break
            if len(line) > spans[-1][1]:
                raise LiveTextError(f"row longer than its line of dashes: {line!r}")
            rows.append(dict(zip(header, cut(line))))
        view[lines[i].split(" (")[0]] = (header, rows)
    missing = [s for s in SECTIONS if s not in view]
    if missing:
        raise LiveTextError(f"sections {missing} missing in:\n{text[:2000]}")
    return view


def fold_flows(flows):
    """The Flows section's rows from the Flows table's (test_plugin.parse_table rows): per device,
    service and server, the flows, bytes and packets summed, the first First and last Last, the
    Host of the group's flow with the most bytes that has one (the first of equal ones); the TOP
    groups with the most bytes (equal ones in the table's order), then per device a line
    "(K more)" summing the K groups left, in the order of the first flow each holds."""
    groups = {}
    for order, r in enumerate(flows):
        g = groups.setdefault((r["Device"], r["Service"], r["Server"]),
                              {"order": order, "flows": 0, "host": "", "host_bytes": 0, "first": [], "last": [],
                               **{c: 0 for c in FLOWS[5:9]}})
        g["flows"] += 1
        for c in FLOWS[5:9]:
            g[c] += int(r[c])
        g["first"].append(float(r["First (s)"]))
        g["last"].append(float(r["Last (s)"]))
        size = int(r["Up bytes"]) + int(r["Down bytes"])
        if r["Host"] and (not g["host"] or size > g["host_bytes"]):
            g["host"], g["host_bytes"] = r["Host"], size
    ranked = sorted(groups.items(), key=lambda kv: (-(kv[1]["Up bytes"] + kv[1]["Down bytes"]), kv[1]["order"]))
    row = lambda device, service, server, host, gs: {
        "Device": device, "Service": service, "Server": server, "Host": host,
        "Flows": str(sum(g["flows"] for g in gs)), **{c: str(sum(g[c] for g in gs)) for c in FLOWS[5:9]},
        "First (s)": f"{min(t for g in gs for t in g['first']):.3f}",
        "Last (s)": f"{max(t for g in gs for t in g['last']):.3f}"}
    rows = [row(*key, g["host"], [g]) for key, g in ranked[:TOP]]
    rest = {}
    for (device, _, _), g in ranked[TOP:]:
        rest.setdefault(device, []).append(g)
    for device, gs in sorted(rest.items(), key=lambda kv: min(g["order"] for g in kv[1])):
        rows.append(row(device, f"({len(gs)} more)", "", "", gs))
    return rows


def expected_from_tables(phases, flows):
    """The live view's sections as the Phases and Flows tables of tshark (test_plugin.parse_table
    rows) give them."""
    return {"Phases": (STORY, [{c: r[c] for c in STORY} for r in phases]),
            "Phase bytes": (PHASE_KEY + list(GROUP_BYTES),
                            [{**{c: r[c] for c in PHASE_KEY}, **{c: r[t] for c, t in GROUP_BYTES.items()}}
                             for r in phases]),
            "Flows": (FLOWS, fold_flows(flows))}


def flow_groups(view_text):
    """(flows, groups) as the line above the Flows section counts them; checks the section's heading."""
    m = re.search(r"^(\d+) flows? in (\d+) groups? of device, service and server\.\nFlows \(per device, service and "
                  r"server: the (\d+) with the most bytes, then the rest per device\)$", view_text, re.M)
    if not m or int(m.group(3)) != TOP:
        raise LiveTextError(f"no Flows heading for the top {TOP} in:\n{view_text[:4000]}")
    return int(m.group(1)), int(m.group(2))


def sections(view):
    return {s: view[s] for s in SECTIONS}


def flow_packets(view):
    return sum(int(r["Up pkts"]) + int(r["Down pkts"]) for r in view["Flows"][1])


def flow_count(view):
    return sum(int(r["Flows"]) for r in view["Flows"][1])


def phase_bytes(view):
    return sum(int(r[c]) for r in view["Phase bytes"][1] for c in GROUP_BYTES)
