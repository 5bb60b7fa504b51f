"""Shared fixtures: run the real tshark with the built echotap plugin.

Wireshark ignores the personal plugin folder when it runs as root, so when the tests run as
root tshark is started as an unprivileged user (setpriv) with a temporary HOME that holds the
plugin where `cmake --install` puts it for a user: ~/.local/lib/wireshark/plugins/X.Y/epan/.
"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "captures"
UNPRIVILEGED = "65534"


def tshark_version():
    out = subprocess.run(["tshark", "-v"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"TShark \(Wireshark\) (\d+)\.(\d+)", out)
    return f"{m.group(1)}.{m.group(2)}"


class Tshark:
    """Runs tshark as a normal user would, with or without the plugin installed."""

    def __init__(self, home, plugin_so):
        self.home = pathlib.Path(home)
        self.config = self.home / ".config" / "wireshark"
        self.config.mkdir(parents=True, exist_ok=True)
        if plugin_so:
            dest = self.home / ".local/lib/wireshark/plugins" / tshark_version() / "epan"
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(plugin_so, dest / "echotap.so")
        if os.geteuid() == 0:
            for p in [self.home, *self.home.rglob("*")]:
                os.chown(p, int(UNPRIVILEGED), int(UNPRIVILEGED))

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("WIRESHARK")}
        env.update(HOME=str(self.home), TZ="UTC", LC_ALL="C.UTF-8",
                   WIRESHARK_CONFIG_DIR=str(self.config))
        return env

    def prefix(self):
        if os.geteuid() == 0:
            return ["setpriv", f"--reuid={UNPRIVILEGED}", f"--regid={UNPRIVILEGED}", "--clear-groups"]
        return []

    def run(self, *args, check=True, timeout=300):
        """Returns the CompletedProcess; stdout/stderr as text."""
        cmd = self.prefix() + ["tshark", *map(str, args)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env(), timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    def fields(self, capture, fields, *extra):
        """Rows of -T fields output as lists of strings (tab separated)."""
        args = ["-r", capture, "-T", "fields", "-E", "occurrence=f"]
        for f in fields:
            args += ["-e", f]
        out = self.run(*args, *extra).stdout
        return [line.split("\t") for line in out.splitlines()]


def _plugin_so():
    so = os.environ.get("ECHOTAP_PLUGIN")
    if so:
        return pathlib.Path(so)
    found = sorted((ROOT / "build").rglob("echotap.so"))
    return found[0] if found else None


@pytest.fixture(scope="session")
def plugin_so():
    so = _plugin_so()
    if not so or not so.exists():
        pytest.fail("echotap.so not built: run cmake --build build (or set ECHOTAP_PLUGIN)")
    return so


@pytest.fixture(scope="session")
def _tmp_root():
    d = tempfile.mkdtemp(prefix="echotap-test-")
    os.chmod(d, 0o755)
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def tshark(_tmp_root, plugin_so):
    """tshark with the echotap plugin in the user's plugin folder."""
    return Tshark(_tmp_root / "home-plugin", plugin_so)


@pytest.fixture(scope="session")
def tshark_plain(_tmp_root):
    """tshark without echotap: Wireshark's own view of a capture."""
    return Tshark(_tmp_root / "home-plain", None)


def load_truth(capture):
    path = pathlib.Path(str(capture).replace(".pcapng", ".truth.json"))
    return json.loads(path.read_text())


def truth_captures():
    """Every committed capture that has a truth file next to it."""
    return sorted(p for p in CAPTURES.glob("*.pcapng") if p.with_suffix(".truth.json").exists())
