"""Live capture on the loopback interface for the tests: TLS traffic to capture, and a capturing
tshark or wireshark run as the unprivileged user of a Tshark sandbox.

Wireshark and tshark capture through dumpcap, which they run from their own folder (the folder of
/proc/self/exe, so a copy of the program runs the dumpcap beside the copy). Debian's dumpcap can
capture only as root or with the capabilities that `dpkg-reconfigure wireshark-common` gives it
for the wireshark group. So, as root, `capture_programs` copies the program and dumpcap into a
folder of the sandbox and gives that dumpcap `cap_net_raw,cap_net_admin+eip` (setcap): the
unprivileged user then captures with the plugin in its HOME, as a user of the wireshark group
would. Not root: the installed programs are used, if the user may capture with them. Where
neither works (no setcap, a filesystem without file capabilities, a container without
CAP_NET_RAW), the test is skipped and says why.

The traffic: `openssl s_server -www` on a free high port of 127.0.0.1 and `openssl s_client`
connections with SNI avs-alexa-1-na.amazon.com, each sending an HTTP request and reading the
server's status page (a few kB down), in a bounded loop.
"""
import os
import pathlib
import shutil
import socket
import subprocess
import threading
import time

import pytest

SNI = "avs-alexa-1-na.amazon.com"
UNPRIVILEGED = 65534          # the user the sandbox runs Wireshark as when we are root


def capture_programs(sandbox, *programs):
    """{name: path} of programs ("tshark", "wireshark") that capture as the sandbox's user."""
    if os.geteuid() != 0:
        found = {p: shutil.which(p) for p in programs}
        _check_capture(sandbox, shutil.which("dumpcap"), "the installed dumpcap")
        return found
    if not shutil.which("setcap"):
        pytest.skip("no setcap (Debian package libcap2-bin): cannot let the unprivileged user capture")
    bindir = sandbox.home / "capture-bin"
    bindir.mkdir(exist_ok=True)
    os.chmod(bindir, 0o755)
    for name in ("dumpcap", *programs):
        shutil.copy(shutil.which(name), bindir / name)
    proc = subprocess.run(["setcap", "cap_net_raw,cap_net_admin+eip", str(bindir / "dumpcap")],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"setcap on a copy of dumpcap failed: {proc.stderr.strip()}")
    _check_capture(sandbox, bindir / "dumpcap", "a copy of dumpcap with cap_net_raw,cap_net_admin")
    return {p: str(bindir / p) for p in programs}


def _check_capture(sandbox, dumpcap, what):
    out = sandbox.home / "capture-check.pcapng"
    proc = subprocess.run(sandbox.prefix() + [str(dumpcap), "-q", "-i", "lo", "-a", "duration:1", "-w", str(out)],
                          capture_output=True, text=True, env=sandbox.env(), timeout=30)
    if proc.returncode != 0:
        pytest.skip(f"the unprivileged user cannot capture on lo with {what}: {proc.stderr.strip()[-300:]}")


def user_dir(sandbox, name):
    """A folder of the sandbox that its user may write (dumpcap writes the capture there)."""
    d = sandbox.home / name
    d.mkdir(exist_ok=True)
    if os.geteuid() == 0:
        os.chown(d, UNPRIVILEGED, UNPRIVILEGED)
    return d


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TlsTraffic:
    """A TLS server on 127.0.0.1:port and, once start_clients() is called, one client connection
    every `pause` seconds until stop() or `limit` connections."""

    def __init__(self, workdir, limit=100, pause=0.3):
        self.port, self.limit, self.pause = free_port(), limit, pause
        self.connections = 0
        self._stop = threading.Event()
        self._thread = None
        key, cert = workdir / "server-key.pem", workdir / "server-cert.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                        "-out", str(cert), "-days", "2", "-subj", f"/CN={SNI}"], check=True, capture_output=True)
        self.server = subprocess.Popen(["openssl", "s_server", "-accept", str(self.port), "-cert", str(cert),
                                        "-key", str(key), "-www", "-quiet"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(50):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"openssl s_server does not listen on port {self.port}")

    def connect_once(self):
        """One TLS connection with the SNI: an HTTP request up, the server's status page down."""
        proc = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{self.port}", "-servername", SNI,
                               "-ign_eof"], input=b"GET / HTTP/1.0\r\n\r\n", capture_output=True, timeout=20)
        assert b"HTTP/1.0 200" in proc.stdout, proc.stderr.decode(errors="replace")[-500:]
        self.connections += 1

    def _loop(self):
        while self.connections < self.limit and not self._stop.is_set():
            self.connect_once()
            self._stop.wait(self.pause)

    def start_clients(self):
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop_clients(self):
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)

    def stop(self):
        self.stop_clients()
        self.server.terminate()
        try:
            self.server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()


def readable_copy(path, dest):
    """A copy of a capture the unprivileged user wrote (dumpcap writes mode 0600), for reading
    with the sandbox's tshark."""
    shutil.copy(path, dest)
    os.chmod(dest, 0o644)
    return pathlib.Path(dest)
