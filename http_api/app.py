"""``create_app()``: one Starlette application for REST, the live feeds, MCP and health.

The app builds the core runtime from its settings and runs it for its lifespan;
handlers reach it as ``request.state.core`` (the lifespan state), never by
building anything themselves.
"""

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from maestro_mcp import __version__
from maestro_mcp.core.runtime import Core
from maestro_mcp.mcp_server import build_mcp_server
from maestro_mcp.settings import Settings

from . import board, claims, live, rest
from .errors import EXCEPTION_HANDLERS
from .openapi import build_openapi
from .security import SecurityGuard
from .seq_header import SeqHeader
from .state import core_of

OPENAPI = build_openapi()


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "version": __version__, "seq": core_of(request).feed.head})


async def openapi(request: Request) -> Response:
    return JSONResponse(OPENAPI)


def create_app(settings: Settings) -> Starlette:
    core = Core(settings)
    mcp = build_mcp_server(core)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Core]]:
        async with core, mcp.running(http=True):
            yield {"core": core}

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            *rest.routes(),
            *claims.routes(),
            *live.routes(),
            *mcp.http_routes(),
            *board.routes(),
        ],
        middleware=[
            Middleware(
                SecurityGuard,
                allowed_hosts=settings.allowed_hosts,
                allowed_origins=settings.allowed_origins,
                token=settings.token,
            ),
            Middleware(SeqHeader, feed=core.feed),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    # For the process that serves the app (it ends the live streams at shutdown).
    app.state.core = core
    return app
