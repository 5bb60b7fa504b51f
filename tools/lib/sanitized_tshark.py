"""The robustness tools' tshark: what counts as a failure, and the plugin builds they use.

The runner itself is echotap_tshark.Tshark (a temporary HOME with the plugin, uid 65534 when
root). Here: a sanitizer build of the plugin (cmake -DECHOTAP_SANITIZE=ON) runs with the ASan
runtime preloaded into Debian's uninstrumented tshark (echotap_tshark.sanitizer_hook), any other
with GLib's and Wireshark's allocator checks (STRICT_ALLOC); each run is bounded in time and
judged by Result.problem().
"""
import os
import pathlib
import signal
import subprocess

from echotap_tshark import (ASAN_EXIT, ROOT, STRICT_ALLOC, UBSAN_EXIT, UNPRIVILEGED,  # noqa: F401
                            Hook, sanitizer_hook, tshark_version)
import echotap_tshark

SANITIZER_MARKS = (b"ERROR: AddressSanitizer", b"runtime error:", b"ERROR: LeakSanitizer",
                   b"SUMMARY: UndefinedBehaviorSanitizer", b"SUMMARY: AddressSanitizer")
# GLib criticals and Wireshark's dissector-bug reports are bugs too, whoever prints them.
BUG_MARKS = (b"-CRITICAL **", b"Dissector bug")


def build_plugin(build_dir, sanitize=True):
    """Configures and builds the plugin (sanitizer build by default); returns its path."""
    build_dir = pathlib.Path(build_dir)
    args = ["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DECHOTAP_TESTS=OFF",
            f"-DECHOTAP_SANITIZE={'ON' if sanitize else 'OFF'}"]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(build_dir), "-j", str(os.cpu_count() or 2)],
                   check=True, stdout=subprocess.DEVNULL)
    return build_dir / "echotap.so"


def is_sanitized(plugin_so):
    """Does this echotap.so need the ASan runtime (a -DECHOTAP_SANITIZE=ON build)?"""
    out = subprocess.run(["ldd", str(plugin_so)], capture_output=True, text=True).stdout
    return "libasan" in out


class Result:
    def __init__(self, cmd, returncode, stdout, stderr, seconds, timed_out):
        self.cmd, self.returncode, self.stdout, self.stderr = cmd, returncode, stdout, stderr
        self.seconds, self.timed_out = seconds, timed_out

    def problem(self):
        """Why this run counts as a failure, or None. tshark's own exit status for a damaged or
        cut-short file (2) is not a failure: a crash, a sanitizer report or a hang is."""
        if self.timed_out:
            return "timeout"
        if self.returncode < 0:
            return f"crash (signal {signal.Signals(-self.returncode).name})"
        if self.returncode in (ASAN_EXIT, UBSAN_EXIT) or any(m in self.stderr for m in SANITIZER_MARKS):
            return "sanitizer report"
        if any(m in self.stderr or m in self.stdout for m in BUG_MARKS):
            return "bug report"
        return None


class Tshark(echotap_tshark.Tshark):
    """tshark with one plugin (or none) in the user's plugin folder of a temporary HOME.
    sanitize: preload the sanitizer runtimes (default: when the plugin needs them); hook: more."""

    def __init__(self, plugin_so=None, sanitize=None, hook=None):
        self.sanitize = bool(plugin_so) and (is_sanitized(plugin_so) if sanitize is None else sanitize)
        base = sanitizer_hook() if self.sanitize else STRICT_ALLOC
        super().__init__(plugin_so=plugin_so, hook=base + hook if hook else base, prefix="echotap-robust-")

    def run(self, args, timeout=120, wrapper=(), keep_stdout=True):
        """Runs tshark in a session of its own, bounded in time; a Result. keep_stdout=False
        throws its output away (Wireshark's dissector-bug reports also go to stderr)."""
        return Result(*self.run_bounded(args, timeout, wrapper, keep_stdout))
