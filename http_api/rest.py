"""The REST routes: a thin edge over the service layer.

Every write response carries ``X-Maestro-Seq`` (the seq of its last event) and
every read the seq its snapshot is consistent with, so a client can load a
snapshot and resume the live feed from that seq with no gap and no duplicate.

Every write is made as its request's actor (``actor_of``): the principal's name, and
the name the client gives itself in ``X-Maestro-Client`` (``local/cli``), shown the
way an MCP client's ``clientInfo.name`` is (core/access.py ``actor_name``).
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any

from pydantic import BaseModel, Field, TypeAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from maestro_mcp.core.access import Scope, actor_name
from maestro_mcp.core.models import (
    NOTES_LIMIT_DEFAULT,
    NOTES_LIMIT_MAX,
    Project,
    ProjectCreate,
    ProjectPatch,
    Session,
    SessionCreate,
    SessionFilter,
    SessionNote,
    SessionPatch,
    Task,
    TaskBatch,
    TaskCreate,
    TaskFilter,
    TaskPatch,
)
from maestro_mcp.core.service import Result, Service
from maestro_mcp.protocol import (
    CLAIM_TOKEN_HEADER,
    CLIENT_HEADER,
    ETAG_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    IF_NONE_MATCH_HEADER,
    OVERRIDE_HEADER,
    SEQ_HEADER,
    TRUE,
    etag,
    if_none_match,
    is_true,
)

from .bodies import idempotency_key, if_match_version, query_model, read_model
from .security import principal_of, require_scope
from .state import core_of

# The methods that read: Starlette answers HEAD on every GET route, so a handler that
# serves both reading and writing methods must treat HEAD as the read it is, never as
# "not GET" (a write).
READING = frozenset({"GET", "HEAD"})


class NoQuery(BaseModel):
    """A route (or list) that takes no query parameters: one it does not know is refused (422)."""

    model_config = {"extra": "forbid"}


@dataclass(frozen=True)
class Resource:
    """One collection of the API and the service operations behind it."""

    plural: str
    entity: type[BaseModel]
    create_model: type[BaseModel]
    patch_model: type[BaseModel]
    filter_model: type[BaseModel]
    create: Callable[[Service], Callable[..., Result[Any]]]
    update: Callable[[Service], Callable[..., Result[Any]]]
    delete: Callable[[Service], Callable[..., Result[Any]]]
    get: Callable[[Service], Callable[..., Result[Any]]]
    list: Callable[[Service], Callable[..., Result[Any]]]
    # Extra keyword arguments of `update` taken from the request (tasks: claim headers).
    patch_options: Callable[[Request], dict[str, Any]] | None = None
    # The scope a DELETE needs: a project's takes all its tasks and sessions with it.
    delete_scope: Scope = Scope.WRITE


RESOURCES = (
    Resource(
        "projects",
        Project,
        ProjectCreate,
        ProjectPatch,
        NoQuery,
        create=lambda s: s.create_project,
        update=lambda s: s.update_project,
        delete=lambda s: s.delete_project,
        get=lambda s: s.get_project,
        list=lambda s: lambda _filter: s.list_projects(),
        delete_scope=Scope.ADMIN,
    ),
    Resource(
        "tasks",
        Task,
        TaskCreate,
        TaskPatch,
        TaskFilter,
        create=lambda s: s.create_task,
        update=lambda s: s.update_task,
        delete=lambda s: s.delete_task,
        get=lambda s: s.get_task,
        list=lambda s: s.list_tasks,
        patch_options=lambda request: {
            "claim_token": request.headers.get(CLAIM_TOKEN_HEADER),
            "override": is_true(request.headers.get(OVERRIDE_HEADER)),
        },
    ),
    Resource(
        "sessions",
        Session,
        SessionCreate,
        SessionPatch,
        SessionFilter,
        create=lambda s: s.create_session,
        update=lambda s: s.update_session,
        delete=lambda s: s.delete_session,
        get=lambda s: s.get_session,
        list=lambda s: s.list_sessions,
    ),
)

_ADAPTERS: dict[type[BaseModel], TypeAdapter[Any]] = {
    Project: TypeAdapter(list[Project]),
    Task: TypeAdapter(list[Task]),
    Session: TypeAdapter(list[Session]),
}


async def call(
    request: Request, fn: Callable[..., Result[Any]], *args: Any, **kwargs: Any
) -> Result[Any]:
    """A read, off the event loop: the feeds stay live while it runs."""
    return await core_of(request).read(partial(fn, *args, **kwargs))


async def write(
    request: Request,
    fn: Callable[..., Result[Any]],
    *args: Any,
    reads: tuple[str, ...] = (),
    **kwargs: Any,
) -> Result[Any]:
    """A write, committed together with the writes that arrive with it (group commit),
    made as the request's actor; ``reads``: the entities it reads first (Core.write)."""
    actor = actor_of(request)
    return await core_of(request).write(partial(fn, *args, **kwargs), actor=actor, reads=reads)


def client_of(request: Request) -> str | None:
    """The name the client gives itself (``CLIENT_HEADER``), None if it gives none. HTTP
    carries bytes and Starlette reads them as Latin-1: they are read as UTF-8 (the
    name an MCP client gives is Unicode too), or as Latin-1 where they are not UTF-8."""
    value = request.headers.get(CLIENT_HEADER)
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:
        return value


def actor_of(request: Request) -> str:
    """Who the request's writes say made them: its principal, and its client's name as
    ``actor_name`` shows an MCP client's (printable, no ``/``, cut to its length; a
    name with nothing left is no name: ``local``)."""
    return actor_name(principal_of(request), client_of(request))


def service_of(request: Request) -> Service:
    return core_of(request).service


def max_body_of(request: Request) -> int:
    return core_of(request).settings.max_body


def json_response(
    body: bytes | str, seq: int, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        body,
        status_code=status,
        media_type="application/json",
        headers={SEQ_HEADER: str(seq), **(headers or {})},
    )


def replayed_headers(result: Result[Any]) -> dict[str, str]:
    """``Idempotent-Replayed: true`` on the answer to a retry that changed nothing."""
    return {IDEMPOTENT_REPLAYED_HEADER: TRUE} if result.replayed else {}


def entity_response(result: Result[Any], status: int = 200) -> Response:
    entity = result.value
    headers = {ETAG_HEADER: etag(entity.version)}
    headers.update(replayed_headers(result))
    return json_response(entity.model_dump_json(by_alias=True), result.seq, status, headers)


def read_response(request: Request, result: Result[Any]) -> Response:
    """An entity read (GET): ``304`` with its ETag when ``If-None-Match`` names its
    version, else the entity."""
    version = result.value.version
    if if_none_match(request.headers.get(IF_NONE_MATCH_HEADER), version):
        headers = {SEQ_HEADER: str(result.seq), ETAG_HEADER: etag(version)}
        return Response(status_code=304, headers=headers)
    return entity_response(result)


def _routes_for(resource: Resource) -> list[BaseRoute]:
    async def collection(request: Request) -> Response:
        service = service_of(request)
        if request.method in READING:
            where = query_model(request, resource.filter_model)
            result = await call(request, resource.list(service), where)
            body = _ADAPTERS[resource.entity].dump_json(result.value, by_alias=True)
            return json_response(body, result.seq)
        data = await read_model(request, resource.create_model, max_body_of(request))
        result = await write(
            request, resource.create(service), data, idempotency_key=idempotency_key(request)
        )
        return entity_response(result, status=201)

    async def item(request: Request) -> Response:
        service = service_of(request)
        entity_id = request.path_params["id"]
        if request.method in READING:
            return read_response(request, await call(request, resource.get(service), entity_id))
        expected = if_match_version(request)
        if request.method == "PATCH":
            patch = await read_model(request, resource.patch_model, max_body_of(request))
            extra = resource.patch_options(request) if resource.patch_options else {}
            result = await write(
                request,
                resource.update(service),
                entity_id,
                patch,
                expected_version=expected,
                reads=(entity_id,),
                **extra,
            )
        else:
            require_scope(request, resource.delete_scope)
            result = await write(
                request,
                resource.delete(service),
                entity_id,
                expected_version=expected,
                reads=(entity_id,),
            )
        return entity_response(result)

    base = f"/api/{resource.plural}"
    return [
        Route(base, collection, methods=["GET", "POST"]),
        Route(base + "/{id}", item, methods=["GET", "PATCH", "DELETE"]),
    ]


async def session_task(request: Request) -> Response:
    service = service_of(request)
    session_id, task_id = request.path_params["id"], request.path_params["task_id"]
    if request.method == "POST":
        result = await write(
            request,
            service.add_task_to_session,
            session_id,
            task_id,
            idempotency_key=idempotency_key(request),
        )
    else:
        result = await write(request, service.remove_task_from_session, session_id, task_id)
    body = result.value.model_dump_json(by_alias=True)
    return json_response(body, result.seq, headers=replayed_headers(result))


class NoteCreate(BaseModel):
    model_config = {"extra": "forbid"}
    message: str


class NoteFilter(BaseModel):
    model_config = {"extra": "forbid"}
    limit: Annotated[int, Field(ge=1, le=NOTES_LIMIT_MAX)] = NOTES_LIMIT_DEFAULT


# A list of notes as JSON (a session's notes here, a project's newest in notes.py).
NOTES = TypeAdapter(list[SessionNote])


async def session_notes(request: Request) -> Response:
    service = service_of(request)
    session_id = request.path_params["id"]
    if request.method in READING:
        where = query_model(request, NoteFilter)
        listed = await call(request, service.list_session_notes, session_id, limit=where.limit)
        return json_response(NOTES.dump_json(listed.value, by_alias=True), listed.seq)
    data = await read_model(request, NoteCreate, max_body_of(request))
    added = await write(
        request,
        service.add_session_note,
        session_id,
        data.message,
        idempotency_key=idempotency_key(request),
    )
    body = added.value.model_dump_json(by_alias=True)
    return json_response(body, added.seq, status=201, headers=replayed_headers(added))


async def task_batch(request: Request) -> Response:
    """Plan in one call: several tasks, all or none (``POST /api/tasks/batch``)."""
    batch = await read_model(request, TaskBatch, max_body_of(request))
    created = await write(
        request,
        service_of(request).create_tasks,
        batch,
        idempotency_key=idempotency_key(request),
    )
    body = b'{"tasks":' + _ADAPTERS[Task].dump_json(created.value, by_alias=True) + b"}"
    return json_response(body, created.seq, status=201, headers=replayed_headers(created))


def routes() -> list[BaseRoute]:
    # Before /api/tasks/{id}: "batch" is no task id.
    collected: list[BaseRoute] = [Route("/api/tasks/batch", task_batch, methods=["POST"])]
    for resource in RESOURCES:
        collected += _routes_for(resource)
    collected.append(
        Route("/api/sessions/{id}/tasks/{task_id}", session_task, methods=["POST", "DELETE"])
    )
    collected.append(Route("/api/sessions/{id}/notes", session_notes, methods=["GET", "POST"]))
    return collected
