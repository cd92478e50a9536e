"""The one layer every request passes before its route: CORS (cors.py), the Host, Origin
and token checks (security.py), the preflight's answer (cors.py) and the
``X-Maestro-Seq`` of every HTTP response (seq_header.py), in that order.

They were four ASGI layers, each a coroutine, and three wrapped ``send``; at several
thousand writes a second the layers before a handler were a large part of what a write
cost the event loop (docs/performance.md, "Against the naive server"). Here they are one
call and one wrapper, and a request's headers are read in one pass. What each does, and
to which answers, is unchanged:

- every response to an HTTP request is marked for CORS (``CorsPolicy.mark``), the
  guard's refusals and the preflight's answer included;
- the guard refuses a request (``Guard.refusal``) before anything else answers it; a
  preflight passes it without a token and is answered here, never by a route;
- a response that reached the app carries ``X-Maestro-Seq``: the route's own, or the
  feed's head (``seq_header.with_seq``). Refusals and preflights carry none.

A WebSocket is checked by the guard alone (no CORS, no seq) and then awaited here, as
the guard's own layer did (its check is a coroutine). A lifespan passes straight
through: what the app returns is returned, not awaited, so no frame of this layer is
kept (cors.py, "A middleware that lets a request through").
"""

from collections.abc import Awaitable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maestro_mcp.core.access import PRINCIPAL_KEY
from maestro_mcp.core.feed import Feed

from .cors import CorsPolicy, answer_preflight
from .errors import ApiError
from .security import Guard, RequestHeads, refuse
from .seq_header import with_seq


class Edge:
    def __init__(self, app: ASGIApp, *, policy: CorsPolicy, guard: Guard, feed: Feed) -> None:
        self.app = app
        self.policy = policy
        self.guard = guard
        self.feed = feed

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        kind = scope["type"]
        if kind == "http":
            return self._http(scope, receive, send)
        if kind == "websocket":
            return self._websocket(scope, receive, send)
        return self.app(scope, receive, send)  # the lifespan

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        heads = RequestHeads.of(scope)
        policy = self.policy
        cors = policy.enabled
        allowed = policy.allowed_origin(heads.origin) if cors else None
        marked = send
        if cors:

            async def marked(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = policy.mark(message, allowed)
                await send(message)

        if await self._refused(scope, heads, marked):
            return
        if heads.is_preflight(scope):
            await answer_preflight(policy, heads.origin, marked)
            return
        feed = self.feed

        async def answered(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = with_seq(message, feed.head)
                if cors:
                    message = policy.mark(message, allowed)
            await send(message)

        await self.app(scope, receive, answered)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        heads = RequestHeads.of(scope)
        if await self._refused(scope, heads, send):
            return
        await self.app(scope, receive, send)

    async def _refused(self, scope: Scope, heads: RequestHeads, send: Send) -> bool:
        """Whether the guard refused the request (and answered it through ``send``);
        if not, the request's principal is in its scope (a preflight has none)."""
        guard = self.guard
        try:
            guard.check_edge(heads)
            if scope["type"] == "websocket" or not heads.is_preflight(scope):
                principal = await guard.principal(scope, heads)
                if principal is not None:
                    scope[PRINCIPAL_KEY] = principal
        except ApiError as no:
            await refuse(scope, send, no.status, no.code, no.message, no.headers)
            return True
        return False
