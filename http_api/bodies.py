"""Reading requests at the edge: size-limited JSON bodies, query filters and headers."""

import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from maestro_mcp import protocol
from maestro_mcp.core.errors import TooLarge

from .errors import ApiError, from_validation_error

M = TypeVar("M", bound=BaseModel)
DIGITS = re.compile(r"[0-9]+")


async def read_json(request: Request, max_body: int) -> Any:
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != "application/json" and not media_type.endswith("+json"):
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send the body as JSON with 'Content-Type: application/json' (got {content_type!r})",
        )
    declared = request.headers.get("content-length")
    if declared is not None and DIGITS.fullmatch(declared) and int(declared) > max_body:
        raise _too_large(max_body)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_body:
            raise _too_large(max_body)
    try:
        return json.loads(body)
    except RecursionError:
        raise ApiError(400, "invalid_json", "the body is nested too deeply") from None
    except ValueError as exc:  # bad JSON, bad UTF-8, an integer too long to convert
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None


async def read_model(request: Request, model: type[M], max_body: int) -> M:
    data = await read_json(request, max_body)
    if not isinstance(data, dict):
        raise ApiError(422, "validation_error", "the body must be a JSON object")
    return parse(model, data)


def parse(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise from_validation_error(exc) from None


# Query parameters every route accepts, handled before the route (see security.py).
_RESERVED_QUERY = frozenset({protocol.TOKEN_QUERY})


def query_model(request: Request, model: type[M]) -> M:
    params = {k: v for k, v in request.query_params.items() if k not in _RESERVED_QUERY}
    return parse(model, params)


def if_match_version(request: Request) -> int | None:
    """The version an ``If-Match`` header asks for: ``"3"`` (our strong ETag) or ``3``."""
    try:
        return protocol.if_match_version(request.headers.get(protocol.IF_MATCH_HEADER))
    except ValueError as exc:
        raise ApiError(400, "invalid_header", str(exc)) from None


def idempotency_key(request: Request) -> str | None:
    """The request's key, for a route that makes its write once per key; noted on the
    request, so that a 503 can say whether sending it again is safe."""
    key = request.headers.get(protocol.IDEMPOTENCY_KEY_HEADER) or None
    request.state.idempotency_key = key
    return key


def _too_large(max_body: int) -> ApiError:
    return ApiError(
        413, TooLarge.code, f"the body is larger than {max_body} bytes", {"limit": max_body}
    )
