"""``create_app()``: one Starlette application for REST, the live feeds, MCP and health.

The app is a face over a core it is given (core/runtime.py builds the core; no
face does): it runs the core for its lifespan, and handlers reach it as
``request.state.core`` (the lifespan state).
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


def create_app(core: Core) -> Starlette:
    """The app over ``core``, which it starts and stops with its lifespan."""
    settings = core.settings
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
    return app
