"""Messages over REST: sessions (agents) and people write to each other, in threads
(core/service/messages.py has the rules; docs/protocol.md, "Messages").

- ``POST /api/messages`` (``MessageSend``) -> 201, the message with its recipients.
  Without ``fromSessionId`` it is the request's person who sends it: ``sender`` is the
  request's actor either way. ``Idempotency-Key``: a retry sends it once.
- ``GET /api/messages`` (``MessageFilter``: ``projectId``, ``recipient``, ``threadId``,
  ``fromSessionId``, ``unread``, ``unacked``, ``limit``, ``newest``) -> the messages,
  oldest first (``newest=true``: the newest ``limit`` of them, still oldest first).
  Listing marks nothing read.
- ``GET /api/messages/{id}`` -> one message.
- ``POST /api/messages/read`` (``MessagesRead``: a recipient, the messages, ``ack``) ->
  those messages as they are now; a ``message:read`` event per message whose state it
  changed, none for one marked already.

Sending and marking read are writes (``write`` scope); listing and reading one are
reads (``read`` scope). Every answer carries ``X-Maestro-Seq``: after a listing, the
feed from that seq brings every later ``message:sent`` and ``message:read``.
"""

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from maestro_mcp.core.models import Message, MessageFilter, MessageSend, MessagesRead

from .bodies import idempotency_key, query_model, read_model
from .rest import READING, call, json_response, max_body_of, replayed_headers, service_of, write

MESSAGES_PATH = "/api/messages"
MESSAGES_READ_PATH = MESSAGES_PATH + "/read"
MESSAGE_PATH = MESSAGES_PATH + "/{id}"

# A list of messages as JSON.
MESSAGES = TypeAdapter(list[Message])


async def messages(request: Request) -> Response:
    service = service_of(request)
    if request.method in READING:
        where = query_model(request, MessageFilter)
        listed = await call(request, service.list_messages, where)
        return json_response(MESSAGES.dump_json(listed.value, by_alias=True), listed.seq)
    data = await read_model(request, MessageSend, max_body_of(request))
    sent = await write(
        request, service.send_message, data, idempotency_key=idempotency_key(request)
    )
    body = sent.value.model_dump_json(by_alias=True)
    return json_response(body, sent.seq, status=201, headers=replayed_headers(sent))


async def message(request: Request) -> Response:
    found = await call(request, service_of(request).get_message, request.path_params["id"])
    return json_response(found.value.model_dump_json(by_alias=True), found.seq)


async def mark_read(request: Request) -> Response:
    data = await read_model(request, MessagesRead, max_body_of(request))
    marked = await write(request, service_of(request).mark_read, data)
    return json_response(MESSAGES.dump_json(marked.value, by_alias=True), marked.seq)


def routes() -> list[BaseRoute]:
    return [
        Route(MESSAGES_PATH, messages, methods=["GET", "POST"]),
        # Before MESSAGE_PATH: "read" is no message id.
        Route(MESSAGES_READ_PATH, mark_read, methods=["POST"]),
        Route(MESSAGE_PATH, message, methods=["GET"]),
    ]
