"""REST routes for coordination: claim a task, claim the next ready ones, release, heartbeat."""

from typing import TypeVar

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from maestro_mcp.core.models import (
    ClaimNextRequest,
    ClaimRequest,
    HeartbeatRequest,
    ReleaseRequest,
)

from .bodies import idempotency_key, read_model
from .rest import json_response, max_body_of, service_of, write

M = TypeVar("M", bound=BaseModel)


async def optional_model(request: Request, model: type[M]) -> M:
    """The body as ``model``; no body at all means every field's default."""
    length = request.headers.get("content-length")
    if (length is None or length == "0") and "transfer-encoding" not in request.headers:
        return model()
    return await read_model(request, model, max_body_of(request))


async def claim_task(request: Request) -> Response:
    data = await read_model(request, ClaimRequest, max_body_of(request))
    result = await write(
        request,
        service_of(request).claim_task,
        request.path_params["id"],
        data,
        idempotency_key=idempotency_key(request),
    )
    return json_response(result.value.model_dump_json(by_alias=True), result.seq)


async def release_task(request: Request) -> Response:
    data = await optional_model(request, ReleaseRequest)
    result = await write(request, service_of(request).release_task, request.path_params["id"], data)
    return json_response(result.value.model_dump_json(by_alias=True), result.seq)


async def claim_next(request: Request) -> Response:
    data = await optional_model(request, ClaimNextRequest)
    result = await write(
        request,
        service_of(request).claim_next,
        request.path_params["id"],
        data,
        idempotency_key=idempotency_key(request),
    )
    granted = result.value
    # nothingReady only when there are no claims (it says why); the tasks stay whole.
    unset = {"nothing_ready"} if granted.nothing_ready is None else None
    return json_response(granted.model_dump_json(by_alias=True, exclude=unset), result.seq)


async def heartbeat(request: Request) -> Response:
    data = await optional_model(request, HeartbeatRequest)
    result = await write(request, service_of(request).heartbeat, request.path_params["id"], data)
    return json_response(result.value.model_dump_json(by_alias=True), result.seq)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/tasks/{id}/claim", claim_task, methods=["POST"]),
        Route("/api/tasks/{id}/release", release_task, methods=["POST"]),
        Route("/api/sessions/{id}/claim-next", claim_next, methods=["POST"]),
        Route("/api/sessions/{id}/heartbeat", heartbeat, methods=["POST"]),
    ]
