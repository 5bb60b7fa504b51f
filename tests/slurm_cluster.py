"""A real one-node Slurm cluster on this machine (Debian's slurm-wlm and munge), for a test.

munged, slurmctld and slurmd run in the foreground as our children, with everything of theirs
(munge key and socket, slurm.conf, state, spool, logs) in one folder and ports of their own: the
system's /etc/slurm, /etc/munge and any munged already running are neither used nor changed.
How it is set up: ../shared/notes/slurm-one-node.md. `Cluster(folder).start()` raises
`Unavailable` (the reason) where it cannot start; `stop()`, to be called whatever happened, cancels
what still runs and stops every daemon that start() started.
"""
import os
import pathlib
import pwd
import shutil
import socket
import subprocess
import time

PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo", "setpriv")


class Unavailable(Exception):
    """The cluster cannot start here; the message says why."""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path, chars=1500):
    return path.read_text(errors="replace")[-chars:] if path.exists() else f"({path} not written)"


class Cluster:
    def __init__(self, folder):
        self.folder = pathlib.Path(folder)
        self.env = dict(os.environ, SLURM_CONF=str(self.folder / "slurm.conf"))
        self.procs = []

    def run(self, *args, timeout=30):
        return subprocess.run(list(map(str, args)), capture_output=True, text=True, env=self.env, timeout=timeout)

    def logs(self):
        return "\n".join(f"--- {name}\n{_tail(self.folder / name)}"
                         for name in ("munge/munged.log", "slurmctld.log", "slurmd.log"))

    def _daemon(self, name, args):
        out = open(self.folder / f"{name}.out", "w")
        self.procs.append(subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=self.env))
        out.close()

    def start(self):
        missing = [p for p in PROGRAMS if not shutil.which(p)]
        if missing:
            raise Unavailable(f"no {', '.join(missing)} (apt-get install slurm-wlm munge, or tools/setup.sh)")
        if os.geteuid() != 0:
            raise Unavailable("not root: slurmd runs jobs as their user only when it runs as root")
        try:
            munge_user = pwd.getpwnam("munge")
        except KeyError:
            raise Unavailable("no munge user (apt-get install munge)") from None
        os.chmod(self.folder, 0o755)        # munged, as munge, reaches its folder inside
        munge = self.folder / "munge"
        munge.mkdir(mode=0o700)
        key = munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        for path, mode in ((munge, 0o700), (key, 0o400)):
            os.chown(path, munge_user.pw_uid, munge_user.pw_gid)
            os.chmod(path, mode)
        sock = munge / "socket"
        # -f: munged refuses a socket folder under the world-writable /tmp otherwise.
        self._daemon("munged", ["setpriv", f"--reuid={munge_user.pw_uid}", f"--regid={munge_user.pw_gid}",
                                "--clear-groups", "munged", "-F", "-f", f"--key-file={key}", f"--socket={sock}",
                                f"--pid-file={munge / 'pid'}", f"--seed-file={munge / 'seed'}",
                                f"--log-file={munge / 'munged.log'}"])
        self._wait(lambda: sock.exists(), 10, "munged did not open its socket")
        host = socket.gethostname().split(".")[0]
        state, spool = self.folder / "state", self.folder / "spool"
        state.mkdir()
        spool.mkdir()
        (self.folder / "slurm.conf").write_text(f"""ClusterName=echotap-test
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket={sock}
CredType=cred/munge
StateSaveLocation={state}
SlurmdSpoolDir={spool}
SlurmctldPidFile={self.folder / 'slurmctld.pid'}
SlurmdPidFile={self.folder / 'slurmd.pid'}
SlurmctldLogFile={self.folder / 'slurmctld.log'}
SlurmdLogFile={self.folder / 'slurmd.log'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName={host} NodeAddr=127.0.0.1 CPUs={os.cpu_count() or 1} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES State=UP
""")
        self._daemon("slurmctld", ["slurmctld", "-D", "-c"])
        self._daemon("slurmd", ["slurmd", "-D"])
        self._wait(lambda: self.run("sinfo", "-h", "-o", "%T").stdout.strip() == "idle", 30,
                   "the node did not become idle")

    def _wait(self, ready, seconds, what):
        deadline = time.monotonic() + seconds
        while not ready():
            dead = [p.args[0] for p in self.procs if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                raise Unavailable(f"{what} within {seconds} s" + (f" ({', '.join(dead)} exited)" if dead else "")
                                  + "\n" + self.logs())
            time.sleep(0.3)

    def sbatch_and_wait(self, script, seconds):
        """Submits the batch script and waits until none of its tasks is left; the job id."""
        sub = self.run("sbatch", "--parsable", script)
        if sub.returncode != 0:
            raise AssertionError(f"sbatch {script}: {sub.stderr}")
        job = sub.stdout.strip().split(";")[0]
        deadline = time.monotonic() + seconds
        while self.run("squeue", "-h", "-j", job, "-o", "%i").stdout.strip():
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job} still queued or running after {seconds} s\n{self.logs()}")
            time.sleep(0.5)
        return job

    def exit_codes(self, job):
        """{array task id: "exit:signal"} of a finished array job (kept by slurmctld for MinJobAge)."""
        out = self.run("scontrol", "-o", "show", "job", job).stdout
        codes = {}
        for line in out.splitlines():
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            codes[fields.get("ArrayTaskId")] = fields.get("ExitCode")
        return codes

    def stop(self):
        if any(p.poll() is None for p in self.procs[1:]):
            try:
                self.run("scancel", "--user", "root")
                deadline = time.monotonic() + 15
                while self.run("squeue", "-h").stdout.strip() and time.monotonic() < deadline:
                    time.sleep(0.5)
                self.run("scontrol", "shutdown")    # while munged still runs, or they cannot be reached
            except subprocess.TimeoutExpired:
                pass                                # a daemon that does not answer is ended below
        for proc in reversed(self.procs):           # slurmd and slurmctld end by themselves, then munged
            try:
                proc.wait(timeout=0 if proc is self.procs[0] else 15)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
