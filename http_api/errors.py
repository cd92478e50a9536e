"""The one error shape: ``{"error": {"code", "message", "details"}}`` with the right status."""

import json
import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from maestro_mcp.core.errors import (
    Conflict,
    IdempotencyKeyReused,
    InvalidInput,
    MaestroError,
    NotFound,
    TooLarge,
    VersionConflict,
)
from maestro_mcp.core.storage import Contended, OutcomeUnknown, StoreUnavailable
from maestro_mcp.protocol import (
    ETAG_HEADER,
    RETRY_AFTER_HEADER,
    RETRY_AFTER_UNAVAILABLE_S,
    SEQ_HEADER,
    etag,
)

log = logging.getLogger(__name__)

_STATUS_BY_ERROR: dict[type[MaestroError], int] = {
    NotFound: 404,
    InvalidInput: 422,
    IdempotencyKeyReused: 422,
    Conflict: 409,
    VersionConflict: 412,
    TooLarge: 413,
}

_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: TooLarge.code,
    415: "unsupported_media_type",
    421: "invalid_host",
    422: "validation_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error raised at the HTTP edge (bad headers, bad body) before the core is called."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers


def error_document(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The one error shape, as JSON data."""
    return {"error": {"code": code, "message": message, "details": details}}


def error_json(code: str, message: str, details: Any = None) -> bytes:
    """The one error shape as a body, for answers written below Starlette."""
    return json.dumps(error_document(code, message, details)).encode()


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_document(code, message, details), status_code=status, headers=headers)


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {
            "field": ".".join(str(part) for part in err["loc"]) or None,
            "message": err["msg"],
            "type": err["type"],
        }
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


def from_validation_error(exc: ValidationError) -> ApiError:
    details = validation_details(exc)
    first = details[0]
    where = f"{first['field']}: " if first["field"] else ""
    return ApiError(422, "validation_error", f"invalid input: {where}{first['message']}", details)


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)


async def handle_maestro_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, MaestroError)
    status = next((_STATUS_BY_ERROR[k] for k in type(exc).__mro__ if k in _STATUS_BY_ERROR), 400)
    headers = {}
    if exc.seq is not None:
        headers[SEQ_HEADER] = str(exc.seq)
    if isinstance(exc, VersionConflict):
        headers[ETAG_HEADER] = etag(exc.current.version)
    return error_response(status, exc.code, exc.message, exc.details, headers)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    return await handle_api_error(request, from_validation_error(exc))


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _CODE_BY_STATUS.get(exc.status_code, "error")
    message = exc.detail if exc.status_code != 404 else f"no route for {request.url.path}"
    return error_response(exc.status_code, code, message, headers=exc.headers)


# A 503: the database is out of reach, or busy; the same request can be sent again.
UNAVAILABLE_CODE = "unavailable"
UNAVAILABLE_MESSAGE = "the database is unavailable right now; nothing was changed, retry shortly"
OUTCOME_UNKNOWN = (
    "the connection to the database was lost as this write was committed: it may or may "
    "not have been made; "
)
# What to do then: a request with its key is made once; one without may be made twice.
OUTCOME_UNKNOWN_KEYED = OUTCOME_UNKNOWN + "send it again with the same Idempotency-Key to know"
OUTCOME_UNKNOWN_UNKEYED = OUTCOME_UNKNOWN + "read what it changes before you send it again"
RETRY_LATER = {RETRY_AFTER_HEADER: str(RETRY_AFTER_UNAVAILABLE_S)}


async def handle_unavailable(request: Request, exc: Exception) -> Response:
    """The database is out of reach (restarting, failing over) or the write met a lock it
    may not wait for: nothing was written, and the same request can be sent again. Lost
    as the write committed (``OutcomeUnknown``), it may have been made: the same request
    with its ``Idempotency-Key`` tells."""
    assert isinstance(exc, StoreUnavailable | Contended)
    if isinstance(exc, StoreUnavailable):
        log.warning("%s %s: %s", request.method, request.url.path, exc)
    if isinstance(exc, OutcomeUnknown):
        # Keyed only where the route makes its write once per key (bodies.idempotency_key).
        keyed = getattr(request.state, "idempotency_key", None) is not None
        message = OUTCOME_UNKNOWN_KEYED if keyed else OUTCOME_UNKNOWN_UNKEYED
    elif isinstance(exc, StoreUnavailable):
        message = UNAVAILABLE_MESSAGE
    else:
        message = "the database is busy with a conflicting write; nothing was changed, retry"
    return error_response(503, UNAVAILABLE_CODE, message, headers=RETRY_LATER)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "internal server error; see the server log")


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    MaestroError: handle_maestro_error,
    ValidationError: handle_validation_error,
    HTTPException: handle_http_exception,
    StoreUnavailable: handle_unavailable,
    Contended: handle_unavailable,
    Exception: handle_unexpected,
}
