"""Drives the real Wireshark Qt GUI on a private Xvfb display: start, find windows, click, copy, shoot.

There is no window manager: windows have no frames and overlap, so a window is raised before it
is clicked or grabbed, and given X focus (windowfocus) before keys are sent to it.
"""
import os
import pathlib
import re
import shutil
import struct
import subprocess
import tempfile
import time

TOOLS = {"wireshark": "wireshark", "Xvfb": "xvfb", "xdotool": "xdotool", "xclip": "xclip",
         "import": "imagemagick", "xdpyinfo": "x11-utils"}
SCREEN = (1600, 1000)
MAIN_SIZE = (1400, 860)
POINTER_PARK = (SCREEN[0] - 10, SCREEN[1] - 10)   # keeps hovering away from menus and buttons


def missing_tools():
    """Debian packages of the GUI tools that are not installed."""
    return sorted({pkg for tool, pkg in TOOLS.items() if not shutil.which(tool)})


def xdo(display, *args, check=True):
    proc = subprocess.run(["xdotool", *map(str, args)], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "DISPLAY": display})
    if check and proc.returncode != 0:
        raise RuntimeError(f"xdotool {' '.join(map(str, args))}: {proc.stderr.strip()}")
    return proc.stdout


class Xvfb:
    """A private X server on a free display number."""

    def __init__(self, log_dir):
        read_fd, write_fd = os.pipe()
        # -noreset: without it the server resets when its last client leaves, and a client that
        # connects during the reset fails ("could not connect to display").
        with open(log_dir / "xvfb.log", "w") as log:
            self.proc = subprocess.Popen(
                ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
                 "-dpi", "96", "-nolisten", "tcp", "-noreset"],
                pass_fds=[write_fd], stdout=log, stderr=subprocess.STDOUT)
        os.close(write_fd)
        with os.fdopen(read_fd) as f:
            number = f.readline().strip()
        if not number:
            self.stop()
            raise RuntimeError(f"Xvfb did not start: {(log_dir / 'xvfb.log').read_text()}")
        self.display = f":{number}"
        for _ in range(100):
            if subprocess.run(["xdpyinfo"], capture_output=True, env={**os.environ, "DISPLAY": self.display}).returncode == 0:
                return
            time.sleep(0.05)
        raise RuntimeError("Xvfb does not answer")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def png_size(path):
    """(width, height) of a PNG file; fails on anything that is not a PNG."""
    data = pathlib.Path(path).read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


def colour_histogram(path):
    """{'#RRGGBB': pixel count} of an image, from ImageMagick."""
    out = subprocess.run(["convert", str(path), "-depth", "8", "-format", "%c", "histogram:info:-"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    hist = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\d+):.*?(#[0-9A-F]{6})", line)
        if m:
            hist[m.group(2)] = hist.get(m.group(2), 0) + int(m.group(1))
    return hist


class Wireshark:
    """One running wireshark, as the unprivileged user of an echotap_tshark.Tshark sandbox."""

    def __init__(self, sandbox, display, log_dir, name, args, timeout=60):
        self.sandbox, self.display, self.timeout = sandbox, display, timeout
        self.log = log_dir / f"{name}-wireshark.log"
        runtime = pathlib.Path(tempfile.mkdtemp(prefix="xdg-", dir=sandbox.home))
        no_extcap = pathlib.Path(tempfile.mkdtemp(prefix="extcap-", dir=sandbox.home))
        sandbox.give(runtime)
        # An empty extcap folder: no capture-interface helpers are started for reading a file.
        env = dict(DISPLAY=display, XDG_RUNTIME_DIR=str(runtime), QT_QPA_PLATFORM="xcb",
                   WIRESHARK_EXTCAP_DIR=str(no_extcap))
        for attempt in range(2):
            with open(self.log, "w") as log:
                self.proc = sandbox.popen(args, program="wireshark", extra_env=env,
                                          stdout=log, stderr=subprocess.STDOUT)
            try:
                self.main = self.wait_window(r"\.pcap(ng)?$")
                return
            except RuntimeError:
                # One retry, only when Qt could not reach the X server.
                if attempt or "could not connect to display" not in self.log.read_text():
                    self.stop()
                    raise

    def windows(self, regex):
        out = xdo(self.display, "search", "--onlyvisible", "--name", regex, check=False)
        return [int(w) for w in out.split()]

    def title(self, win):
        return xdo(self.display, "getwindowname", win).strip()

    def geometry(self, win):
        out = xdo(self.display, "getwindowgeometry", "--shell", win)
        g = dict(line.split("=", 1) for line in out.split())
        return int(g["X"]), int(g["Y"]), int(g["WIDTH"]), int(g["HEIGHT"])

    def wait_window(self, regex, timeout=None, exclude=()):
        """Id of the first visible window whose title matches; fails when wireshark exits."""
        end = time.monotonic() + (timeout or self.timeout)
        while time.monotonic() < end:
            found = [w for w in self.windows(regex) if w not in exclude]
            if found:
                return found[0]
            if self.proc.poll() is not None:
                raise RuntimeError(f"wireshark exited ({self.proc.returncode}): {self.log.read_text()[-2000:]}")
            time.sleep(0.1)
        raise RuntimeError(f"no window matching {regex!r} after {timeout or self.timeout} s")

    def focus(self, win):
        xdo(self.display, "windowraise", win)
        xdo(self.display, "windowfocus", "--sync", win)

    def keys(self, *keys, pause=0.08):
        for k in keys:
            xdo(self.display, "key", k)
            time.sleep(pause)

    def click(self, win, from_right, from_bottom):
        """Left click at a point given from the window's bottom-right corner (where buttons are)."""
        _, _, width, height = self.geometry(win)
        xdo(self.display, "windowraise", win)
        xdo(self.display, "mousemove", "--window", win, width - from_right, height - from_bottom, "click", "1")
        xdo(self.display, "mousemove", *POINTER_PARK)

    def clipboard(self):
        proc = subprocess.run(["xclip", "-o", "-selection", "clipboard"], capture_output=True, text=True,
                              timeout=10, env={**os.environ, "DISPLAY": self.display})
        return proc.stdout if proc.returncode == 0 else ""

    def set_clipboard(self, text):
        """Puts text on the clipboard (xclip keeps serving it in the background until another
        client takes the clipboard or the display goes)."""
        subprocess.run(["xclip", "-selection", "clipboard", "-i"], input=text, text=True, timeout=10,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "DISPLAY": self.display})

    def text_window_text(self, win, ready, tries=10):
        """The whole text of a text window (a funnel text window such as Echotap Live): a click into
        its text, Ctrl+A, Ctrl+C. The clipboard is set to a marker first: when the window redraws
        between the two keys, the selection is gone, nothing is copied, and the read is tried again."""
        marker = f"(nothing copied {time.monotonic()})"
        text = ""
        for _ in range(tries):
            self.set_clipboard(marker)
            _, _, width, height = self.geometry(win)
            self.focus(win)
            xdo(self.display, "mousemove", "--window", win, width // 2, height // 3, "click", "1")
            xdo(self.display, "mousemove", *POINTER_PARK)
            self.keys("ctrl+a", "ctrl+c")
            time.sleep(0.3)
            text = self.clipboard()
            if text != marker and ready(text):
                return text
            time.sleep(0.5)
        raise RuntimeError(f"no text copied from window {win}; last clipboard:\n{text[:2000]}")

    def copy_button(self, win, from_right, from_bottom, ready, tries=10):
        """Clicks a dialog's Copy button and returns the clipboard once ready(text) holds; retried
        because a dialog may still be filling its table when it first shows."""
        text = ""
        for _ in range(tries):
            self.click(win, from_right, from_bottom)
            time.sleep(0.5)
            text = self.clipboard()
            if ready(text):
                return text
            time.sleep(1)
        raise RuntimeError(f"the Copy button did not give the expected text; last clipboard:\n{text}")

    def screenshot(self, win, path):
        """PNG of one window ("root": the whole screen, open menus included)."""
        if win != "root":
            xdo(self.display, "windowraise", win)
        time.sleep(0.4)
        subprocess.run(["import", "-window", str(win), str(path)], check=True, timeout=60,
                       env={**os.environ, "DISPLAY": self.display})
        return path

    def stop(self):
        """Ctrl+Q in the main window; killed if it does not quit in 10 s. The screen is then saved
        beside the log as quit_screen (NAME-wireshark-at-quit.png): a dialog Wireshark waits on
        at quit shows there."""
        self.quit_screen = None
        if self.proc.poll() is None and getattr(self, "main", None):
            try:
                self.focus(self.main)
                self.keys("ctrl+q")
                self.proc.wait(timeout=10)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        if self.proc.poll() is None:
            shot = self.log.with_name(f"{self.log.stem}-at-quit.png")
            if subprocess.run(["import", "-window", "root", str(shot)], timeout=60, capture_output=True,
                              env={**os.environ, "DISPLAY": self.display}).returncode == 0:
                self.quit_screen = shot
            self.proc.kill()
            self.proc.wait()
