"""``create_app()``: one Starlette application for REST, the live feeds, MCP and health.

The app is a face over a core it is given (core/runtime.py builds the core; no
face does): it runs the core for its lifespan, and handlers reach it as
``request.state.core`` (the lifespan state).

Start costs what the app needs to serve its first request, and no more: importing
this module imports neither the MCP SDK nor its server (mcp_mount.py loads them once
the lifespan starts, and ``/mcp`` waits for them), and the OpenAPI document is built
on its first request. Nothing at start reads more of the database than the core's
start does (the schema version and the feed's head), whatever it holds.
"""

import contextlib
import functools
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from maestro_mcp import __version__
from maestro_mcp.core.runtime import Core
from maestro_mcp.protocol import MCP_PATH

from . import board, claims, history, live, messages, notes, questions, reservations, rest, tokens
from .cors import CorsPolicy
from .edge import Edge
from .errors import EXCEPTION_HANDLERS
from .mcp_mount import LazyMCP
from .openapi import build_openapi
from .security import Guard
from .state import core_of


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document, built on first use: generating the models' JSON schemas
    costs ≈ 20 ms that a start need not pay."""
    return build_openapi()


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok", "version": __version__, "seq": core_of(request).feed.head})


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


def create_app(core: Core) -> Starlette:
    """The app over ``core``, which it starts and stops with its lifespan."""
    settings = core.settings
    mcp = LazyMCP(core)
    cors = CorsPolicy(settings.allowed_origins)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Core]]:
        # The MCP server loads in the background once the core runs, and stops first.
        async with core, mcp.running():
            yield {"core": core}

    app = Starlette(
        routes=[
            Route("/health", health, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
            *rest.routes(),
            *claims.routes(),
            *history.routes(),
            *notes.routes(),
            *messages.routes(),
            *questions.routes(),
            *reservations.routes(),
            *tokens.routes(),
            *live.routes(),
            Route(MCP_PATH, mcp),  # an ASGI app: every method goes to the MCP SDK
            *board.routes(),
        ],
        middleware=[
            # CORS, the Host, Origin and token checks, the preflight and the seq header,
            # as one layer (edge.py).
            Middleware(
                Edge,
                policy=cors,
                guard=Guard(
                    allowed_hosts=settings.allowed_hosts,
                    allowed_origins=settings.allowed_origins,
                    token=settings.token,
                    tokens=core.tokens,
                ),
                feed=core.feed,
            ),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    return app
