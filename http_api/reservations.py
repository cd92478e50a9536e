"""REST routes for file reservations: a session's hold on the files of its project it
means to edit (core/service/reservations.py has the rules, core/globs.py the patterns).

- ``GET /api/reservations?projectId=&sessionId=`` -> ``[Reservation]``: the live ones
  (lease not run out) of a project, or of one session, in the order they were made;
  neither given is 422.
- ``POST /api/sessions/{id}/reservations`` ``{paths, shared?, leaseSeconds?, taskId?}``
  -> 201 ``[Reservation]``, one per pattern, all or none: a pattern that overlaps one
  another session holds (exclusively, or shared against an exclusive request) is 409
  ``reservation_conflict``, whose message names each holder session, its pattern and
  until when, and ``details.conflicts`` lists ``{pattern, heldBy: Reservation}``. A
  pattern the session holds already is renewed. ``Idempotency-Key`` replays it.
- ``POST /api/sessions/{id}/reservations/release`` ``{paths?}`` -> ``[Reservation]``:
  the session's reservations of those patterns released (all of them without
  ``paths``, or without a body); a pattern it does not hold is no error.
- ``DELETE /api/reservations/{id}`` -> the Reservation: a person releases one, whoever
  holds it (``reservation:released`` with reason ``override``); 404 once it is gone:
  released, or its lease ran out (``details: {id, expiredAt}``; the reaper releases it
  as ``expired``).
- ``POST /api/projects/{id}/reservations/check`` ``{paths, sessionId?}`` ->
  ``{conflicts, shared}``: which of these files (repository-relative) other sessions
  hold, exclusively or shared, the asker's own ``sessionId`` aside: what the git
  pre-commit guard asks (``maestro guard check``). A READ, sent as a POST because a
  commit's paths do not fit in a URL: a ``read`` token may use it (security.py).

Every answer carries ``X-Maestro-Seq``: a write's last event, or the seq a read is
consistent with (follow the feed from it for ``reservation:*`` events).
"""

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from maestro_mcp.core.models import (
    PathCheck,
    Reservation,
    ReservationFilter,
    ReservationRelease,
    ReservationRequest,
)
from maestro_mcp.protocol import RESERVATIONS_CHECK_PATH

from .bodies import idempotency_key, query_model, read_model
from .claims import optional_model
from .rest import call, json_response, max_body_of, replayed_headers, service_of, write

RESERVATIONS = TypeAdapter(list[Reservation])


async def list_reservations(request: Request) -> Response:
    where = query_model(request, ReservationFilter)
    listed = await call(request, service_of(request).list_reservations, where)
    return json_response(RESERVATIONS.dump_json(listed.value, by_alias=True), listed.seq)


async def reserve(request: Request) -> Response:
    data = await read_model(request, ReservationRequest, max_body_of(request))
    made = await write(
        request,
        service_of(request).reserve,
        request.path_params["id"],
        data,
        idempotency_key=idempotency_key(request),
    )
    body = RESERVATIONS.dump_json(made.value, by_alias=True)
    return json_response(body, made.seq, status=201, headers=replayed_headers(made))


async def release(request: Request) -> Response:
    data = await optional_model(request, ReservationRelease)
    released = await write(
        request, service_of(request).release_reservations, request.path_params["id"], data
    )
    return json_response(RESERVATIONS.dump_json(released.value, by_alias=True), released.seq)


async def release_one(request: Request) -> Response:
    released = await write(
        request, service_of(request).release_reservation, request.path_params["id"]
    )
    return json_response(released.value.model_dump_json(by_alias=True), released.seq)


async def check(request: Request) -> Response:
    data = await read_model(request, PathCheck, max_body_of(request))
    checked = await call(request, service_of(request).check_paths, request.path_params["id"], data)
    return json_response(checked.value.model_dump_json(by_alias=True), checked.seq)


def routes() -> list[BaseRoute]:
    return [
        Route("/api/reservations", list_reservations, methods=["GET"]),
        Route("/api/reservations/{id}", release_one, methods=["DELETE"]),
        Route("/api/sessions/{id}/reservations", reserve, methods=["POST"]),
        Route("/api/sessions/{id}/reservations/release", release, methods=["POST"]),
        Route(RESERVATIONS_CHECK_PATH, check, methods=["POST"]),
    ]
