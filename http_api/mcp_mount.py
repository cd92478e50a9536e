"""``/mcp`` in the HTTP app: the MCP server, loaded once the rest of the app runs.

The MCP SDK and the server built over it are most of the cost of starting
(importing them ≈ 0.6 s, building the tools' schemas ≈ 0.06 s, against ≈ 0.3 s for
everything else; docs/performance.md), and nothing else in the app needs them. So
the app starts without them: its lifespan starts the core, then this module loads
the MCP server in the background while uvicorn binds its socket and says it listens.

Rules:

- Nothing of the MCP SDK is imported before the lifespan starts the load (a test
  checks ``sys.modules`` when the server says it listens). Type-only imports stay
  under ``TYPE_CHECKING``.
- A request to ``/mcp`` that arrives before the MCP server is ready waits for it,
  then is served as any other: being early is never a 404, a 503 or a 500.
- The MCP server runs (``MaestroMCP.running``: its session manager and its change
  notifier) from when it is built until the app's lifespan ends, inside the core's
  run: it stops before the core does, as when it was built with the app.
- A load that fails is logged once, with its traceback, and ``/mcp`` then answers
  503; the rest of the app goes on serving.
- The MCP server is built over the core the app was given (``build_mcp_server``);
  this module builds no part of the core.
- Its endpoint is served through ``McpStreams`` (http_api/mcp_streams.py): a client
  that stops reading a response is dropped, and the MCP server ends the notification
  stream of a client that falls behind on its notifications through it.
"""

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from maestro_mcp.core.runtime import Core

from .errors import ApiError
from .mcp_streams import McpStreams

if TYPE_CHECKING:
    from maestro_mcp.mcp_server import MaestroMCP

log = logging.getLogger("maestro")

UNAVAILABLE = "the MCP server failed to start; the server's log says why"


class LazyMCP:
    """The ASGI app for ``MCP_PATH``: it serves each request with the MCP server once
    that is ready. ``running()`` (in the app's lifespan) loads and runs it."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self._endpoint: ASGIApp | None = None  # the SDK's app, once the server runs
        # Made by running(), on the loop that serves the requests; None until then.
        self._settled: anyio.Event | None = None  # ready, or failed, or shut down

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        settled = self._settled
        if settled is None:  # only an app run without its lifespan gets here
            raise ApiError(503, "unavailable", "the server is not running its lifespan")
        await settled.wait()
        if self._endpoint is None:
            raise ApiError(503, "unavailable", UNAVAILABLE)
        await self._endpoint(scope, receive, send)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Load the MCP server in the background and run it until the block ends."""
        self._settled = settled = anyio.Event()
        stop = anyio.Event()
        try:
            async with anyio.create_task_group() as tasks:
                # The MCP server's own context (its session manager's task group) is
                # entered and left in this one task: anyio requires a task group to end in
                # the task that started it.
                tasks.start_soon(self._run, stop)
                try:
                    yield
                finally:
                    stop.set()
        finally:
            self._endpoint = None
            settled.set()  # a request still waiting (none should, at shutdown) is answered

    async def _run(self, stop: anyio.Event) -> None:
        assert self._settled is not None
        try:
            # Importing the SDK and building the server take a CPU for most of a second:
            # in a worker thread, the loop keeps serving meanwhile (REST, feeds, /health).
            # A shutdown during the load waits for the thread (it is not cancellable).
            mcp = await anyio.to_thread.run_sync(_build, self._core)
            endpoint = McpStreams(mcp.http_endpoint(), self._core.settings.send_timeout)
        except Exception:
            log.exception(UNAVAILABLE)
            self._settled.set()
            return
        if stop.is_set():  # shut down while it loaded
            return
        try:
            async with mcp.running(http=True, streams=endpoint):
                self._endpoint = endpoint
                self._settled.set()
                await stop.wait()
        except Exception:
            # Its session manager or notifier failed: /mcp answers 503 from now on; the
            # error must not escape into the lifespan, which would stop the core too.
            self._endpoint = None
            log.exception(UNAVAILABLE)
            self._settled.set()


def _build(core: Core) -> "MaestroMCP":
    """The MCP server over ``core``: imports the MCP SDK (the first time) and builds it."""
    from maestro_mcp.mcp_server import build_mcp_server

    return build_mcp_server(core)
