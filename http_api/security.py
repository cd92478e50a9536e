"""Host and Origin allow-lists and the optional bearer token, for every HTTP,
SSE, WebSocket and MCP request.

A server on localhost is reachable from any web page the user opens: DNS
rebinding (a foreign name resolving to 127.0.0.1) is stopped by the Host check,
cross-site requests and WebSocket hijacking by the Origin check. Requests with
no Origin (curl, the CLI, agents) are not cross-site and pass.
"""

import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qs, urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from maestro_mcp.protocol import (
    AUTHORIZATION_HEADER,
    CLOSE_POLICY_VIOLATION,
    TOKEN_QUERY,
    bearer_token,
)
from maestro_mcp.settings import LOOPBACK_HOSTS

from .errors import error_json

# Open without the token: the health check, and the board's page and assets, which
# hold no data (a browser must load them to ask its user for the token).
UNAUTHENTICATED_PATHS = frozenset({"/health", "/"})
UNAUTHENTICATED_PREFIXES = ("/assets/",)


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


class SecurityGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        allowed_hosts: Iterable[str] = LOOPBACK_HOSTS,
        allowed_origins: Iterable[str] = (),
        token: str | None = None,
    ) -> None:
        self.app = app
        self.hosts = HostAllowList(allowed_hosts)
        self.origins = {o.rstrip("/").lower() for o in allowed_origins}
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host")
        if not self.hosts.allows(host):
            await refuse(scope, send, 421, "invalid_host", f"host {host!r} is not allowed")
            return
        origin = headers.get("origin")
        if origin is not None and not self._origin_allowed(origin, host):
            await refuse(scope, send, 403, "forbidden_origin", f"origin {origin!r} is not allowed")
            return
        if self.token and not _is_public(scope["path"]) and not self._authorized(scope, headers):
            await refuse(scope, send, 401, "unauthorized", "a valid bearer token is required")
            return
        await self.app(scope, receive, send)

    def _origin_allowed(self, origin: str, host: str | None) -> bool:
        origin = origin.rstrip("/").lower()
        if origin in self.origins or "*" in self.origins:
            return True
        parts = urlsplit(origin)
        # Same origin: the page was served by this server under an allowed Host.
        return (
            parts.scheme in ("http", "https") and host is not None and parts.netloc == host.lower()
        )

    def _authorized(self, scope: Scope, headers: Headers) -> bool:
        assert self.token is not None
        given = bearer_token(headers.get(AUTHORIZATION_HEADER, ""))
        if given is None:
            # Browsers cannot set headers on WebSocket or EventSource requests.
            query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = query.get(TOKEN_QUERY, [""])[0]
        return hmac.compare_digest(given.encode(), self.token.encode())


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
