"""The real tshark with an echotap plugin, optionally ASan/UBSan-instrumented, for the robustness tools.

Debian's tshark is not built with sanitizers, so a sanitizer build of the plugin (cmake
-DECHOTAP_SANITIZE=ON) runs with the ASan runtime preloaded into tshark. Wireshark ignores
personal plugins when it runs as root, so as root tshark runs as uid 65534 with a temporary HOME
that holds the plugin where `cmake --install` puts it (as tests/conftest.py does).
"""
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
UNPRIVILEGED = 65534

# Distinct exit codes, so that a sanitizer report cannot pass for tshark's own exit status 2.
ASAN_EXIT, UBSAN_EXIT = 86, 87
SANITIZER_MARKS = (b"ERROR: AddressSanitizer", b"runtime error:", b"ERROR: LeakSanitizer",
                   b"SUMMARY: UndefinedBehaviorSanitizer", b"SUMMARY: AddressSanitizer")
# GLib criticals and Wireshark's dissector-bug reports are bugs too, whoever prints them.
BUG_MARKS = (b"-CRITICAL **", b"Dissector bug")


def tshark_version():
    out = subprocess.run(["tshark", "-v"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"TShark \(Wireshark\) (\d+)\.(\d+)", out)
    return f"{m.group(1)}.{m.group(2)}"


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


class Tshark:
    """tshark with one plugin (or none) in the user's plugin folder of a temporary HOME."""

    def __init__(self, plugin_so=None, sanitize=None):
        self.home = pathlib.Path(tempfile.mkdtemp(prefix="echotap-robust-"))
        os.chmod(self.home, 0o755)
        self.config = self.home / ".config" / "wireshark"
        self.config.mkdir(parents=True)
        if plugin_so:
            dest = self.home / ".local/lib/wireshark/plugins" / tshark_version() / "epan"
            dest.mkdir(parents=True)
            shutil.copy(plugin_so, dest / "echotap.so")
        self.sanitize = bool(plugin_so) and (is_sanitized(plugin_so) if sanitize is None else sanitize)
        if os.geteuid() == 0:
            for p in [self.home, *self.home.rglob("*")]:
                os.chown(p, UNPRIVILEGED, UNPRIVILEGED)

    def close(self):
        shutil.rmtree(self.home, ignore_errors=True)

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("WIRESHARK", "ASAN_", "UBSAN_", "LD_PRELOAD"))}
        env.update(HOME=str(self.home), TZ="UTC", LC_ALL="C.UTF-8", WIRESHARK_CONFIG_DIR=str(self.config))
        if self.sanitize:
            # As Wireshark's fuzz-test.sh: no leak check (tshark's own leaks), every wmem and GLib
            # allocation its own malloc, so that ASan sees overflows of the plugin's pool memory.
            env.update(ASAN_OPTIONS=f"detect_leaks=0:halt_on_error=1:exitcode={ASAN_EXIT}:detect_odr_violation=0",
                       UBSAN_OPTIONS=f"print_stacktrace=1:halt_on_error=1:exitcode={UBSAN_EXIT}",
                       WIRESHARK_DEBUG_WMEM_OVERRIDE="simple", G_SLICE="always-malloc")
        else:
            env.update(WIRESHARK_DEBUG_WMEM_OVERRIDE="strict", G_SLICE="debug-blocks", MALLOC_CHECK_="3")
        return env

    def command(self, args, wrapper=()):
        cmd = []
        if os.geteuid() == 0:
            cmd += ["setpriv", f"--reuid={UNPRIVILEGED}", f"--regid={UNPRIVILEGED}", "--clear-groups"]
        if self.sanitize:
            # Preloaded into tshark only (not into setpriv); never use -G under ASan: tshark then
            # spawns its extcap helpers, which hang with the runtime preloaded.
            libs = [subprocess.run(["gcc", f"-print-file-name={lib}"], capture_output=True,
                                   text=True, check=True).stdout.strip() for lib in ("libasan.so", "libubsan.so")]
            cmd += ["env", "LD_PRELOAD=" + " ".join(libs)]
        return cmd + list(wrapper) + ["tshark", *map(str, args)]

    def run(self, args, timeout=120, wrapper=(), keep_stdout=True):
        """Runs tshark; keep_stdout=False throws its output away (Wireshark's dissector-bug
        reports also go to stderr)."""
        cmd = self.command(args, wrapper)
        start = time.monotonic()
        # A new session, so that a hang is ended with everything it started.
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE if keep_stdout else subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=self.env(),
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            timed_out = True
        return Result(cmd, proc.returncode, out or b"", err, time.monotonic() - start, timed_out)
