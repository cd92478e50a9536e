"""A project's newest notes, one per session, in one read (a session's own notes, and
appending one, are rest.py's).

- ``GET /api/projects/{id}/notes/latest`` -> ``[{id, sessionId, message, createdAt}]``:
  the newest note of each session of the project that has notes, in the order the
  sessions were made (as ``GET /api/sessions?projectId=`` lists them).

What a board shows beside each session after a reload, without a request per session
or a walk through the log. One query on every store, one index step per session; the
answer holds at most one note per session that exists (a deleted session's notes go
with it), each at most ``NOTE_MAX`` characters: bounded by what exists, like the list
of the project's sessions. ``X-Maestro-Seq`` is the seq the read is consistent with:
follow the feed from it and every newer note arrives as ``session:note_added``. An
unknown project is 404, a query parameter (there are none) 422. A read: a ``read``
token may use it.
"""

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .bodies import query_model
from .rest import NOTES, NoQuery, call, json_response, service_of

LATEST_NOTES_PATH = "/api/projects/{id}/notes/latest"


async def latest_notes(request: Request) -> Response:
    query_model(request, NoQuery)
    read = await call(request, service_of(request).latest_session_notes, request.path_params["id"])
    return json_response(NOTES.dump_json(read.value, by_alias=True), read.seq)


def routes() -> list[BaseRoute]:
    return [Route(LATEST_NOTES_PATH, latest_notes, methods=["GET"])]
