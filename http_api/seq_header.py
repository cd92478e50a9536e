"""Makes sure every HTTP response carries ``X-Maestro-Seq``.

Routes that talk to the core set the exact seq of their snapshot or write;
anything else (errors raised at the edge, 404s) gets the feed's current head.
"""

from collections.abc import Awaitable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maestro_mcp.core.feed import Feed
from maestro_mcp.protocol import SEQ_HEADER

# ASGI header names are lower-case bytes.
_HEADER = SEQ_HEADER.lower().encode()


class SeqHeader:
    def __init__(self, app: ASGIApp, feed: Feed) -> None:
        self.app = app
        self.feed = feed

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http":
            return self.app(scope, receive, send)  # no frame of ours kept (http_api/cors.py)
        return self._with_seq(scope, receive, send)

    async def _with_seq(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_seq(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == _HEADER for name, _ in headers):
                    headers.append((_HEADER, str(self.feed.head).encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_seq)
