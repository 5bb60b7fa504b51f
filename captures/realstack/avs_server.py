#!/usr/bin/env python3
"""An AVS-like voice endpoint on a real TLS stack (Python's ssl, i.e. OpenSSL).

Usage: avs_server.py ADDRESS PORT CERT_CHAIN KEY

Per connection: a line "RECOGNIZE <n>\\n", then n bytes of "audio" from the device; the answer
is the shape AVS gives (a few kB of directives, then the spoken reply), then the server closes.
"""
import os
import socket
import ssl
import sys

DIRECTIVES_BYTES = 2000
SPEECH_BYTES = 20000


def read_exactly(conn, n):
    got = 0
    while got < n:
        chunk = conn.recv(min(65536, n - got))
        if not chunk:
            raise ConnectionError(f"the device sent {got} of {n} bytes")
        got += len(chunk)


def read_line(conn):
    line = b""
    while not line.endswith(b"\n"):
        c = conn.recv(1)
        if not c:
            raise ConnectionError("the device closed before its request line")
        line += c
    return line.decode("ascii").split()


def serve(conn):
    word, size = read_line(conn)
    if word != "RECOGNIZE":
        raise ValueError(f"unexpected request {word!r}")
    read_exactly(conn, int(size))
    conn.sendall(os.urandom(DIRECTIVES_BYTES))
    conn.sendall(os.urandom(SPEECH_BYTES))
    conn.unwrap()


def main():
    address, port, chain, key = sys.argv[1:5]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(chain, key)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((address, int(port)))
        listener.listen()
        while True:
            raw, _ = listener.accept()
            try:
                with ctx.wrap_socket(raw, server_side=True) as conn:
                    serve(conn)
            except (OSError, ValueError) as e:
                print(f"avs_server: {e}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
