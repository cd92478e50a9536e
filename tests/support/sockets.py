"""Clients on bare sockets, for what no well-behaved client library does: connect and
say nothing, trickle a request's head, send heads too large, stop reading."""

import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .waiting import WAIT


def connect(base_url: str, *, rcvbuf: int | None = None, timeout: float = WAIT) -> socket.socket:
    """A TCP connection to the server at ``base_url`` (``rcvbuf`` makes its receive
    buffer small: what the server writes then piles up on the server's side)."""
    parts = urlsplit(base_url)
    assert parts.hostname is not None
    assert parts.port is not None
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    sock.connect((parts.hostname, parts.port))
    return sock


def head(method: str, path: str, base_url: str, **headers: str) -> bytes:
    """A request's line and headers (``Host`` included), ending with the blank line."""
    host = urlsplit(base_url).netloc
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_to_end(sock: socket.socket, timeout: float = WAIT) -> bytes:
    """Everything the server sends until it closes the connection (a reset ends it too)."""
    sock.settimeout(timeout)
    received = bytearray()
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        received += data
    return bytes(received)


# TCP states (linux/tcp_states.h) once the peer has ended the connection: it closed
# it (a FIN: CLOSE_WAIT), or reset it (CLOSE).
_TCP_CLOSE = 7
_TCP_CLOSE_WAIT = 8


def is_closed(sock: socket.socket) -> bool:
    """Whether the server has closed the connection, even if what it sent before is
    still unread here (seen in the socket's TCP state, without reading)."""
    tcp_info = getattr(socket, "TCP_INFO", None)
    if tcp_info is not None:
        state = sock.getsockopt(socket.IPPROTO_TCP, tcp_info, 1)[0]
        return state in (_TCP_CLOSE, _TCP_CLOSE_WAIT)
    timeout = sock.gettimeout()
    sock.setblocking(False)
    try:
        data = sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True
    finally:
        sock.settimeout(timeout)
    return data == b""  # (unread bytes hide the end: then it says "not closed")


@dataclass
class Answer:
    """A response read off a socket: status, headers (lower-case names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def parse_answer(raw: bytes) -> Answer:
    """The first response in ``raw`` (a whole one with ``Content-Length``)."""
    head_part, separator, rest = raw.partition(b"\r\n\r\n")
    assert separator, f"no complete response head in {raw[:200]!r}"
    status_line, *header_lines = head_part.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", len(rest)))
    return Answer(int(status_line.split()[1]), headers, rest[:length])


def exchange(sock: socket.socket, request: bytes, timeout: float = WAIT) -> Answer:
    """Send ``request`` and read one response with a ``Content-Length`` (the connection
    stays open if the server keeps it)."""
    sock.settimeout(timeout)
    sock.sendall(request)
    received = bytearray()
    while True:
        end = received.find(b"\r\n\r\n")
        if end != -1:
            answer = parse_answer(bytes(received))
            if len(received) - end - 4 >= int(answer.headers.get("content-length", "0")):
                return answer
        data = sock.recv(65536)
        assert data, f"the connection closed after {bytes(received)[:200]!r}"
        received += data


def memory_kb(pid: int, key: str = "VmRSS") -> int:
    """A process's resident memory (``VmRSS``) or its peak (``VmHWM``), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {key} for process {pid}")
