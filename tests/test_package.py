"""The Debian package (CPack) and the uninstall target of the build that made the plugin.

The package is built and inspected with dpkg-deb, never installed. What it must hold comes from
Wireshark and dpkg themselves: tshark's global plugin and configuration folders, the library the
plugin links to and the package that owns it.
"""
import os
import pathlib
import re
import subprocess

import pytest

from conftest import ROOT, Tshark, tshark_version


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


def test_package_depends_on_the_libwireshark_it_was_built_for(deb, plugin_so):
    fields = dict(line.split(": ", 1) for line in
                  run("dpkg-deb", "-f", deb, "Package", "Architecture", "Depends").splitlines())
    major, minor = tshark_version().split(".")
    lib = libwireshark_package(plugin_so)
    assert fields["Package"] == "echotap"
    assert fields["Architecture"] == run("dpkg", "--print-architecture").strip()
    assert fields["Depends"] == f"{lib} (>= {major}.{minor}), {lib} (<< {major}.{int(minor) + 1})"


def test_package_puts_plugin_and_profile_in_wiresharks_global_folders(deb, tshark_plain):
    files = {line.split()[-1] for line in run("dpkg-deb", "-c", deb).splitlines() if not line.startswith("d")}
    plugins = folder(tshark_plain, "Global Plugins")
    profiles = folder(tshark_plain, "Global configuration") + "/profiles/echotap"
    expected = {f".{plugins}/epan/echotap.so"}
    expected |= {f".{profiles}/{p.name}" for p in (ROOT / "plugin" / "profile").iterdir()}
    assert files == expected


def test_packaged_plugin_loads(deb, _tmp_root):
    root = _tmp_root / "unpacked"
    run("dpkg-deb", "-x", deb, root)
    so = next(root.rglob("echotap.so"))
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
    run("cmake", "--build", build_dir, "--target", "uninstall", env=env)
    assert [p for p in staged if p.exists()] == []
