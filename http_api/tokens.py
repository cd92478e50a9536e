"""REST routes for named tokens (``TOKENS_PATH``), admin only: make one (its secret is
in this answer and nowhere else, ever), list them, revoke one. And ``ME_PATH``, for
anyone: who the request acts as, and the actor the changes of a request like it carry
(with the same ``X-Maestro-Client``): the board words its own changes "you" by it.

Making a token takes no ``Idempotency-Key``: replaying the answer would need the
secret kept in the idempotency record. A retry after a lost answer finds the name
taken (409): revoke it and make it again.
"""

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from maestro_mcp.core.access import Scope
from maestro_mcp.core.models import Caller, TokenCreate, TokenInfo
from maestro_mcp.protocol import ME_PATH, TOKENS_PATH

from .bodies import read_model
from .rest import READING, actor_of, call, json_response, max_body_of, service_of, write
from .security import principal_of, require_scope
from .state import core_of

_LISTED = TypeAdapter(list[TokenInfo])


async def tokens(request: Request) -> Response:
    require_scope(request, Scope.ADMIN)
    service = service_of(request)
    if request.method in READING:
        listed = await call(request, service.list_tokens)
        return json_response(_LISTED.dump_json(listed.value, by_alias=True), listed.seq)
    data = await read_model(request, TokenCreate, max_body_of(request))
    made = await write(request, service.create_token, data)
    # Needed here from this answer on (the first token closes a token-less server);
    # other instances follow the event (core/token_book.py).
    core_of(request).tokens.made()
    return json_response(made.value.model_dump_json(by_alias=True), made.seq, status=201)


async def token(request: Request) -> Response:
    require_scope(request, Scope.ADMIN)
    revoked = await write(request, service_of(request).revoke_token, request.path_params["name"])
    # Refused here from this answer on; other instances follow the event (token_book.py).
    core_of(request).tokens.revoked()
    return json_response(revoked.value.model_dump_json(by_alias=True), revoked.seq)


async def me(request: Request) -> Response:
    principal = principal_of(request)
    caller = Caller(name=principal.name, scope=principal.scope, actor=actor_of(request))
    # Like every answer, the seq of the log's head as this instance knows it.
    return json_response(caller.model_dump_json(by_alias=True), core_of(request).feed.head)


def routes() -> list[BaseRoute]:
    return [
        Route(ME_PATH, me, methods=["GET"]),
        Route(TOKENS_PATH, tokens, methods=["GET", "POST"]),
        Route(TOKENS_PATH + "/{name}", token, methods=["DELETE"]),
    ]
