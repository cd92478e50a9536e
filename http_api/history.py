"""The log read back over REST: a task's history and a project's activity, newest first.

- ``GET /api/tasks/{id}/history?limit=&before=``
- ``GET /api/projects/{id}/activity?limit=&before=&sessionId=&agent=``

The body is ``{"events": [...], "next": <seq> | null}``: the stored envelopes, byte for
byte as the feeds send them (nothing is decoded or encoded again), and the ``before``
of the next, older page. ``X-Maestro-Seq`` is the head the page is consistent with: a
client that shows a page and then follows the feed from that seq misses nothing in
between and sees nothing twice. Both are reads: a ``read`` token may use them.
"""

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from maestro_mcp.core.models import ActivityQuery, HistoryQuery
from maestro_mcp.core.service import HistoryPage, Result

from .bodies import query_model
from .rest import call, json_response, service_of


def page_body(page: HistoryPage) -> bytes:
    """The page as JSON, its events' stored bytes joined as they are."""
    events = b",".join(event.payload.encode() for event in page.events)
    after = b"null" if page.next is None else str(page.next).encode()
    return b'{"events":[' + events + b'],"next":' + after + b"}"


async def _page(
    request: Request, read: Callable[..., Result[HistoryPage]], query: type[BaseModel]
) -> Response:
    wanted: Any = query_model(request, query)
    result = await call(request, read, request.path_params["id"], wanted)
    return json_response(page_body(result.value), result.seq)


async def task_history(request: Request) -> Response:
    return await _page(request, service_of(request).task_history, HistoryQuery)


async def project_activity(request: Request) -> Response:
    return await _page(request, service_of(request).project_activity, ActivityQuery)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/tasks/{id}/history", task_history, methods=["GET"]),
        Route("/api/projects/{id}/activity", project_activity, methods=["GET"]),
    ]
