"""The Debian package (CPack) and the uninstall target of the build that made the plugin.

The package is built and inspected with dpkg-deb and lintian, never installed; its tools run from
a dpkg -x copy. What it must hold comes from Wireshark and dpkg themselves: tshark's global plugin
and configuration folders, the library the plugin links to and the package that owns it.
"""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

from conftest import CAPTURES, ROOT, Tshark, tshark_version

# Command in /usr/bin -> the tool it runs, in /usr/share/echotap.
COMMANDS = {"echotap-corpus": "echotap-corpus", "echotap-summary": "echotap-summary", "echotap-plot": "plot"}


@pytest.fixture(scope="module")
def build_dir(plugin_so):
    build = pathlib.Path(plugin_so).resolve().parent
    if not (build / "CPackConfig.cmake").exists():
        pytest.skip(f"{plugin_so} is not in a CMake build directory")
    return build


def run(*args, **kw):
    return subprocess.run(list(map(str, args)), capture_output=True, text=True, check=True, **kw).stdout


def folder(tshark_plain, name):
    for line in tshark_plain.run("-G", "folders").stdout.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip()
    raise AssertionError(f"tshark -G folders has no {name!r}")


def libwireshark_package(plugin_so):
    """The Debian package that owns the libwireshark the plugin is linked to."""
    m = re.search(r"libwireshark\.so\.\d+ => (\S+)", run("ldd", plugin_so))
    owner = run("dpkg-query", "-S", os.path.realpath(m.group(1)))
    return owner.split(":")[0]


@pytest.fixture(scope="module")
def deb(build_dir, _tmp_root):
    out = _tmp_root / "package"
    run("cpack", "--config", build_dir / "CPackConfig.cmake", "-B", out)
    debs = list(out.glob("*.deb"))
    assert len(debs) == 1, debs
    return debs[0]


@pytest.fixture(scope="module")
def unpacked(deb, _tmp_root):
    root = _tmp_root / "unpacked"
    run("dpkg-deb", "-x", deb, root)
    return root


def contents(deb):
    """{path: link target, or None for a file} of everything but the folders in the package."""
    entries = {}
    for line in run("dpkg-deb", "-c", deb).splitlines():
        name = line.split(None, 5)[5]
        if line.startswith("l"):
            name, _, target = name.partition(" -> ")
            entries[name] = target
        elif not line.startswith("d"):
            entries[name] = None
    return entries


def test_package_depends_on_the_libwireshark_it_was_built_for(deb, plugin_so):
    fields = dict(line.split(": ", 1) for line in
                  run("dpkg-deb", "-f", deb, "Package", "Architecture", "Depends").splitlines())
    major, minor = tshark_version().split(".")
    lib = libwireshark_package(plugin_so)
    assert fields["Package"] == "echotap"
    assert fields["Architecture"] == run("dpkg", "--print-architecture").strip()
    depends = fields["Depends"].split(", ")
    assert depends[:3] == [f"{lib} (>= {major}.{minor})", f"{lib} (<< {major}.{int(minor) + 1})", "python3"]
    assert any(d.startswith("libc6 (>= ") for d in depends), depends       # from dpkg-shlibdeps


def test_package_holds_plugin_profile_tools_and_debian_docs(deb, tshark_plain):
    plugins = folder(tshark_plain, "Global Plugins")
    profiles = folder(tshark_plain, "Global configuration") + "/profiles/echotap"
    expected = {f".{plugins}/epan/echotap.so": None}
    expected |= {f".{profiles}/{p.name}": None for p in (ROOT / "plugin" / "profile").iterdir()}
    expected |= {f"./usr/share/echotap/{tool}": None for tool in COMMANDS.values()}
    expected |= {"./usr/share/echotap/lib/echotap_tshark.py": None, "./usr/share/echotap/lib/tshark-with-plugin": None}
    expected |= {f"./usr/bin/{cmd}": f"../share/echotap/{tool}" for cmd, tool in COMMANDS.items()}
    expected |= {"./usr/share/doc/echotap/changelog.gz": None, "./usr/share/doc/echotap/copyright": None}
    assert contents(deb) == expected


def test_lintian_finds_no_errors(deb):
    if not shutil.which("lintian"):
        pytest.skip("lintian is not installed (apt-get install lintian, or tools/setup.sh)")
    proc = subprocess.run(["lintian", deb], capture_output=True, text=True)
    errors = [line for line in proc.stdout.splitlines() if line.startswith("E:")]
    assert errors == [], proc.stdout
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_packaged_tools_run_from_their_installed_paths(unpacked, plugin_so):
    env = {k: v for k, v in os.environ.items() if k != "ECHOTAP_PLUGIN"}
    for cmd in COMMANDS:
        proc = subprocess.run([unpacked / "usr/bin" / cmd, "--help"], capture_output=True, text=True, env=env)
        assert proc.returncode == 0 and re.search(r"^usage:", proc.stdout, re.M), (cmd, proc.stdout, proc.stderr)
    # Installed (no checkout around lib/), the runner is plain tshark, which loads the global plugin.
    lib = unpacked / "usr/share/echotap/lib"
    proc = subprocess.run(["python3", "-c", "import echotap_tshark; print(echotap_tshark.default_plugin())"],
                          capture_output=True, text=True, env=dict(env, PYTHONPATH=lib), check=True)
    assert proc.stdout == "None\n"
    assert "TShark (Wireshark)" in run(lib / "tshark-with-plugin", "-v", env=env)
    # With ECHOTAP_PLUGIN (here the packaged plugin), a capture's answer through the packaged lib/.
    so = next(unpacked.rglob("echotap.so"))
    out = run(unpacked / "usr/bin/echotap-summary", CAPTURES / "echo-study.pcapng", env=dict(env, ECHOTAP_PLUGIN=so))
    assert re.search(r"^Speaker \S+: upload per phase", out, re.M), out


def test_packaged_plugin_loads(deb, unpacked, _tmp_root):
    so = next(unpacked.rglob("echotap.so"))
    version = run("dpkg-deb", "-f", deb, "Version").strip()
    listed = Tshark(_tmp_root / "home-packaged", so).run("-G", "plugins").stdout
    assert re.search(rf"^echotap\.so\s+{re.escape(version)}\s", listed, re.M), listed


def test_uninstall_removes_what_install_wrote(build_dir, _tmp_root):
    env = dict(os.environ, DESTDIR=str(_tmp_root / "destdir"))
    run("cmake", "--install", build_dir, env=env)
    installed = (build_dir / "install_manifest.txt").read_text().split()
    assert any(p.endswith("/epan/echotap.so") for p in installed)
    staged = [pathlib.Path(env["DESTDIR"] + p) for p in installed]
    assert all(p.is_file() for p in staged)
    profile = next(p for p in staged if p.name == "preferences").parent
    run("cmake", "--build", build_dir, "--target", "uninstall", env=env)
    assert [p for p in staged if p.exists()] == []
    assert not profile.exists()
    # A profile folder that Wireshark or the user wrote into is kept, with their file.
    run("cmake", "--install", build_dir, env=env)
    (profile / "recent_common").write_text("")
    run("cmake", "--build", build_dir, "--target", "uninstall", env=env)
    assert [p.name for p in profile.iterdir()] == ["recent_common"]
