"""tshark (or wireshark) with the echotap plugin, as a normal user would run it: the one runner.

Wireshark ignores personal plugins when it runs as root. So a `Tshark` makes a temporary HOME
that holds the plugin where `cmake --install` puts it for a user
(~/.local/lib/wireshark/plugins/X.Y/epan/echotap.so, X.Y the installed Wireshark's version) and
an empty ~/.config/wireshark, hands it to uid 65534 when we are root, and builds the command and
environment to run tshark (or wireshark) there: `setpriv` to that uid when root, no other
Wireshark setting from our environment, TZ=UTC, LC_ALL=C.UTF-8.

Hooks, for the tools that run tshark differently:
- `Hook(env=, preload=, wrapper=)`: environment variables, libraries preloaded into tshark only
  (not into setpriv), and a wrapper command put before tshark (valgrind). `sanitizer_hook()`
  preloads the ASan and UBSan runtimes for a -DECHOTAP_SANITIZE=ON plugin; `STRICT_ALLOC`
  turns on GLib's and Wireshark's allocator checks; `valgrind_hook(...)` runs under valgrind.
- `Tshark.measure(args)`: user CPU, wall time and peak RSS of one run, from the child's rusage
  (what `/usr/bin/time` reports), for the bench.
- `Tshark.run_bounded(args)`: a run in its own session, killed with everything it started when
  over its time bound (the robustness tools).

Used by tests/conftest.py, tests/gui, tools/bench, tools/fuzz, tools/valgrind-check,
tools/sample-corpus and tools/long-run (the last three through sanitized_tshark.py, which says
what counts as a failure). tools/lib/tshark-with-plugin is the shell entry point: as root or with
$ECHOTAP_PLUGIN it runs `echotap_tshark.py exec [tshark arguments]`.

Also here, so that it is written once: `tshark_version()`; the statistics groups, their labels
and `group_of()` (doc/classification.md), the service sets the tools check; `Runner` and
`echotap_json()`, the one way the tools (echotap-summary, plot, eval-real, echotap-corpus) run
`-z echotap,json` and read it.
"""
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
# tools/lib of a checkout (else installed beside the user tools: no build/ to take a plugin from).
IN_CHECKOUT = HERE.name == "lib" and HERE.parent.name == "tools"
UNPRIVILEGED = 65534
# The statistics groups, in the tables' column order, and the tables' labels for them
# (doc/classification.md "Statistics groups").
GROUPS = ("voice", "metrics", "cdn", "other", "untagged")
GROUP_LABELS = {"voice": "Voice", "metrics": "Metrics", "cdn": "CDN", "other": "Other", "untagged": "Untagged"}
# Every assistant's voice service (group voice); `voice`: a speaker whose assistant is unknown.
VOICE_SERVICES = frozenset({"avs", "siri", "google-assistant", "voice"})
# An Echo's own services (rules.c speaker_services): on a device that is not a speaker they are `amazon`.
ALEXA_SPEAKER_SERVICES = frozenset({"avs", "metrics", "cdn", "api", "connectivity", "time"})
# Services only a speaker has (on any other device they collapse into amazon, apple or google).
SPEAKER_SERVICES = ALEXA_SPEAKER_SERVICES | VOICE_SERVICES
# The services of Amazon's hosts.
AMAZON_SERVICES = ALEXA_SPEAKER_SERVICES | {"amazon"}

# Distinct exit codes, so that a sanitizer report cannot pass for tshark's own exit status 2.
ASAN_EXIT, UBSAN_EXIT = 86, 87
# Variables of ours that must not reach tshark unless a hook sets them.
_DROPPED_ENV = ("WIRESHARK", "ASAN_", "UBSAN_", "LD_PRELOAD")


def group_of(service):
    """Statistics group of a service: voice for the voice services; its own for metrics and cdn;
    untagged for None or "untagged"; other for every other service."""
    if service in (None, "untagged"):
        return "untagged"
    if service in VOICE_SERVICES:
        return "voice"
    return service if service in ("metrics", "cdn") else "other"


def tshark_version(program="tshark"):
    """The installed Wireshark's X.Y, which names the personal plugin folder."""
    out = subprocess.run([program, "-v"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"\(Wireshark\) (\d+)\.(\d+)", out)
    return f"{m.group(1)}.{m.group(2)}"


def default_plugin():
    """$ECHOTAP_PLUGIN, else build/echotap.so of this checkout (which may not exist); None where
    this file is installed (the .deb, no checkout around it): the global plugin, which Wireshark
    loads for root too, so plain tshark."""
    so = os.environ.get("ECHOTAP_PLUGIN")
    if so:
        return pathlib.Path(so)
    return ROOT / "build" / "echotap.so" if (ROOT / "CMakeLists.txt").is_file() else None


class Hook:
    """How a tool changes a run: extra environment (a value None unsets the variable), libraries
    preloaded into tshark, a wrapper command (valgrind ...) between setpriv and tshark. Hooks add
    up with +, the right one's variables winning."""

    def __init__(self, env=None, preload=(), wrapper=()):
        self.env, self.preload, self.wrapper = dict(env or {}), list(preload), list(wrapper)

    def __add__(self, other):
        return Hook({**self.env, **other.env}, self.preload + other.preload, self.wrapper + other.wrapper)


# GLib's and Wireshark's own allocator checks (as Wireshark's fuzz-test.sh without sanitizers).
STRICT_ALLOC = Hook(env={"WIRESHARK_DEBUG_WMEM_OVERRIDE": "strict", "G_SLICE": "debug-blocks",
                         "MALLOC_CHECK_": "3"})


def sanitizer_hook():
    """For a -DECHOTAP_SANITIZE=ON plugin in Debian's uninstrumented tshark: the ASan and UBSan
    runtimes preloaded. No leak check (tshark's own leaks); every wmem and GLib allocation its
    own malloc, so that ASan sees overflows of the plugin's pool memory. Never use -G with it:
    tshark then spawns its extcap helpers, which hang with the runtime preloaded."""
    libs = [subprocess.run(["gcc", f"-print-file-name={lib}"], capture_output=True, text=True,
                           check=True).stdout.strip() for lib in ("libasan.so", "libubsan.so")]
    return Hook(env={"ASAN_OPTIONS": f"detect_leaks=0:halt_on_error=1:exitcode={ASAN_EXIT}:detect_odr_violation=0",
                     "UBSAN_OPTIONS": f"print_stacktrace=1:halt_on_error=1:exitcode={UBSAN_EXIT}",
                     "WIRESHARK_DEBUG_WMEM_OVERRIDE": "simple", "G_SLICE": "always-malloc"},
                preload=libs)


def valgrind_hook(*valgrind_args, preload=()):
    """tshark under valgrind; GLib and Wireshark allocate through plain malloc, so that valgrind
    sees each block."""
    return Hook(env={"G_SLICE": "always-malloc", "G_DEBUG": "gc-friendly", "WIRESHARK_DEBUG_WMEM_OVERRIDE": "simple",
                     "MALLOC_CHECK_": None},
                preload=preload, wrapper=["valgrind", *valgrind_args])


class Tshark:
    """tshark with one plugin (or none) in the user's plugin folder of a HOME of its own.

    home: the folder to use (made if missing, kept by close()); default a new temporary folder,
    removed by close(). plugin_so: the echotap.so to install there, or None for plain tshark.
    hook: a Hook applied to every run. pin_locale: TZ=UTC and LC_ALL=C.UTF-8 (repeatable
    output), else the caller's. Usable as a context manager."""

    def __init__(self, home=None, plugin_so=None, hook=None, prefix="echotap-", pin_locale=True):
        self._temporary = home is None
        self.pin_locale = pin_locale
        self.home = pathlib.Path(home or tempfile.mkdtemp(prefix=prefix))
        self.hook = hook or Hook()
        self.config = self.home / ".config" / "wireshark"
        self.config.mkdir(parents=True, exist_ok=True)
        if plugin_so:
            dest = self.home / ".local/lib/wireshark/plugins" / tshark_version() / "epan"
            dest.mkdir(parents=True, exist_ok=True)
            shutil.copy(plugin_so, dest / "echotap.so")
        os.chmod(self.home, 0o755)
        if os.geteuid() == 0:
            for p in [self.home, *self.home.rglob("*")]:
                os.chown(p, UNPRIVILEGED, UNPRIVILEGED)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self._temporary:
            shutil.rmtree(self.home, ignore_errors=True)

    def give(self, path):
        """Hands a file or folder made in HOME afterwards to the user tshark runs as."""
        if os.geteuid() == 0:
            os.chown(path, UNPRIVILEGED, UNPRIVILEGED)
        return path

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_ENV)}
        env.update(HOME=str(self.home), WIRESHARK_CONFIG_DIR=str(self.config))
        if self.pin_locale:
            env.update(TZ="UTC", LC_ALL="C.UTF-8")
        env.update(self.hook.env)
        env.update(extra)
        return {k: v for k, v in env.items() if v is not None}     # None: a hook unsets it

    @staticmethod
    def prefix():
        """setpriv to the unprivileged user when we are root, else nothing."""
        if os.geteuid() == 0:
            return ["setpriv", f"--reuid={UNPRIVILEGED}", f"--regid={UNPRIVILEGED}", "--clear-groups"]
        return []

    def command(self, args, program="tshark", wrapper=()):
        """argv of one run: setpriv, the preloads, the hook's and this call's wrapper, the program."""
        cmd = self.prefix()
        if self.hook.preload:
            cmd += ["env", "LD_PRELOAD=" + " ".join(map(str, self.hook.preload))]
        return cmd + self.hook.wrapper + list(wrapper) + [program, *map(str, args)]

    def run(self, *args, check=True, timeout=300, program="tshark", **kwargs):
        """Runs tshark with these arguments; the CompletedProcess, stdout and stderr as text.
        check: raise AssertionError, with stderr, on a non-zero exit."""
        cmd = self.command(args, program)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env(), timeout=timeout, **kwargs)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    def fields(self, capture, fields, *extra):
        """Rows of -T fields output as lists of strings (tab separated)."""
        args = ["-r", capture, "-T", "fields", "-E", "occurrence=f"]
        for f in fields:
            args += ["-e", f]
        return [line.split("\t") for line in self.run(*args, *extra).stdout.splitlines()]

    def popen(self, args, program="tshark", wrapper=(), extra_env=None, **kwargs):
        """The program started (subprocess.Popen keyword arguments); extra_env: more variables."""
        return subprocess.Popen(self.command(args, program, wrapper), env=self.env(**(extra_env or {})), **kwargs)

    def run_bounded(self, args, timeout=120, wrapper=(), keep_stdout=True):
        """(argv, exit status, stdout bytes, stderr bytes, seconds, timed out) of one run in a
        session of its own, so that a hang is ended with everything it started.
        keep_stdout=False throws stdout away."""
        start = time.monotonic()
        proc = self.popen(args, wrapper=wrapper, stdout=subprocess.PIPE if keep_stdout else subprocess.DEVNULL,
                          stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            timed_out = True
        return proc.args, proc.returncode, out or b"", err, time.monotonic() - start, timed_out

    def measure(self, args, program="tshark", wrapper=()):
        """(user CPU s, wall s, peak RSS MB) of one run, from the child's rusage as /usr/bin/time
        reports them; output thrown away. Exits with stderr's tail when the run fails."""
        start = time.monotonic()
        with open(os.devnull, "wb") as null, tempfile.TemporaryFile() as err:
            proc = self.popen(args, program, wrapper, stdout=null, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            wall = time.monotonic() - start
            if proc.returncode != 0:
                err.seek(0)
                sys.exit(f"{program} {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                         f"{err.read().decode(errors='replace')[-2000:]}")
        return usage.ru_utime, wall, usage.ru_maxrss / 1024.0


class EchotapError(Exception):
    """A run that gave no echotap JSON; the message says why in a line."""


class Runner:
    """tshark with echotap, the way tools/lib/tshark-with-plugin runs it. With $ECHOTAP_PLUGIN, or
    as root in a checkout (default build/echotap.so): a Tshark holding that plugin, one temporary
    HOME for every run. Else plain `tshark` with the plugin the user installed (as root Wireshark
    loads only a global install). command: these words instead of tshark (a wrapper of your own)."""

    def __init__(self, command=None, prefix="echotap-run."):
        self.ts = None
        self.words = list(command or ["tshark"])
        if command is None and (os.environ.get("ECHOTAP_PLUGIN") or (IN_CHECKOUT and os.geteuid() == 0)):
            plugin = default_plugin()
            if not plugin.is_file():
                raise EchotapError(f"no plugin at {plugin}: build it (cmake -B build && cmake --build build) "
                                   "or set ECHOTAP_PLUGIN")
            self.ts = Tshark(plugin_so=plugin, prefix=prefix, pin_locale=False)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.ts:
            self.ts.close()

    def command(self, args):
        return self.ts.command(args) if self.ts else self.words + [str(a) for a in args]

    def env(self):
        return self.ts.env() if self.ts else None


def echotap_json_args(capture="-", prefs=(), interval=None):
    """tshark's arguments for `-z echotap,json` of a capture ("-": standard input); prefs: PREF:VALUE
    strings, each an -o; interval: the timeline's, in seconds (None: the export's default)."""
    args = ["-r", str(capture), "-q"]
    for pref in prefs:
        args += ["-o", pref]
    return args + ["-z", "echotap,json" + (f",interval={interval:g}" if interval else "")]


def parse_echotap_json(stdout, stderr="", returncode=0):
    """The JSON object of one run's output. Raises EchotapError when tshark did not load the plugin,
    exited non-zero (returncode None: the caller judges the exit itself) or printed no JSON object."""
    if 'Invalid -z argument "echotap' in stderr:
        raise EchotapError("tshark has not loaded the echotap plugin: install it (cmake --install build) "
                           "or set ECHOTAP_PLUGIN=path/to/echotap.so")
    if returncode:
        raise EchotapError(f"tshark failed (exit {returncode}): {' '.join(stderr.split()) or 'no message'}")
    try:
        data = json.loads(stdout)
    except ValueError as e:
        raise EchotapError(f"output is not JSON ({e})") from None
    if not isinstance(data, dict):
        raise EchotapError("output is not a JSON object")
    return data


def echotap_json(capture, prefs=(), interval=None, runner=None, timeout=None):
    """`-z echotap,json` of a capture file, parsed (parse_echotap_json). The file goes through
    stdin, so that uid 65534 need not be able to read it. runner: a Runner to share between runs
    (default: one for this run)."""
    own = runner is None
    runner = runner or Runner()
    try:
        with open(capture, "rb") as stdin:
            proc = subprocess.run(runner.command(echotap_json_args("-", prefs, interval)), stdin=stdin,
                                  capture_output=True, text=True, env=runner.env(), timeout=timeout)
    finally:
        if own:
            runner.close()
    return parse_echotap_json(proc.stdout, proc.stderr, proc.returncode)


def _exec_main(argv):
    """`echotap_tshark.py exec [tshark arguments]`: tshark-with-plugin's work (see that script)."""
    try:
        runner = Runner(prefix="echotap-home.")
    except EchotapError as e:
        print(f"tshark-with-plugin: {e}", file=sys.stderr)
        return 2
    # The plugin folder names tshark's version even when wireshark is run (same package series).
    with runner:
        proc = subprocess.Popen(runner.command(argv), env=runner.env())
        try:
            status = proc.wait()
        except KeyboardInterrupt:
            proc.wait()
            return 130
    return 128 - status if status < 0 else status       # as a shell reports a signal


if __name__ == "__main__":
    if sys.argv[1:2] != ["exec"]:
        sys.exit(__doc__)
    sys.exit(_exec_main(sys.argv[2:]))
