"""REST routes for coordination: claim a task, claim the next ready ones, release, heartbeat."""

from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from maestro_mcp.core.models import (
    ClaimGrant,
    ClaimNextRequest,
    ClaimRequest,
    HeartbeatRequest,
    ReleaseRequest,
)

from .bodies import idempotency_key, parse, read_json
from .rest import _call, _max_body, _service, json_response

M = TypeVar("M", bound=BaseModel)
_GRANTS = TypeAdapter(list[ClaimGrant])


async def optional_model(request: Request, model: type[M]) -> M:
    """The body as ``model``; no body at all means every field's default."""
    length = request.headers.get("content-length")
    if (length is None or length == "0") and "transfer-encoding" not in request.headers:
        return model()
    data = await read_json(request, _max_body(request))
    return parse(model, data if isinstance(data, dict) else {"": data})


async def claim_task(request: Request) -> Response:
    data = parse(ClaimRequest, await _json_object(request))
    result = await _call(
        _service(request).claim_task,
        request.path_params["id"],
        data,
        idempotency_key=idempotency_key(request),
    )
    return json_response(result.value.model_dump_json(by_alias=True), result.seq)


async def release_task(request: Request) -> Response:
    data = await optional_model(request, ReleaseRequest)
    result = await _call(_service(request).release_task, request.path_params["id"], data)
    return json_response(result.value.model_dump_json(by_alias=True), result.seq)


async def claim_next(request: Request) -> Response:
    data = await optional_model(request, ClaimNextRequest)
    result = await _call(
        _service(request).claim_next,
        request.path_params["id"],
        data,
        idempotency_key=idempotency_key(request),
    )
    body = b'{"claims":' + _GRANTS.dump_json(result.value, by_alias=True) + b"}"
    return json_response(body, result.seq)


async def heartbeat(request: Request) -> Response:
    data = await optional_model(request, HeartbeatRequest)
    result = await _call(_service(request).heartbeat, request.path_params["id"], data)
    return json_response(result.value.model_dump_json(by_alias=True), result.seq)


async def _json_object(request: Request) -> dict[str, Any]:
    data = await read_json(request, _max_body(request))
    return data if isinstance(data, dict) else {"": data}


def routes() -> list[BaseRoute]:
    return [
        Route("/api/tasks/{id}/claim", claim_task, methods=["POST"]),
        Route("/api/tasks/{id}/release", release_task, methods=["POST"]),
        Route("/api/sessions/{id}/claim-next", claim_next, methods=["POST"]),
        Route("/api/sessions/{id}/heartbeat", heartbeat, methods=["POST"]),
    ]
