"""Makes sure every HTTP response carries ``X-Maestro-Seq`` (applied by http_api/edge.py).

Routes that talk to the core set the exact seq of their snapshot or write;
anything else (errors raised at the edge, 404s) gets the feed's current head.
"""

from starlette.types import Message

from maestro_mcp.protocol import SEQ_HEADER

# ASGI header names are lower-case bytes.
_HEADER = SEQ_HEADER.lower().encode()


def with_seq(start: Message, head: int) -> Message:
    """A response's start with ``X-Maestro-Seq``: its own if it has one, else ``head``."""
    headers = list(start.get("headers", ()))  # any iterable: read once
    if any(name.lower() == _HEADER for name, _ in headers):
        return start
    return {**start, "headers": [*headers, (_HEADER, str(head).encode())]}
