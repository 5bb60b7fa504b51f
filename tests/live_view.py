"""The text of the echotap live view (plugin/echotap-live.c), as tshark prints it for
-z echotap,live and as its Wireshark window shows it.

The text: a line "N packets of TCP and UDP flows[, the last at T s][ (filter: F)].", maybe more
lines, then sections, each a heading line, a header line, a line of dashes (one run per column,
as wide as the column) and one line per row; a blank line ends a section. Cells are cut at the
dash runs' columns, so empty cells and cells with spaces (verdicts) are read right.
"""
import re

from echotap_tshark import GROUP_LABELS, GROUPS

STORY = ["Device", "Phase", "#", "Start (s)", "Duration (s)", "Verdict", "Speech up (bytes)", "Speech up B/s",
         "Speech (s)"]
PHASE_KEY = ["Device", "Phase", "#"]
# The Phase bytes section's group columns, and the Phases table's columns they show.
GROUP_BYTES = {f"{GROUP_LABELS[g]} {d}": f"{GROUP_LABELS[g]} {d} bytes" for g in GROUPS for d in ("up", "down")}
SECTIONS = ("Phases", "Phase bytes", "Flows")
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


def expected_from_tables(phases, flows):
    """The live view's sections as the Phases and Flows tables of tshark (test_plugin.parse_table
    rows) give them."""
    return {"Phases": (STORY, [{c: r[c] for c in STORY} for r in phases]),
            "Phase bytes": (PHASE_KEY + list(GROUP_BYTES),
                            [{**{c: r[c] for c in PHASE_KEY}, **{c: r[t] for c, t in GROUP_BYTES.items()}}
                             for r in phases]),
            "Flows": (list(flows[0]) if flows else None, flows)}


def sections(view):
    return {s: view[s] for s in SECTIONS}


def flow_packets(view):
    return sum(int(r["Up pkts"]) + int(r["Down pkts"]) for r in view["Flows"][1])


def phase_bytes(view):
    return sum(int(r[c]) for r in view["Phase bytes"][1] for c in GROUP_BYTES)
