"""The OpenAPI document, generated from the same resource table and models the routes use."""

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from maestro_mcp import __version__
from maestro_mcp.core.models import (
    IDEMPOTENCY_KEY_MAX,
    ClaimGrant,
    ClaimNextRequest,
    ClaimRequest,
    ClaimsGranted,
    Heartbeat,
    HeartbeatRequest,
    Link,
    ReleaseRequest,
    SessionNote,
    Task,
    TaskBatch,
)
from maestro_mcp.protocol import (
    CLAIM_TOKEN_HEADER,
    IDEMPOTENCY_KEY_HEADER,
    IF_MATCH_HEADER,
    LAST_EVENT_ID_HEADER,
    OVERRIDE_HEADER,
    SEQ_HEADER,
    TRUE,
    etag,
)

from .rest import RESOURCES, NoteCreate, NoteFilter

_REF = "#/components/schemas/{model}"


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": _REF.format(model=model.__name__)}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "examples": ["not_found"]},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}

_SEQ = {
    SEQ_HEADER: {
        "description": "seq of this write's last event, or the seq this read is consistent with",
        "schema": {"type": "integer"},
    }
}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "headers": _SEQ, **_json(schema)}


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(s): {"description": "error", **_json({"$ref": "#/components/schemas/Error"})}
        for s in statuses
    }


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_IF_MATCH = {
    "name": IF_MATCH_HEADER,
    "in": "header",
    "required": False,
    "description": f"the version you read, as an ETag ({etag(3)}); 412 if it changed since",
    "schema": {"type": "string"},
}
_IDEMPOTENCY_KEY = {
    "name": IDEMPOTENCY_KEY_HEADER,
    "in": "header",
    "required": False,
    "description": "a retry with the same key returns the first result and changes nothing",
    "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX},
}
_SINCE = {"name": "since", "in": "query", "required": False, "schema": {"type": "integer"}}
_PROJECT = {"name": "projectId", "in": "query", "required": False, "schema": {"type": "string"}}


def _filter_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    # Enums referenced here are defined in components/schemas with the models.
    schema = model.model_json_schema(by_alias=True, ref_template=_REF)
    return [
        {"name": name, "in": "query", "required": False, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def build_openapi() -> dict[str, Any]:
    models: list[type[BaseModel]] = [
        Link,
        SessionNote,
        NoteCreate,
        ClaimGrant,
        ClaimsGranted,
        Heartbeat,
        ClaimRequest,
        ClaimNextRequest,
        TaskBatch,
        ReleaseRequest,
        HeartbeatRequest,
    ]
    paths: dict[str, Any] = {}
    for r in RESOURCES:
        models += [r.entity, r.create_model, r.patch_model]
        name = r.entity.__name__
        paths[f"/api/{r.plural}"] = {
            "get": {
                "summary": f"List {r.plural}",
                "parameters": _filter_parameters(r.filter_model),
                "responses": {
                    "200": _ok({"type": "array", "items": _ref(r.entity)}),
                    **_errors(422),
                },
            },
            "post": {
                "summary": f"Create a {name.lower()}",
                "parameters": [_IDEMPOTENCY_KEY],
                "requestBody": {"required": True, **_json(_ref(r.create_model))},
                "responses": {
                    "201": _ok(_ref(r.entity), "Created"),
                    **_errors(400, 404, 409, 413, 415, 422),
                },
            },
        }
        paths[f"/api/{r.plural}/{{id}}"] = {
            "parameters": [_ID],
            "get": {
                "summary": f"Get a {name.lower()}",
                "responses": {"200": _ok(_ref(r.entity)), **_errors(404)},
            },
            "patch": {
                "summary": f"Change some fields of a {name.lower()}",
                "parameters": [_IF_MATCH],
                "requestBody": {"required": True, **_json(_ref(r.patch_model))},
                "responses": {
                    "200": _ok(_ref(r.entity)),
                    **_errors(400, 404, 409, 412, 413, 415, 422),
                },
            },
            "delete": {
                "summary": f"Delete a {name.lower()}",
                "parameters": [_IF_MATCH],
                "responses": {
                    "200": _ok(_ref(r.entity), "The deleted entity"),
                    **_errors(404, 412, 413),
                },
            },
        }
    paths["/api/sessions/{id}/tasks/{taskId}"] = {
        "parameters": [
            _ID,
            {"name": "taskId", "in": "path", "required": True, "schema": {"type": "string"}},
        ],
        "post": {
            "summary": "Add a task to a session",
            "parameters": [_IDEMPOTENCY_KEY],
            "responses": {"200": _ok(_ref(Link)), **_errors(404, 413, 422)},
        },
        "delete": {
            "summary": "Remove a task from a session",
            "responses": {"200": _ok(_ref(Link)), **_errors(404, 413)},
        },
    }
    paths["/api/sessions/{id}/notes"] = {
        "parameters": [_ID],
        "get": {
            "summary": "A session's progress notes, oldest first",
            "parameters": _filter_parameters(NoteFilter),
            "responses": {
                "200": _ok({"type": "array", "items": _ref(SessionNote)}),
                **_errors(404),
            },
        },
        "post": {
            "summary": "Append a progress note to a session",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": {"required": True, **_json(_ref(NoteCreate))},
            "responses": {
                "201": _ok(_ref(SessionNote), "Created"),
                **_errors(400, 404, 413, 415, 422),
            },
        },
    }
    claim_headers = [
        {
            "name": CLAIM_TOKEN_HEADER,
            "in": "header",
            "required": False,
            "description": "the claim token: needed to change the status of a claimed task",
            "schema": {"type": "string"},
        },
        {
            "name": OVERRIDE_HEADER,
            "in": "header",
            "required": False,
            "description": f"{TRUE}: a person overrides another session's claim and "
            "unfinished dependencies",
            "schema": {"type": "string", "enum": [TRUE, "false"]},
        },
    ]
    paths["/api/tasks/{id}"]["patch"]["parameters"] += claim_headers
    paths["/api/tasks/{id}"]["patch"]["responses"].update(_errors(409))
    paths["/api/tasks/{id}/claim"] = {
        "parameters": [_ID],
        "post": {
            "summary": "Claim a ready task for a session (exclusive, with a lease)",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": {"required": True, **_json(_ref(ClaimRequest))},
            "responses": {"200": _ok(_ref(ClaimGrant)), **_errors(404, 409, 413, 422)},
        },
    }
    paths["/api/tasks/{id}/release"] = {
        "parameters": [_ID],
        "post": {
            "summary": "Release a claim: its holder by token, or a human with override",
            "requestBody": {"required": False, **_json(_ref(ReleaseRequest))},
            "responses": {"200": _ok(_ref(Task)), **_errors(404, 409, 413, 422)},
        },
    }
    paths["/api/sessions/{id}/claim-next"] = {
        "parameters": [_ID],
        "post": {
            "summary": "Atomically claim up to count ready tasks: most urgent, then oldest",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": {"required": False, **_json(_ref(ClaimNextRequest))},
            "responses": {
                "200": _ok(_ref(ClaimsGranted)),
                **_errors(404, 413, 422),
            },
        },
    }
    paths["/api/tasks/batch"] = {
        "post": {
            "summary": "Plan in one call: create several tasks, in order, all or none; "
            "dependsOn and parentId may name an earlier task of the batch by its ref",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": {"required": True, **_json(_ref(TaskBatch))},
            "responses": {
                "201": _ok(
                    {
                        "type": "object",
                        "properties": {"tasks": {"type": "array", "items": _ref(Task)}},
                    },
                    "Created",
                ),
                **_errors(400, 404, 409, 413, 415, 422),
            },
        },
    }
    paths["/api/sessions/{id}/heartbeat"] = {
        "parameters": [_ID],
        "post": {
            "summary": "The session is alive: renew its claims' leases",
            "requestBody": {"required": False, **_json(_ref(HeartbeatRequest))},
            "responses": {"200": _ok(_ref(Heartbeat)), **_errors(404, 413, 422)},
        },
    }
    paths["/api/events"] = {
        "get": {
            "summary": "Live events as Server-Sent Events; "
            f"resume with {LAST_EVENT_ID_HEADER} or since",
            "parameters": [_SINCE, _PROJECT],
            "responses": {"200": {"description": "text/event-stream of event envelopes"}},
        }
    }
    paths["/health"] = {
        "get": {"summary": "Liveness and the head seq", "responses": {"200": {"description": "OK"}}}
    }
    entities = [r.entity for r in RESOURCES]
    outputs = (Link, SessionNote, ClaimGrant, ClaimsGranted, Heartbeat)
    _, definitions = models_json_schema(
        [(m, "serialization" if m in (*outputs, *entities) else "validation") for m in models],
        by_alias=True,
        ref_template=_REF,
    )
    schemas = {**definitions.get("$defs", {}), "Error": _ERROR}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Maestro",
            "version": __version__,
            "description": "Projects, tasks and sessions shared live between AI agents and humans. "
            "WebSocket feed at /ws; protocol in docs/protocol.md.",
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }
