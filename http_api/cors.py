"""CORS for the origins given with ``--allowed-origin``: a web page served from one of
them may call the REST API and the feeds with a bearer token, and read what Maestro
answers, headers included.

Rules:
- Exactly the allowed origins (every origin, for ``*``) get CORS headers. Any other
  origin gets none, and the guard (security.py) refuses its requests (403). The server's own
  origin (the board) needs none: browsers apply CORS across origins only.
- Around the guard (http_api/edge.py), because the Host check comes before any answer
  and an allowed page must be able to read the guard's own refusals (a 401 tells it to
  ask for a token): every response to an allowed origin is marked
  (``Access-Control-Allow-Origin``, ``-Expose-Headers``; ``CorsPolicy.mark``), the
  guard's refusals included; after the guard (Host and Origin checked, no token asked),
  the preflight is answered (``-Allow-Methods``, ``-Allow-Headers``, ``-Max-Age``;
  ``answer_preflight``). The guard lets a preflight through without a token (a browser
  never sends one on a preflight), so every preflight is answered there: none reaches
  a route.
- The lists are the same for every preflight (the browser compares them with what it
  asked for, and refuses what is not listed), so answers vary by ``Origin`` only, and
  every response says so (``Vary: Origin``), with CORS headers or without, so that no
  cache hands one origin's answer to another.
- No ``Access-Control-Allow-Credentials``: the page sets ``Authorization`` itself,
  which CORS allows without credentials. Maestro sets no cookie; the flag would only
  let an allowed page use what the browser attaches on its own (the cookies or HTTP
  authentication of a proxy in front of Maestro). Without it, such a request fails.
- The request's ``Origin`` is echoed, never ``*``, also when every origin is allowed.

Not Starlette's CORSMiddleware: it answers a refused origin's preflight with the
allowed methods and headers, puts ``Access-Control-Expose-Headers`` on every origin's
responses, compares origins with case where the guard does not, and, one layer, cannot
both come after the Host check and mark the guard's refusals.

A middleware that lets a request through (a WebSocket, a request that is no preflight)
returns the inner app's awaitable instead of awaiting it, where it can: a live stream
then keeps no frame of it for its whole life (thousands of streams: issue #16, memory
per client).
"""

from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import Message, Send

from maestro_mcp.protocol import (
    AUTHORIZATION_HEADER,
    CLAIM_TOKEN_HEADER,
    CLIENT_HEADER,
    ETAG_HEADER,
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    IF_MATCH_HEADER,
    IF_NONE_MATCH_HEADER,
    LAST_EVENT_ID_HEADER,
    OVERRIDE_HEADER,
    RETRY_AFTER_HEADER,
    SEQ_HEADER,
)

# Every origin (``--allowed-origin '*'``).
ANY_ORIGIN = "*"

# The methods of Maestro's routes (a test checks that every route's are here).
ALLOWED_METHODS = ("GET", "HEAD", "POST", "PATCH", "DELETE")
# What a page may send beyond the CORS-safelisted headers; Content-Type because a JSON
# body is not one of the safelisted form types.
ALLOWED_HEADERS = (
    AUTHORIZATION_HEADER,
    "Content-Type",
    IF_MATCH_HEADER,
    IF_NONE_MATCH_HEADER,
    IDEMPOTENCY_KEY_HEADER,
    CLAIM_TOKEN_HEADER,
    OVERRIDE_HEADER,
    LAST_EVENT_ID_HEADER,
    CLIENT_HEADER,
)
# What a page may read beyond the CORS-safelisted response headers.
EXPOSED_HEADERS = (ETAG_HEADER, SEQ_HEADER, IDEMPOTENT_REPLAYED_HEADER, RETRY_AFTER_HEADER)
# Seconds a browser may reuse a preflight's answer: the most Chromium keeps one. Its
# cache is per URL, so every task a page patches costs a preflight once per this.
PREFLIGHT_MAX_AGE_S = 7200

ALLOW_ORIGIN = "Access-Control-Allow-Origin"
ALLOW_METHODS = "Access-Control-Allow-Methods"
ALLOW_HEADERS = "Access-Control-Allow-Headers"
EXPOSE_HEADERS = "Access-Control-Expose-Headers"
MAX_AGE = "Access-Control-Max-Age"
REQUEST_METHOD = "Access-Control-Request-Method"
VARY = "Vary"
ORIGIN = "Origin"

_DEFAULT_PORTS = {"http": 80, "https": 443}

# The answers, built once (ASGI header names are lower-case bytes).
_ORIGIN = ORIGIN.lower().encode()
REQUEST_METHOD_NAME = REQUEST_METHOD.lower().encode()  # read by security.RequestHeads
_VARY = VARY.lower().encode()
_VARY_ORIGIN = ORIGIN.encode()
_ALLOW_ORIGIN = ALLOW_ORIGIN.lower().encode()
_EXPOSE = EXPOSE_HEADERS.lower().encode()
_EXPOSED = ", ".join(EXPOSED_HEADERS).encode()
_PREFLIGHT_ANSWER = (
    (ALLOW_METHODS.lower().encode(), ", ".join(ALLOWED_METHODS).encode()),
    (ALLOW_HEADERS.lower().encode(), ", ".join(ALLOWED_HEADERS).encode()),
    (MAX_AGE.lower().encode(), str(PREFLIGHT_MAX_AGE_S).encode()),
)


def origin_key(origin: str) -> str:
    """An origin as allow-lists compare it: without case or a trailing slash."""
    return origin.strip().rstrip("/").lower()


def parse_origin(value: str) -> str:
    """An ``--allowed-origin`` value as the browser will send it (``scheme://host[:port]``,
    lower case, without a default port), or ``*``; ValueError if it is not an origin."""
    text = origin_key(value)
    if text == ANY_ORIGIN:
        return text
    example = "such as http://localhost:5173"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise ValueError(f"{value!r} is not an origin {example}") from None
    if (
        parts.scheme not in _DEFAULT_PORTS
        or not parts.hostname
        or parts.username is not None
        or parts.path
        or parts.query
        or parts.fragment
        or "?" in text
        or "#" in text
    ):
        raise ValueError(f"{value!r} is not an origin (scheme://host[:port]) {example}")
    netloc = parts.netloc
    if port == _DEFAULT_PORTS[parts.scheme]:
        netloc = netloc.rsplit(":", 1)[0]
    return f"{parts.scheme}://{netloc}"


class CorsPolicy:
    """The allowed origins; none configured, no CORS at all (and no ``Vary``)."""

    def __init__(self, allowed_origins: Iterable[str]) -> None:
        self.origins = frozenset(origin_key(o) for o in allowed_origins)
        self.any = ANY_ORIGIN in self.origins

    @property
    def enabled(self) -> bool:
        return bool(self.origins)

    def allows(self, origin: str) -> bool:
        return self.any or origin_key(origin) in self.origins

    def allowed_origin(self, origin: str | None) -> bytes | None:
        """The ``Origin`` to echo to a request from ``origin``, None if it is not allowed."""
        return origin.encode("latin-1") if origin and self.allows(origin) else None

    def mark(self, start: Message, allowed: bytes | None) -> Message:
        """A response's start marked for CORS: ``Vary: Origin`` always (the answer varies
        by it), and the allowed origin's headers when ``allowed`` (``allowed_origin``)."""
        # Raw headers: Starlette's header classes cost ≈ 30 µs a response here.
        headers = list(start.get("headers", ()))
        if not _varies_by_origin(headers):
            headers.append((_VARY, _VARY_ORIGIN))
        if allowed is not None:
            headers += [(_ALLOW_ORIGIN, allowed), (_EXPOSE, _EXPOSED)]
        return {**start, "headers": headers}


def _varies_by_origin(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name.lower() == _VARY:
            listed = {part.strip().lower() for part in value.split(b",")}
            if _ORIGIN in listed or b"*" in listed:
                return True
    return False


async def answer_preflight(policy: CorsPolicy, origin: str | None, send: Send) -> None:
    """Answer a preflight (after the guard: Host and Origin checked, no token asked): an
    allowed origin gets 204 with the lists (the origin is added by ``CorsPolicy.mark``);
    the server's own origin, which the guard also lets through but which browsers never
    preflight, a bare 204."""
    headers = list(_PREFLIGHT_ANSWER) if policy.allows(origin or "") else []
    await send({"type": "http.response.start", "status": 204, "headers": headers})
    await send({"type": "http.response.body", "body": b""})
