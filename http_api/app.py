"""``create_app()``: one Starlette application for REST, the live feeds, MCP and health."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from maestro_mcp import __version__
from maestro_mcp.core.feed import Feed
from maestro_mcp.core.group_commit import GroupCommit
from maestro_mcp.core.service import Service
from maestro_mcp.core.store import Database
from maestro_mcp.mcp_server import build_mcp_server

from . import board, claims, live, rest
from .errors import EXCEPTION_HANDLERS
from .openapi import build_openapi
from .security import SecurityGuard
from .seq_header import SeqHeader
from .settings import Settings

log = logging.getLogger(__name__)


async def health(request: Request) -> Response:
    feed: Feed = request.app.state.feed
    return JSONResponse({"status": "ok", "version": __version__, "seq": feed.head})


async def openapi(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


def create_app(settings: Settings) -> Starlette:
    db = Database(settings.db_path, durability=settings.durability)
    feed = Feed(
        db,
        poll_interval=settings.poll_interval,
        max_queue=settings.max_queue,
        max_queue_bytes=settings.max_queue_bytes,
    )
    service = Service(db, on_commit=feed.notify)
    commits = GroupCommit(db)
    mcp = build_mcp_server(service, feed, default_project=settings.default_project)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await anyio.to_thread.run_sync(db.migrate)
        await feed.start()
        await commits.start()
        chores = [
            asyncio.create_task(_prune_forever(service, settings), name="maestro-prune"),
            asyncio.create_task(_reap_forever(service, settings), name="maestro-reap"),
        ]
        try:
            async with mcp.running(http=True):
                yield
        finally:
            for chore in chores:
                chore.cancel()
            for chore in chores:
                with contextlib.suppress(asyncio.CancelledError):
                    await chore
            await commits.stop()
            await feed.stop()
            db.close()

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
            Middleware(SeqHeader, feed=feed),
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.feed = feed
    app.state.service = service
    app.state.commits = commits
    app.state.mcp = mcp
    app.state.openapi = build_openapi()
    return app


async def _prune_forever(service: Service, settings: Settings) -> None:
    while True:
        try:
            await anyio.to_thread.run_sync(
                lambda: service.prune(keep_events=settings.event_retention)
            )
        except Exception:
            log.exception("pruning the event log failed; will retry")
        await asyncio.sleep(settings.prune_interval)


async def _reap_forever(service: Service, settings: Settings) -> None:
    """Release claims whose lease ran out, so their events say so and the board shows it.

    Reads never wait for this (an expired claim already counts as released), so it
    only needs to run often enough for people to see leases end on time.
    """
    while True:
        try:
            await anyio.to_thread.run_sync(service.expire_claims)
        except Exception:
            log.exception("releasing expired claims failed; will retry")
        await asyncio.sleep(settings.reap_interval)
