"""tools/echotap-corpus: many captures into one SQLite database, equal to per-capture runs.

On copies of the committed captures (one gzipped, one in a subfolder, one with a schedule side
file): the database's flows, phases and per-phase statistics equal `tshark -z echotap,json` of
each capture; corrupt files are recorded as failed with a reason and change nothing else; a
second run skips every capture; a capture is its uncompressed content (a .gz copy is the same
capture) and its name does not depend on the folder given; the summary lists the speakers' bytes
first and folds the other devices into a line per capture (equal to the truth and to Wireshark's
own count), or lists them with --all-devices; the cluster paths (GNU parallel over two sshlogins
to a real sshd on this machine, the Slurm array script run task by task, and the same array
submitted with sbatch to a real one-node Slurm cluster started here) merge into the same database.
With ../shared/real-captures beside the checkout, the 91 real captures go through it too.
"""
import gzip
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import pathlib
import re
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time

import pytest

from conftest import CAPTURES, FLOW_FRAMES, ROOT, load_truth, truth_speakers, wireshark_bytes
from slurm_cluster import Cluster, Unavailable

TOOL = ROOT / "tools" / "echotap-corpus"
REAL = ROOT.parent / "shared" / "real-captures"
STUDY_SCHEDULE = "0 silence; 8 query; 14 silence; 22 command; 27 conversation"
REALSTACK_SCHEDULE = "0 silence; 10 query; 20 silence"
SCHEDULES = {"echo-study.pcapng": STUDY_SCHEDULE, "realstack.pcapng": REALSTACK_SCHEDULE}
TIMING = {"seconds", "finished", "ran_on"}
# The tool as a module, for its byte format (human) in the summary's expected lines.
_LOADER = importlib.machinery.SourceFileLoader("echotap_corpus", str(TOOL))
TOOL_MODULE = importlib.util.module_from_spec(importlib.util.spec_from_loader(_LOADER.name, _LOADER))
_LOADER.exec_module(TOOL_MODULE)


def corpus(plugin_so, *args, check=True, timeout=600):
    env = dict(os.environ, ECHOTAP_PLUGIN=str(plugin_so))
    proc = subprocess.run([str(TOOL), *map(str, args)], capture_output=True, text=True, env=env,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"echotap-corpus {args} failed ({proc.returncode}):\n{proc.stderr}\n{proc.stdout}")
    return proc


def this_run(stdout):
    """{"read": n, "failed": n, "skipped": n} from the summary's 'this run:' line."""
    line = next(l for l in stdout.splitlines() if l.startswith("this run:"))
    return {k: int(v) for v, k in ((m.group(2), m.group(1)) for m in re.finditer(r"(\w[\w ]*?) (\d+)", line[9:]))}


def rows(db_path, table, where="", args=()):
    db = sqlite3.connect(str(db_path))
    db.row_factory = sqlite3.Row
    out = [dict(r) for r in db.execute(f'SELECT * FROM "{table}" {where}', args)]
    db.close()
    return out


def dump(db_path):
    """Every table's rows (timing columns left out), as sorted lists: for equality."""
    db = sqlite3.connect(str(db_path))
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    db.close()
    result = {}
    for t in tables:
        result[t] = sorted(json.dumps({k: v for k, v in r.items() if k not in TIMING}, sort_keys=True)
                           for r in rows(db_path, t))
    return result


def reference(tshark, capture, schedule=None):
    """The plugin's own JSON for one capture, the way a user runs it."""
    args = ["-r", capture, "-q"]
    if schedule:
        args += ["-o", f"echotap.schedule:{schedule}"]
    return json.loads(tshark.run(*args, "-z", "echotap,json").stdout)


def assert_matches(db_path, sha, data, timeline=False):
    """The database's rows for one capture equal the capture's own -z echotap,json."""
    key = lambda r, cols: tuple(r.get(c) for c in cols)  # noqa: E731
    flow_cols = ["flow", "proto", "device", "client_port", "server", "server_port", "service", "host",
                 "bytes_up", "packets_up", "bytes_down", "packets_down"]
    got = sorted(key(r, flow_cols) for r in rows(db_path, "flows", "WHERE sha256 = ?", (sha,)))
    assert got == sorted(key(r, flow_cols) for r in data["flows"])
    stat_cols = ["phase_index", "phase", "device", "service", "dir", "bytes", "packets"]
    got = sorted(key(r, stat_cols) for r in rows(db_path, "phase_stats", "WHERE sha256 = ?", (sha,)))
    assert got == sorted(key(r, stat_cols) for r in data["stats"])
    phase_cols = ["device", "index", "label", "start", "end", "voice_up_bytes", "verdict"]
    got = sorted(key(r, phase_cols) for r in rows(db_path, "phases", "WHERE sha256 = ?", (sha,)))
    assert got == sorted(key(r, phase_cols) for r in data["phases"])
    got = sorted((r["device"], bool(r["speaker"])) for r in rows(db_path, "devices", "WHERE sha256 = ?", (sha,)))
    assert got == sorted((d["device"], d["speaker"]) for d in data["devices"])
    if timeline:
        cols = ["start", "device", "service", "dir", "bytes", "packets"]
        got = sorted(key(r, cols) for r in rows(db_path, "timeline", "WHERE sha256 = ?", (sha,)))
        assert got == sorted(key(r, cols) for r in data["timeline"]) and got


@pytest.fixture(scope="module")
def work():
    d = pathlib.Path(tempfile.mkdtemp(prefix="echotap-corpus-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def corpus_run(work, plugin_so):
    """The committed captures in a folder of their own, run once with 2 workers."""
    caps = work / "caps"
    (caps / "sub").mkdir(parents=True)
    layout = {}
    for cap in sorted(CAPTURES.glob("*.pcapng")):
        if cap.name == "ipv6.pcapng":  # gzipped: tshark reads it itself
            dest = caps / "ipv6.pcapng.gz"
            dest.write_bytes(gzip.compress(cap.read_bytes()))
        elif cap.name == "hostile.pcapng":  # in a subfolder: found recursively
            dest = caps / "sub" / cap.name
            shutil.copy(cap, dest)
        else:
            dest = caps / cap.name
            shutil.copy(cap, dest)
        layout[dest] = cap
    (caps / "echo-study.pcapng.schedule").write_text(STUDY_SCHEDULE + "\n")
    (caps / "schedules.tsv").write_text(f"# file<TAB>schedule\nrealstack.pcapng\t{REALSTACK_SCHEDULE}\n")
    out = work / "out"
    proc = corpus(plugin_so, caps, "-o", out, "-j", "2", "--timeline")
    return caps, out, layout, proc


def test_counts_equal_per_capture_runs(corpus_run, tshark):
    caps, out, layout, proc = corpus_run
    assert this_run(proc.stdout) == {"read": len(layout), "failed": 0, "skipped": 0}
    db = out / "corpus.sqlite"
    captures = {r["path"]: r for r in rows(db, "captures")}
    assert set(captures) == {str(p) for p in layout}
    for copy, original in layout.items():
        cap = captures[str(copy)]
        assert cap["status"] == "ok" and cap["reason"] is None, cap
        assert cap["name"] == f"{copy.parent.name}/{copy.name}"
        assert cap["sha256"] == hashlib.sha256(original.read_bytes()).hexdigest()  # the .gz too: uncompressed
        assert cap["size"] == copy.stat().st_size and cap["packets"] > 0
        schedule = SCHEDULES.get(original.name)
        data = reference(tshark, original, schedule)
        assert_matches(db, cap["sha256"], data, timeline=True)
        assert cap["automatic_phases"] == (0 if schedule else 1)
    # Per capture and per device/service the totals add up; the CSVs hold the same rows.
    for table in ("captures", "devices", "flows", "phases", "phase_stats"):
        csv_lines = (out / "csv" / f"{table}.csv").read_text().splitlines()
        assert len(csv_lines) == 1 + len(rows(db, table)), table
    summary = (out / "summary.txt").read_text()
    assert summary in proc.stdout and "Captures with an UPLOAD WITHOUT WAKE WORD verdict: 0" in summary
    assert (out / "summary.png").stat().st_size > 1000


def test_failures_recorded_and_second_run_skips(corpus_run, work, plugin_so):
    caps, out, layout, _ = corpus_run
    before = dump(out / "corpus.sqlite")
    # The same captures (skipped: same content) plus three broken files.
    caps2 = work / "caps2"
    shutil.copytree(caps, caps2)
    study = (CAPTURES / "echo-study.pcapng").read_bytes()
    (caps2 / "cut.pcapng").write_bytes(study[:len(study) // 2])
    (caps2 / "cut-other.pcapng.gz").write_bytes(gzip.compress(study[:len(study) // 3])[:-100])  # cut short, gzipped
    (caps2 / "x.pcap").write_text("This is not a capture file, just some text.\n")
    (caps2 / "y.cap").write_text("Nor is this one.\n" * 10)
    out2 = work / "out2"
    shutil.copytree(out, out2)
    proc = corpus(plugin_so, caps2, "-o", out2, "-j", "2", "--timeline")
    assert this_run(proc.stdout) == {"read": 0, "failed": 4, "skipped": len(layout)}
    failed = {pathlib.Path(r["path"]).name: r for r in rows(out2 / "corpus.sqlite", "captures", "WHERE status = 'failed'")}
    assert set(failed) == {"cut.pcapng", "cut-other.pcapng.gz", "x.pcap", "y.cap"}
    for cut in ("cut.pcapng", "cut-other.pcapng.gz"):
        assert failed[cut]["reason"].startswith("truncated: The capture appears to have been cut short"), failed[cut]
    assert failed["x.pcap"]["reason"].startswith("not a pcap or pcapng file")
    assert "isn't a capture file" in failed["y.cap"]["reason"]
    assert "failed" in proc.stdout and "cut short" in proc.stdout
    after = dump(out2 / "corpus.sqlite")
    new_shas = {r["sha256"] for r in failed.values()}
    after_caps = [r for r in after["captures"] if json.loads(r)["sha256"] not in new_shas]
    assert after_caps == before["captures"]
    assert {t: v for t, v in after.items() if t != "captures"} == {t: v for t, v in before.items() if t != "captures"}
    # A second run: everything recorded is skipped, nothing changes.
    proc = corpus(plugin_so, caps2, "-o", out2, "-j", "2", "--timeline")
    assert this_run(proc.stdout) == {"read": 0, "failed": 0, "skipped": len(layout) + 4}
    assert dump(out2 / "corpus.sqlite") == after
    # Other options (here: no timeline) are another result: the captures run again.
    shutil.copytree(out, work / "out3")
    proc = corpus(plugin_so, caps, "-o", work / "out3", "-j", "2")
    assert this_run(proc.stdout) == {"read": len(layout), "failed": 0, "skipped": 0}
    assert rows(work / "out3" / "corpus.sqlite", "timeline") == []
    # --keep-truncated: the cut capture is ok, its partial rows kept, the reason a warning.
    corpus(plugin_so, caps2 / "cut.pcapng", "-o", out2, "--timeline", "--keep-truncated", "--retry-failed")
    cut = rows(out2 / "corpus.sqlite", "captures", "WHERE path = ?", (str(caps2 / "cut.pcapng"),))[0]
    assert cut["status"] == "ok" and "cut short" in cut["warning"] and cut["flows"] > 0


def other_devices(tshark_plain, original):
    """{device: (bytes up, bytes down)} of a committed capture's devices that are not speakers, by its truth."""
    truth = load_truth(original)
    speakers, others = truth_speakers(tshark_plain, original), {}
    for f in truth["flows"]:
        if f["device"] not in speakers:
            up, down = others.get(f["device"], (0, 0))
            others[f["device"]] = (up + f["bytes_up"], down + f["bytes_down"])
    return others


def section(lines, heading):
    """The lines under a heading of the summary, up to the blank line that ends it."""
    start = lines.index(heading) + 1
    return lines[start:lines.index("", start)]


def test_summary_speakers_first_the_others_one_line_per_capture(corpus_run, tshark_plain):
    caps, out, layout, _ = corpus_run
    lines = (out / "summary.txt").read_text().splitlines()
    speakers = set().union(*(truth_speakers(tshark_plain, o) for o in layout.values()))
    rows = section(lines, "Speakers: bytes per device and service over the ok captures (up = device to cloud):")
    assert rows[0].split()[:2] == ["device", "service"] and rows[1:]
    assert {r.split()[0] for r in rows[1:]} <= speakers
    human = TOOL_MODULE.human
    expected = []
    for copy, original in sorted(layout.items(), key=lambda kv: f"{kv[0].parent.name}/{kv[0].name}"):
        others = other_devices(tshark_plain, original)
        if not others:
            continue
        up, down = (sum(v[i] for v in others.values()) for i in (0, 1))
        # Wireshark's own count of the frames these devices sent and got.
        for direction, n in (("src", up), ("dst", down)):
            match = " or ".join(f"{'ipv6' if ':' in d else 'ip'}.{direction} == {d}" for d in sorted(others))
            assert wireshark_bytes(tshark_plain, original, f"{FLOW_FRAMES} and ({match})") == n, (copy.name, direction)
        n = len(others)
        expected.append(f"  {copy.parent.name}/{copy.name}: {n} device{'' if n == 1 else 's'}, "
                        f"up {human(up)}, down {human(down)}")
    assert expected, "the committed captures must have devices that are not speakers"
    heading = "Devices that are not speakers, per capture (--all-devices: each device and service):"
    assert lines.index(heading) > lines.index(rows[-1])
    assert section(lines, heading) == expected


def test_all_devices_lists_each_other_device(corpus_run, work, plugin_so, tshark_plain):
    caps, out, layout, _ = corpus_run
    shutil.copytree(out, work / "out-all")
    proc = corpus(plugin_so, caps, "-o", work / "out-all", "--timeline", "--all-devices")
    assert this_run(proc.stdout) == {"read": 0, "failed": 0, "skipped": len(layout)}
    lines = proc.stdout.splitlines()
    rows = section(lines, "Devices that are not speakers: bytes per device and service:")
    assert {r.split()[0] for r in rows[1:]} == set().union(*(other_devices(tshark_plain, o) for o in layout.values()))
    assert not any(l.startswith("Devices that are not speakers, per capture") for l in lines)


def test_a_capture_is_its_content_and_its_name_not_the_folder_given(work, plugin_so):
    """A .pcapng.gz copy beside its .pcapng is the same capture (key: sha256 of the uncompressed
    bytes, run once, under the first path in sorted order); `name` is folder/file whichever
    folder above it, or the file itself, is given."""
    caps = work / "identity"
    (caps / "day1").mkdir(parents=True)
    original = CAPTURES / "covert.pcapng"
    shutil.copy(original, caps / "day1" / "covert.pcapng")
    (caps / "day1" / "covert.pcapng.gz").write_bytes(gzip.compress(original.read_bytes()))
    sha = hashlib.sha256(original.read_bytes()).hexdigest()
    names = set()
    for i, given in enumerate((caps, caps / "day1", caps / "day1" / "covert.pcapng")):
        proc = corpus(plugin_so, given, "-o", work / f"identity-out{i}")
        recorded = rows(work / f"identity-out{i}" / "corpus.sqlite", "captures")
        assert [(r["sha256"], r["path"]) for r in recorded] == [(sha, str(caps / "day1" / "covert.pcapng"))]
        names |= {r["name"] for r in recorded}
        if given.is_dir():
            assert this_run(proc.stdout) == {"read": 1, "failed": 0, "skipped": 1}
    assert names == {"day1/covert.pcapng"}
    # The copy alone, into the first database: already recorded.
    proc = corpus(plugin_so, caps / "day1" / "covert.pcapng.gz", "-o", work / "identity-out0")
    assert this_run(proc.stdout) == {"read": 0, "failed": 0, "skipped": 1}


def test_out_and_preferences_are_separate_options(corpus_run, work, plugin_so):
    caps, _, _, _ = corpus_run
    proc = corpus(plugin_so, caps, "-o", "echotap.gap_ms:800", check=False)
    assert proc.returncode != 0 and "-p PREF:VALUE" in proc.stderr and not pathlib.Path("echotap.gap_ms:800").exists()
    # -p reaches tshark: a schedule given as a preference is the capture's schedule.
    one = work / "pref-caps"
    one.mkdir()
    shutil.copy(CAPTURES / "echo-study.pcapng", one)
    corpus(plugin_so, one, "-o", work / "pref-out", "-p", f"echotap.schedule:{STUDY_SCHEDULE}")
    truth = load_truth(CAPTURES / "echo-study.pcapng")
    labels = [r["label"] for r in rows(work / "pref-out" / "corpus.sqlite", "phases", 'WHERE device = ? ORDER BY "index"',
                                       (truth["interactions"][0]["device"],))]
    assert labels == [p["label"] for p in truth["phases"]]


# ---------------------------------------------------------------- the cluster paths

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def have_or_install(*packages_for_commands):
    """Installs the Debian packages of missing commands (as root); the commands still missing."""
    missing = [(cmd, pkg) for cmd, pkg in packages_for_commands if not shutil.which(cmd)]
    if missing and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        pkgs = sorted({p for _, p in missing})
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *pkgs],
                       capture_output=True, env=env, timeout=600)
        if any(not shutil.which(c) for c, _ in missing):
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env, timeout=600)
            subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *pkgs],
                           capture_output=True, env=env, timeout=600)
    return [c for c, _ in missing if not shutil.which(c)]


@pytest.fixture(scope="module")
def sshd(work):
    """A real sshd on 127.0.0.1 and 127.0.0.2 (one port) that lets root in with a key made here;
    yields the two sshlogins for GNU parallel."""
    if os.geteuid() != 0:
        pytest.skip("the multi-host test starts its own sshd and logs in as root: run as root")
    missing = have_or_install(("parallel", "parallel"), ("ssh", "openssh-client"), ("ssh-keygen", "openssh-client"))
    if not os.path.exists("/usr/sbin/sshd"):
        have_or_install(("/usr/sbin/sshd", "openssh-server"))
    if missing or not os.path.exists("/usr/sbin/sshd"):
        pytest.skip(f"GNU parallel or OpenSSH missing and not installable ({missing or 'sshd'}): "
                    "apt-get install parallel openssh-server")
    d = work / "ssh"
    d.mkdir(mode=0o700)
    for key in ("host_key", "id"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)], check=True)
    shutil.copy(d / "id.pub", d / "authorized_keys")
    port = free_port()
    (d / "sshd_config").write_text(f"""Port {port}
ListenAddress 127.0.0.1
ListenAddress 127.0.0.2
HostKey {d / 'host_key'}
AuthorizedKeysFile {d / 'authorized_keys'}
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile {d / 'sshd.pid'}
""")
    os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    log = open(d / "sshd.log", "w")
    proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(d / "sshd_config")], stdout=log, stderr=log)
    ssh = (f"ssh -i {d / 'id'} -p {port} -o BatchMode=yes -o StrictHostKeyChecking=no "
           f"-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR")
    logins = [f"1/{ssh} root@127.0.0.1", f"1/{ssh} root@127.0.0.2"]
    try:
        deadline = time.time() + 20
        while True:
            ok = all(subprocess.run(login.split("/", 1)[1].split() + ["true"], capture_output=True,
                                    timeout=20).returncode == 0 for login in logins)
            if ok:
                break
            if proc.poll() is not None or time.time() > deadline:
                pytest.skip(f"sshd on 127.0.0.1:{port} did not let us in: {(d / 'sshd.log').read_text()[-500:]}")
            time.sleep(0.3)
        yield logins
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def test_parallel_over_two_ssh_hosts_equals_one_machine(corpus_run, work, plugin_so, sshd):
    caps, out, layout, _ = corpus_run
    dist = work / "dist"
    proc = corpus(plugin_so, caps, "-o", dist, "--emit-jobs", "parallel", "--timeline")
    jobs = (dist / "jobs" / "jobs.txt").read_text().splitlines()
    assert len(jobs) == len(layout) and "run-parallel.sh" in proc.stdout
    hosts = work / "sshloginfile"
    hosts.write_text("\n".join(sshd) + "\n")
    # The emitted script: parallel over the sshlogins, then the merge.
    run = subprocess.run([str(dist / "jobs" / "run-parallel.sh"), str(hosts)], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    used = {line.split("\t")[1] for line in (dist / "jobs" / "joblog.tsv").read_text().splitlines()[1:]}
    assert len(used) == 2, f"jobs ran on {used}: expected both sshlogins"
    assert len(list((dist / "fragments").glob("*.json"))) == len(layout)
    assert this_run(run.stdout) == {"merged": len(layout), "failed": 0, "unreadable fragments": 0, "missing": 0}
    assert dump(dist / "corpus.sqlite") == dump(out / "corpus.sqlite")
    assert (dist / "summary.txt").read_text().split("\n", 2)[2] == (out / "summary.txt").read_text().split("\n", 2)[2]
    # A capture whose job never ran is reported missing, and the merge fails.
    first = sorted((dist / "fragments").glob("*.json"))[0]
    first.unlink()
    merged = corpus(plugin_so, "--merge", dist / "fragments", "-o", work / "dist-short", check=False)
    assert merged.returncode == 1 and this_run(merged.stdout)["missing"] == 1
    assert "have no fragment" in merged.stderr


def test_slurm_array_script_equals_one_machine(corpus_run, work, plugin_so):
    """The emitted sbatch script, run as Slurm would run its array tasks (here one after another)."""
    caps, out, layout, _ = corpus_run
    dist = work / "slurm"
    corpus(plugin_so, caps, "-o", dist, "--emit-jobs", "slurm", "--array-max", "4", "--timeline")
    script = dist / "jobs" / "echotap-corpus.sbatch"
    text = script.read_text()
    assert "#SBATCH --array=1-4" in text
    for task in range(1, 5):
        env = dict(os.environ, SLURM_ARRAY_TASK_ID=str(task))
        run = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=600)
        assert run.returncode == 0, run.stderr
    corpus(plugin_so, "--merge", dist / "fragments", "-o", dist)
    assert dump(dist / "corpus.sqlite") == dump(out / "corpus.sqlite")


@pytest.fixture
def slurm():
    folder = pathlib.Path(tempfile.mkdtemp(prefix="echotap-slurm-"))
    cluster = Cluster(folder)
    try:
        try:
            cluster.start()
        except Unavailable as e:
            pytest.skip(f"no one-node Slurm cluster here: {e}")
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_slurm_array_under_real_slurm_equals_one_machine(corpus_run, work, plugin_so, slurm):
    """The emitted array, submitted with sbatch to slurmctld and run by slurmd on this machine."""
    caps, out, layout, _ = corpus_run
    dist = work / "real-slurm"
    corpus(plugin_so, caps, "-o", dist, "--emit-jobs", "slurm", "--array-max", "4", "--timeline")
    job = slurm.sbatch_and_wait(dist / "jobs" / "echotap-corpus.sbatch", 150)
    assert slurm.exit_codes(job) == {str(task): "0:0" for task in range(1, 5)}, slurm.logs()
    assert len(list((dist / "jobs" / "logs").glob(f"{job}_*.log"))) == 4
    corpus(plugin_so, "--merge", dist / "fragments", "-o", dist)
    assert dump(dist / "corpus.sqlite") == dump(out / "corpus.sqlite")


# ---------------------------------------------------------------- the real captures

def test_real_captures(work, plugin_so, tshark):
    if not (REAL / "vcfingerprinting").is_dir():
        pytest.skip(f"{REAL} is absent (the developers' real-capture corpus is not in users' clones)")
    out = work / "real"
    proc = corpus(plugin_so, REAL, "-o", out, "-j", "2", timeout=1200)
    expected = sorted(REAL.rglob("*.pcap"))
    assert this_run(proc.stdout) == {"read": len(expected), "failed": 0, "skipped": 0}
    db = out / "corpus.sqlite"
    captures = {str(pathlib.Path(r["path"]).resolve()): r for r in rows(db, "captures")}
    assert len(captures) == len(expected) and all(c["status"] == "ok" for c in captures.values())
    assert rows(db, "timeline") == []  # only with --timeline
    # A sample, spread over both speakers' folders, against the capture's own json run.
    for cap in expected[::15]:
        assert_matches(db, captures[str(cap.resolve())]["sha256"], reference(tshark, cap))
    # Every capture's flow bytes add up to its per-phase statistics.
    for c in captures.values():
        flows = rows(db, "flows", "WHERE sha256 = ?", (c["sha256"],))
        stats = rows(db, "phase_stats", "WHERE sha256 = ?", (c["sha256"],))
        assert sum(f["bytes_up"] + f["bytes_down"] for f in flows) == sum(s["bytes"] for s in stats)


# ---------------------------------------------------------------- a JSON that grows

FAKE_TSHARK = r'''#!/usr/bin/env python3
import json, sys
if "-G" in sys.argv:
    print("echotap.so\t0.1.0\tdissector\t/fake")
    sys.exit(0)
sys.stdin.buffer.read()
print(json.dumps({
    "automatic_phases": True, "new_scalar": 7, "packets": 5,
    "devices": [{"device": "10.0.0.2", "speaker": True, "vendor": "Amazon"}],
    "flows": [{"flow": 0, "proto": "tcp", "device": "10.0.0.2", "server": "10.9.9.9", "service": "avs",
               "bytes_up": 10, "bytes_down": 20, "packets_up": 1, "packets_down": 2, "tls": {"sni": "x"}}],
    "phases": [{"device": "10.0.0.2", "index": 0, "label": "interaction", "wake": True, "verdict": "wake word",
                "verdict_reason": "voice burst", "per-phase score": 0.5}],
    "stats": [],
    "interactions": [{"device": "10.0.0.2", "start": 1.5, "end": 4.0, "uploaded": 30000}],
}))
'''


def test_extra_and_missing_json_keys(work, plugin_so):
    """Keys other developers add become columns (new lists of rows: tables); missing ones are NULL."""
    fake = work / "fake-tshark"
    fake.write_text(FAKE_TSHARK)
    fake.chmod(0o755)
    caps = work / "fake-caps"
    caps.mkdir()
    shutil.copy(CAPTURES / "hostile.pcapng", caps / "a.pcapng")
    out = work / "fake-out"
    env_before = os.environ.get("ECHOTAP_CORPUS_TSHARK")
    os.environ["ECHOTAP_CORPUS_TSHARK"] = str(fake)
    try:
        proc = corpus(plugin_so, caps, "-o", out, "-j", "1")
    finally:
        if env_before is None:
            del os.environ["ECHOTAP_CORPUS_TSHARK"]
        else:
            os.environ["ECHOTAP_CORPUS_TSHARK"] = env_before
    assert this_run(proc.stdout) == {"read": 1, "failed": 0, "skipped": 0}
    db = out / "corpus.sqlite"
    cap = rows(db, "captures")[0]
    assert cap["status"] == "ok" and cap["new_scalar"] == 7 and cap["json_packets"] == 5
    assert cap["packets"] == 140 and cap["interactions"] == 1  # capinfos' count; ours
    flow = rows(db, "flows")[0]
    assert flow["client_port"] is None and flow["host"] is None and json.loads(flow["tls"]) == {"sni": "x"}
    phase = rows(db, "phases")[0]
    assert phase["verdict_reason"] == "voice burst" and phase["per_phase_score"] == 0.5 and phase["start"] is None
    assert rows(db, "devices")[0]["vendor"] == "Amazon"
    assert rows(db, "interactions") == [{"sha256": cap["sha256"], "device": "10.0.0.2", "start": 1.5,
                                         "end": 4.0, "uploaded": 30000}]
    assert (out / "csv" / "interactions.csv").read_text().splitlines()[0] == "sha256,device,start,end,uploaded"
