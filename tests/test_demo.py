"""tools/demo.sh as root (issue 24): the commands it prints at its end work for root.

Wireshark loads no personal plugins as root, so the demo tells root to install echotap globally.
The test runs the demo, then its printed install command with DESTDIR (the machine's Wireshark
folders are not touched), and runs every printed tshark and wireshark command as root in a private
mount namespace where Wireshark's global plugin and profile folders are copies that hold what the
install wrote. The wireshark line is run as tshark with the same arguments (-C, -r, -z): the same
profile lookup and -z registration, without a display. As a user the demo installs into the
user's home, which a test must not do: there it is skipped.
"""
import os
import pathlib
import re
import shlex
import shutil
import subprocess

import pytest

from conftest import ROOT

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the demo's root path is tested as root")


def folders():
    out = subprocess.run(["tshark", "-G", "folders"], capture_output=True, text=True, check=True).stdout
    return dict(re.findall(r"^([^:\n]+):\s*(\S.*)$", out, re.M))


def cached_option(build, name):
    m = re.search(rf"^{name}:BOOL=(\w+)$", (build / "CMakeCache.txt").read_text(), re.M)
    return m.group(1) if m else "OFF"


@pytest.fixture(scope="module")
def demo_commands():
    if subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        pytest.skip("unshare -m is not allowed here (a private mount namespace is needed)")
    proc = subprocess.run([str(ROOT / "tools" / "demo.sh")], cwd=ROOT, capture_output=True, text=True,
                          timeout=1800)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tail = proc.stdout[proc.stdout.index("You are root"):]
    assert "plugins from a home folder" in tail       # the one sentence that says why
    return [line[2:] for line in tail.splitlines() if line.startswith("  ")]


def test_demo_prints_a_global_install_then_the_tables(demo_commands):
    assert "-DECHOTAP_INSTALL_GLOBAL=ON" in demo_commands[0] and "cmake --install build" in demo_commands[0]
    programs = [shlex.split(c)[0] for c in demo_commands[1:]]
    assert programs == ["tshark", "tshark", "wireshark", "tools/lib/tshark-with-plugin"]


@pytest.fixture(scope="module")
def installed(demo_commands, _tmp_root):
    """The install line run with DESTDIR; (plugin folder, profiles folder) as Wireshark's global
    ones would be after it: copies of the machine's with what the install wrote."""
    build = ROOT / "build"
    before = cached_option(build, "ECHOTAP_INSTALL_GLOBAL")
    dest = _tmp_root / "demo-dest"
    try:
        proc = subprocess.run(demo_commands[0], shell=True, cwd=ROOT, capture_output=True, text=True,
                              env=dict(os.environ, DESTDIR=str(dest)), timeout=600)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    finally:
        subprocess.run(["cmake", "-S", ROOT, "-B", build, f"-DECHOTAP_INSTALL_GLOBAL={before}"],
                       capture_output=True, check=True)
    f = folders()
    plugins, profiles = pathlib.Path(f["Global Plugins"]) / "epan", pathlib.Path(f["Global configuration"]) / "profiles"
    merged = {}
    for name, real in (("epan", plugins), ("profiles", profiles)):
        copy = _tmp_root / "demo-global" / name
        if real.exists():
            shutil.copytree(real, copy, symlinks=True)
        shutil.copytree(dest / str(real).lstrip("/"), copy, dirs_exist_ok=True)
        merged[real] = copy
    assert (merged[plugins] / "echotap.so").exists()
    assert (merged[profiles] / "echotap" / "preferences").exists()
    return merged


def as_root_with(mounts, argv, home):
    """argv as root, in a mount namespace of its own where each real folder shows its copy."""
    binds = " && ".join(f"mount --bind {shlex.quote(str(copy))} {shlex.quote(str(real))}"
                        for real, copy in mounts.items())
    script = f"mount --make-rprivate / && {binds} && exec \"$@\""
    return subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", *argv], cwd=ROOT, capture_output=True,
                          text=True, env=dict(os.environ, HOME=str(home)), timeout=600)


@pytest.mark.parametrize("index", [1, 2, 3])
def test_printed_command_works_as_root_after_the_install(demo_commands, installed, _tmp_root, index):
    argv = shlex.split(demo_commands[index])
    if argv[0] == "wireshark":
        argv = ["tshark", "-q", *argv[1:]]
    home = _tmp_root / "demo-root-home"
    home.mkdir(exist_ok=True)
    proc = as_root_with(installed, argv, home)
    assert proc.returncode == 0, proc.stderr
    table = re.search(r"-z echotap,(\w+)", demo_commands[index]).group(1)
    assert {"phases": "Echotap Phases:", "flows": "Echotap Flows:"}[table] in proc.stdout
    if "echotap.schedule" in demo_commands[index]:
        assert "conversation" in proc.stdout
    if not any((real / "echotap.so").exists() for real in installed):
        # Without the install the same command fails as root: what the demo's sentence says.
        bare = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=dict(os.environ, HOME=str(home)),
                              timeout=600)
        assert bare.returncode != 0


def test_printed_wrapper_works_as_root_without_installing(demo_commands):
    proc = subprocess.run(shlex.split(demo_commands[4]), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "Echotap Phases:" in proc.stdout and "conversation" in proc.stdout
