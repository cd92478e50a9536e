"""Host and Origin allow-lists, and who a request acts as (its principal and scope),
for every HTTP, SSE, WebSocket and MCP request.

A server on localhost is reachable from any web page the user opens: DNS
rebinding (a foreign name resolving to 127.0.0.1) is stopped by the Host check,
cross-site requests and WebSocket hijacking by the Origin check. Requests with
no Origin (curl, the CLI, agents) are not cross-site and pass.

Tokens (core/access.py):

- A bearer token comes in the ``Authorization`` header. Only the live feeds, which
  browsers open without a way to set headers (WebSocket, EventSource), also take it
  as ``?token=``; anywhere else that is refused (401), so a token never rides in a URL
  that a header could have carried.
- The server's own token (``--token``) acts as ``SERVER_TOKEN``; a named token as its
  name (core/token_book.py). A token that is neither is refused (401).
- Without a token, a request acts as ``LOCAL`` while the server has no token at all
  (``maestro serve`` refuses to bind beyond loopback without one); once any token
  exists, every request needs one (401), loopback included.
- Its scope must allow the request: GET and HEAD (and the feeds, and ``/mcp``, whose
  tools check their own, and the POSTs that only read, ``READING_POSTS``) need
  ``read``, other methods ``write`` (403 otherwise); routes that need ``admin`` check
  it themselves (``require_scope``).
- The principal is left in the request's scope (``PRINCIPAL_KEY``): the faces name it
  as the actor of what the request changes.
"""

import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qs, urlsplit

from starlette.requests import HTTPConnection
from starlette.routing import compile_path
from starlette.types import Scope, Send

from maestro_mcp.core.access import LOCAL, PRINCIPAL_KEY, SERVER_TOKEN, Principal
from maestro_mcp.core.access import Scope as AccessScope
from maestro_mcp.core.storage import Contended, StoreUnavailable
from maestro_mcp.core.token_book import TokenBook
from maestro_mcp.protocol import (
    AUTHORIZATION_HEADER,
    BEARER_SCHEME,
    CLOSE_POLICY_VIOLATION,
    EVENTS_PATH,
    MCP_PATH,
    RESERVATIONS_CHECK_PATH,
    TOKEN_QUERY,
    WS_PATH,
    WWW_AUTHENTICATE_HEADER,
    bearer_token,
)
from maestro_mcp.settings import LOOPBACK_HOSTS

from .cors import REQUEST_METHOD_NAME, origin_key
from .errors import RETRY_LATER, UNAVAILABLE_CODE, UNAVAILABLE_MESSAGE, ApiError, error_json

# Open without the token: the health check, and the board's page and assets, which
# hold no data (a browser must load them to ask its user for the token).
UNAUTHENTICATED_PATHS = frozenset({"/health", "/"})
UNAUTHENTICATED_PREFIXES = ("/assets/",)
# The only paths that take the token as ?token= (browsers cannot send a header there).
TOKEN_QUERY_PATHS = frozenset({WS_PATH, EVENTS_PATH})
# Methods that change nothing: a read token may use them.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# POSTs that change nothing (what they ask does not fit in a URL): a read token may send them.
READING_POSTS = (RESERVATIONS_CHECK_PATH,)
_READING_POSTS = tuple(compile_path(path)[0] for path in READING_POSTS)
_AUTHORIZATION = AUTHORIZATION_HEADER.lower().encode()


def split_host(value: str) -> tuple[str, str | None]:
    """'example.com:80' -> ('example.com', '80'); '[::1]:3000' -> ('[::1]', '3000')."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end == -1:
            return value, None
        host, rest = value[: end + 1], value[end + 1 :]
        return host, rest[1:] if rest.startswith(":") else None
    if value.count(":") == 1:
        host, port = value.split(":")
        return host, port
    return value, None


class HostAllowList:
    """Entries are 'name' or 'name:port'; a bare name allows any port."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.any = False
        self.entries: set[tuple[str, str | None]] = set()
        for entry in entries:
            if entry.strip() == "*":
                self.any = True
                continue
            host, port = split_host(entry)
            self.entries.add((host, None if port in (None, "*") else port))

    def allows(self, host_header: str | None) -> bool:
        if self.any:
            return True
        if not host_header:
            return False
        host, port = split_host(host_header)
        return (host, None) in self.entries or (host, port) in self.entries


class RequestHeads:
    """The request headers the edge reads (http_api/edge.py), found in one pass over them:
    each the first of its name, as Starlette's ``Headers.get`` would find it."""

    __slots__ = ("asks_method", "authorization", "host", "origin")

    def __init__(
        self, host: str | None, origin: str | None, authorization: str | None, asks_method: bool
    ) -> None:
        self.host = host
        self.origin = origin
        self.authorization = authorization
        self.asks_method = asks_method  # Access-Control-Request-Method is there

    @classmethod
    def of(cls, scope: Scope) -> "RequestHeads":
        host = origin = authorization = None
        asks_method = False
        for name, value in scope["headers"]:
            if name == b"host":
                if host is None:
                    host = bytes(value).decode("latin-1")
            elif name == b"origin":
                if origin is None:
                    origin = bytes(value).decode("latin-1")
            elif name == _AUTHORIZATION:
                if authorization is None:
                    authorization = bytes(value).decode("latin-1")
            elif name == REQUEST_METHOD_NAME:
                asks_method = True
        return cls(host, origin, authorization, asks_method)

    def is_preflight(self, scope: Scope) -> bool:
        """Whether the request is a browser's CORS preflight: ``OPTIONS`` with an
        ``Origin`` and the method it asks about."""
        return (
            scope["type"] == "http"
            and scope["method"] == "OPTIONS"
            and self.origin is not None
            and self.asks_method
        )


class Guard:
    """The checks every HTTP, SSE, WebSocket and MCP request passes (module docstring),
    made by the edge (http_api/edge.py) before anything answers it."""

    def __init__(
        self,
        *,
        allowed_hosts: Iterable[str] = LOOPBACK_HOSTS,
        allowed_origins: Iterable[str] = (),
        token: str | None = None,
        tokens: TokenBook | None = None,
    ) -> None:
        self.hosts = HostAllowList(allowed_hosts)
        self.origins = {origin_key(o) for o in allowed_origins}
        self.token = token
        self.tokens = tokens

    def check_edge(self, heads: RequestHeads) -> None:
        """Refuse (ApiError) a Host not allowed (421) or a cross-site Origin (403)."""
        host = heads.host
        if not self.hosts.allows(host):
            raise ApiError(421, "invalid_host", f"host {host!r} is not allowed")
        origin = heads.origin
        if origin is not None and not self._origin_allowed(origin, host):
            raise ApiError(403, "forbidden_origin", f"origin {origin!r} is not allowed")

    async def principal(self, scope: Scope, heads: RequestHeads) -> Principal | None:
        """Who a request that is no preflight acts as, None on a public path; ApiError if
        it may not pass (a token in the URL, none or a bad one, too small a scope)."""
        raw = scope.get("query_string", b"")
        query = parse_qs(raw.decode("latin-1")) if raw else {}
        _no_token_in_the_url(scope, query)  # on every path, public ones too
        if _is_public(scope["path"]):
            return None
        principal = await self._principal(heads.authorization, query)
        _check_scope(principal, _needed(scope))
        return principal

    def _origin_allowed(self, origin: str, host: str | None) -> bool:
        origin = origin_key(origin)
        if origin in self.origins or "*" in self.origins:
            return True
        parts = urlsplit(origin)
        # Same origin: the page was served by this server under an allowed Host.
        return (
            parts.scheme in ("http", "https") and host is not None and parts.netloc == host.lower()
        )

    async def _principal(self, authorization: str | None, query: dict[str, list[str]]) -> Principal:
        """Who the request acts as; ApiError (401) if nobody it may act as, (503) if the
        database that would say is out of reach."""
        secret = bearer_token(authorization or "")
        if secret is None and TOKEN_QUERY in query:  # a feed's (_no_token_in_the_url)
            secret = query[TOKEN_QUERY][0]
        if secret is None:
            if self.token is None and not (self.tokens is not None and self.tokens.any):
                return LOCAL
            raise _unauthorized("a valid bearer token is required")
        if self.token is not None and hmac.compare_digest(secret.encode(), self.token.encode()):
            return SERVER_TOKEN
        try:
            found = await self.tokens.find(secret) if self.tokens is not None else None
        except (StoreUnavailable, Contended) as exc:
            raise ApiError(503, UNAVAILABLE_CODE, UNAVAILABLE_MESSAGE, headers=RETRY_LATER) from exc
        if found is None:
            raise _unauthorized("this token is not valid (revoked, or never made)", "invalid_token")
        return found


def _no_token_in_the_url(scope: Scope, query: dict[str, list[str]]) -> None:
    """?token= is taken only by the live feeds (browsers cannot send them a header), and
    only spelled plainly: a percent-encoded name (``to%6Ben=``) would pass the logs'
    masking (maestro_mcp/redaction.py), which reads the URL as it came."""
    if TOKEN_QUERY not in query:
        return
    if scope["path"] not in TOKEN_QUERY_PATHS:
        raise _unauthorized(
            f"send the token in the {AUTHORIZATION_HEADER} header: ?{TOKEN_QUERY}= is "
            f"taken only by {' and '.join(sorted(TOKEN_QUERY_PATHS))}",
        )
    raw = scope.get("query_string", b"").decode("latin-1")
    if not any(part.startswith(f"{TOKEN_QUERY}=") for part in raw.split("&")):
        raise _unauthorized(f"spell the query parameter {TOKEN_QUERY}= plainly")


def _needed(scope: Scope) -> AccessScope:
    """The scope a request needs to get past the guard (module docstring)."""
    if scope["type"] == "websocket" or scope["path"] == MCP_PATH:
        return AccessScope.READ
    if scope["method"] in READ_METHODS:
        return AccessScope.READ
    if scope["method"] == "POST" and any(r.fullmatch(scope["path"]) for r in _READING_POSTS):
        return AccessScope.READ
    return AccessScope.WRITE


def _check_scope(principal: Principal, needed: AccessScope) -> None:
    if not principal.scope.allows(needed):
        raise ApiError(
            403,
            "insufficient_scope",
            f"the token {principal.name!r} has scope {principal.scope.value}; this needs "
            f"{needed.value}",
            headers={WWW_AUTHENTICATE_HEADER: f'{BEARER_SCHEME} error="insufficient_scope"'},
        )


def require_scope(connection: HTTPConnection, needed: AccessScope) -> Principal:
    """The request's principal, if its scope allows ``needed`` (else ApiError 403)."""
    principal: Principal = connection.scope[PRINCIPAL_KEY]
    _check_scope(principal, needed)
    return principal


def principal_of(connection: HTTPConnection) -> Principal:
    """Who the request acts as (set by the edge, http_api/edge.py)."""
    principal: Principal = connection.scope[PRINCIPAL_KEY]
    return principal


def _unauthorized(message: str, error: str | None = None) -> ApiError:
    challenge = BEARER_SCHEME + (f' error="{error}"' if error else "")
    return ApiError(401, "unauthorized", message, headers={WWW_AUTHENTICATE_HEADER: challenge})


def _is_public(path: str) -> bool:
    return path in UNAUTHENTICATED_PATHS or path.startswith(UNAUTHENTICATED_PREFIXES)


async def refuse(
    scope: Scope,
    send: Send,
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Answer with the error shape; for a WebSocket, as the HTTP answer to its handshake."""
    prefix = "http"
    if scope["type"] == "websocket":
        if "websocket.http.response" not in scope.get("extensions", {}):
            # Closing before accept makes the server answer the handshake with HTTP 403.
            await send({"type": "websocket.close", "code": CLOSE_POLICY_VIOLATION, "reason": code})
            return
        prefix = "websocket.http"
    body = error_json(code, message)
    await send(
        {
            "type": f"{prefix}.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(
                    (name.lower().encode(), value.encode())
                    for name, value in (headers or {}).items()
                ),
            ],
        }
    )
    await send({"type": f"{prefix}.response.body", "body": body})
