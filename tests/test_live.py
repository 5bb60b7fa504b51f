"""tshark capturing live on the loopback interface, with the plugin: the tables it prints when the
capture stops equal the tables of a later read of the file it saved. See live_capture.py for the
traffic and for how the unprivileged user gets to capture."""
import signal
import subprocess
import time

from conftest import Tshark
from live_capture import SNI, TlsTraffic, capture_programs, readable_copy, user_dir
from test_plugin import parse_table

TABLES = ("Echotap Flows", "Echotap Phases", "Echotap Timeline")
CONNECTIONS = 8


def test_tshark_live_tables_equal_a_read_of_the_saved_file(_tmp_root, plugin_so):
    sandbox = Tshark(_tmp_root / "home-live", plugin_so)
    tshark = capture_programs(sandbox, "tshark")["tshark"]
    saved = user_dir(sandbox, "live") / "live.pcapng"
    traffic = TlsTraffic(_tmp_root)
    proc = None
    try:
        stats = ["-z", "echotap,flows", "-z", "echotap,phases", "-z", "echotap,timeline"]
        proc = subprocess.Popen(sandbox.prefix() + [tshark, "-i", "lo", "-f", f"tcp port {traffic.port}", "-q",
                                                    "-w", str(saved), *stats],
                                env=sandbox.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # tshark says "Capturing on ..." once dumpcap captures.
        deadline = time.monotonic() + 30
        line = ""
        while "Capturing on" not in line and time.monotonic() < deadline and proc.poll() is None:
            line = proc.stderr.readline()
        assert "Capturing on" in line, f"tshark did not start capturing: {line}"
        time.sleep(0.5)                 # the line can come a moment before packets do (4.4)
        for _ in range(CONNECTIONS):
            traffic.connect_once()
            time.sleep(0.1)
        time.sleep(1)
        proc.send_signal(signal.SIGINT)
        live_out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        traffic.stop()

    copy = readable_copy(saved, _tmp_root / "live-read.pcapng")
    read_out = sandbox.run("-r", copy, "-q", *stats).stdout
    flows = parse_table(live_out, "Echotap Flows")
    avs = [f for f in flows if f["Service"] == "avs"]
    # As many as the TLS connections with the SNI that Wireshark itself finds in the saved file.
    streams = subprocess.run(["tshark", "-r", str(copy), "-Y", f'tls.handshake.extensions_server_name == "{SNI}"',
                              "-T", "fields", "-e", "tcp.stream"], capture_output=True, text=True, check=True)
    named = set(streams.stdout.split())
    assert CONNECTIONS - 2 <= len(named) <= CONNECTIONS, streams.stdout
    assert len(avs) == len(named), flows
    assert all(f["Host"] == SNI and f["Evidence"] == "sni" and int(f["Down bytes"]) > 1000 for f in avs), avs
    for title in TABLES:
        assert parse_table(live_out, title) == parse_table(read_out, title), title
