"""The OpenAPI document, generated from the same resource table and models the routes use.

Rule: the document describes every answer a client can get from an allowed Host
(tests/security/test_openapi_fuzz.py holds the server to it with schemathesis): each
status an operation can answer, with its content type and body. The answers every
operation shares: 401 without the token (when the server has one) and 503 when the
database is out of reach. Refusals of a Host or Origin that is not allowed (421,
403) are the same on every route and are described once, in ``info``.
"""

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from maestro_mcp import __version__
from maestro_mcp.core.access import CLIENT_NAME_MAX
from maestro_mcp.core.events import CHANGED, SYNC_READY, SYNC_RESET, EventType
from maestro_mcp.core.models import (
    IDEMPOTENCY_KEY_MAX,
    NOTE_MAX,
    ActivityQuery,
    Caller,
    ClaimGrant,
    ClaimNextRequest,
    ClaimRequest,
    ClaimsGranted,
    Heartbeat,
    HeartbeatRequest,
    HistoryQuery,
    Link,
    Message,
    MessageFilter,
    MessageSend,
    MessagesRead,
    NewToken,
    PathCheck,
    PathCheckResult,
    Question,
    QuestionAnswer,
    QuestionAsk,
    QuestionFilter,
    ReleaseRequest,
    Reservation,
    ReservationFilter,
    ReservationRelease,
    ReservationRequest,
    SessionNote,
    Task,
    TaskBatch,
    TokenCreate,
    TokenInfo,
)
from maestro_mcp.core.vocabulary import PATH_CHECK_MATCHES_MAX
from maestro_mcp.protocol import (
    BEARER_SCHEME,
    CLAIM_TOKEN_HEADER,
    CLIENT_HEADER,
    ENTITY_TAG,
    EPOCH_QUERY,
    ETAG_HEADER,
    IDEMPOTENCY_KEY_HEADER,
    IF_MATCH_HEADER,
    IF_NONE_MATCH_HEADER,
    LAST_EVENT_ID_HEADER,
    ME_PATH,
    OVERRIDE_HEADER,
    RESERVATIONS_CHECK_PATH,
    RETRY_AFTER_HEADER,
    SEQ_HEADER,
    SMALL_INT,
    TOKEN_QUERY,
    TOKENS_PATH,
    TRUE,
    etag,
)

from .messages import MESSAGE_PATH, MESSAGES_PATH, MESSAGES_READ_PATH
from .notes import LATEST_NOTES_PATH
from .questions import ANSWER_PATH, QUESTION_PATH, QUESTIONS_PATH, SESSION_QUESTIONS_PATH
from .rest import RESOURCES, NoteCreate, NoteFilter

_REF = "#/components/schemas/{model}"
_ERROR_REF = {"$ref": "#/components/schemas/Error"}
_BEARER = "bearer"
_TOKEN_IN_QUERY = "tokenQuery"


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
_ETAG = {
    ETAG_HEADER: {
        "description": f"the entity's version as a strong ETag ({etag(3)})",
        "schema": {"type": "string"},
    }
}

# Why each error status is answered; an operation lists the ones it can answer.
_WHY = {
    400: "the body is not JSON, or a header or seq is malformed",
    401: "the server has a token and the request does not carry a valid one (in a header)",
    403: "a browser Origin that is not allowed, or a token whose scope does not allow this",
    404: "no such entity",
    409: "a conflict: a name taken, a claim held or lost, a task not ready, files reserved "
    "by another session, a question answered already",
    412: f"{IF_MATCH_HEADER} names a version the entity is no longer at",
    413: "the body is too large, the write would add more to the event log than one write may, "
    "or (the guard's check) its paths need more pattern matches than one request may",
    415: "the body is not sent as application/json",
    422: "a field or parameter is invalid",
    503: f"the database is out of reach or busy; send it again after {RETRY_AFTER_HEADER}",
}
# Every operation but /health can answer these.
_EVERY = (401, 403, 503)
# Every operation that reads a JSON body can answer these.
_BODY = (400, 413, 415, 422)


def _ok(schema: dict[str, Any], description: str = "OK", entity: bool = False) -> dict[str, Any]:
    headers = {**_SEQ, **_ETAG} if entity else _SEQ
    return {"description": description, "headers": headers, **_json(schema)}


def _errors(*statuses: int) -> dict[str, Any]:
    return {
        str(s): {"description": _WHY[s], **_json(_ERROR_REF)} for s in sorted({*statuses, *_EVERY})
    }


_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
# What If-Match takes (protocol.if_match_version): *, a version, or a list of entity-tags.
_IF_MATCH_SYNTAX = rf"^(\*|{SMALL_INT.pattern}|{ENTITY_TAG}(,{ENTITY_TAG})*)$"
_IF_MATCH = {
    "name": IF_MATCH_HEADER,
    "in": "header",
    "required": False,
    "description": f"the version you read, as an ETag ({etag(3)}); 412 if it changed since; "
    "400 if it is no entity-tag, or a list naming two versions",
    "schema": {"type": "string", "pattern": _IF_MATCH_SYNTAX},
}
_IF_NONE_MATCH = {
    "name": IF_NONE_MATCH_HEADER,
    "in": "header",
    "required": False,
    "description": f"the version you hold, as an ETag ({etag(3)}); 304 if it is still current",
    "schema": {"type": "string"},
}
_IDEMPOTENCY_KEY = {
    "name": IDEMPOTENCY_KEY_HEADER,
    "in": "header",
    "required": False,
    "description": "a retry with the same key returns the first result and changes nothing",
    "schema": {"type": "string", "maxLength": IDEMPOTENCY_KEY_MAX},
}
# The client names itself: the actor its writes carry (and /api/me tells) follows.
_CLIENT = {
    "name": CLIENT_HEADER,
    "in": "header",
    "required": False,
    "description": "the name the client gives itself (cli, board): the actor of its changes "
    "is then <token name>/<name> (local/cli), as an MCP client's clientInfo.name makes it. "
    "UTF-8; trimmed, characters that are not printable and / shown as _, cut to "
    f"{CLIENT_NAME_MAX} characters; nothing left: no name. Never refused",
    "schema": {"type": "string"},
}
_SEQ_VALUE = {"type": "string", "pattern": f"^{SMALL_INT.pattern}$"}
_SINCE = {
    "name": "since",
    "in": "query",
    "required": False,
    "description": "resume after this seq",
    "schema": _SEQ_VALUE,
}
_LAST_EVENT_ID = {
    "name": LAST_EVENT_ID_HEADER,
    "in": "header",
    "required": False,
    "description": "resume after this seq (sent by EventSource on reconnect); wins over since",
    "schema": _SEQ_VALUE,
}
_PROJECT = {
    "name": "projectId",
    "in": "query",
    "required": False,
    "description": "only this project's events",
    "schema": {"type": "string"},
}
_EPOCH = {
    "name": EPOCH_QUERY,
    "in": "query",
    "required": False,
    "description": "the epoch of the sync:ready your seq came with; another one resets",
    "schema": {"type": "string"},
}


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    """``prop`` without its ``null`` alternative and its ``null`` default: for a field that
    may be left out but not sent as null (a query parameter, a PATCH of a required field)."""
    prop = {k: v for k, v in prop.items() if not (k == "default" and v is None)}
    options = [o for o in prop.get("anyOf", []) if o != {"type": "null"}]
    if len(options) == 1:
        del prop["anyOf"]
        prop = {**options[0], **prop}
    return prop


def _filter_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    # Enums referenced here are defined in components/schemas with the models.
    schema = model.model_json_schema(by_alias=True, ref_template=_REF)
    return [
        {"name": name, "in": "query", "required": False, "schema": _without_null(prop)}
        for name, prop in schema.get("properties", {}).items()
    ]


def _patch_schema(schema: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """A PATCH body's schema: ``null`` only for the fields it clears (the model's ``nullable``)."""
    nullable: frozenset[str] = getattr(model, "nullable", frozenset())
    properties = dict(schema["properties"])
    for name, field in model.model_fields.items():
        alias = field.alias or name
        if name not in nullable and alias in properties:
            properties[alias] = _without_null(properties[alias])
    return {**schema, "properties": properties}


def _links(operations: dict[str, str], at: str = "") -> dict[str, Any]:
    """Where an answer's entity leads: ``{link name: operationId}``, its id (at ``at``
    in the body) as the operation's ``id``."""
    return {name: _link(operation, id=f"{at}/id") for name, operation in operations.items()}


def _link(operation: str, **parameters: str) -> dict[str, Any]:
    """A link to ``operation``, its parameters taken from the answer's body at these
    JSON pointers."""
    expressions = {name: f"$response.body#{pointer}" for name, pointer in parameters.items()}
    return {"operationId": operation, "parameters": expressions}


_EVENT_ENVELOPE = {
    "type": "object",
    "description": "an event (with its seq), or a control message (sync:ready, sync:reset: "
    "no seq); docs/protocol.md says what each one's data holds",
    "required": ["event", "data", "timestamp"],
    "properties": {
        "seq": {"type": "integer", "minimum": 1},
        "event": {"enum": [*(e.value for e in EventType), SYNC_READY, SYNC_RESET]},
        "data": {"type": "object"},
        CHANGED: {
            "type": "array",
            "items": {"type": "string"},
            "description": "on *:updated: the fields whose value the change made differ "
            "(version and updatedAt aside); absent from events made before it existed",
        },
        "timestamp": {"type": "integer"},
        "actor": {"type": "string", "description": "who made the change"},
    },
}
# A page of the log read back in time (http_api/history.py).
_EVENT_PAGE = {
    "type": "object",
    "required": ["events", "next"],
    "properties": {
        "events": {
            "type": "array",
            "items": {"$ref": "#/components/schemas/EventEnvelope"},
            "description": "newest first: the stored envelopes, as the feeds send them",
        },
        "next": {
            "anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}],
            "description": "pass it as before for the next, older page; null: nothing older "
            "is retained",
        },
    },
}
_PAGE_SEQ = {
    SEQ_HEADER: {
        "description": "the head the page is consistent with: follow the feed from it (since) "
        "to miss nothing after the page",
        "schema": {"type": "integer"},
    }
}
# One message of the stream (OpenAPI 3.1: the schema of a text/event-stream is one
# message's); the stream also carries comments, which clients ignore.
_SSE_MESSAGE = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "id": {
            "type": "string",
            "description": "the event's seq",
            "pattern": f"^{SMALL_INT.pattern}$",
        },
        "event": {"const": "message"},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": "#/components/schemas/EventEnvelope"},
        },
        "retry": {"type": "integer"},
    },
}
_HEALTH = {
    "type": "object",
    "required": ["status", "version", "seq"],
    "properties": {
        "status": {"const": "ok"},
        "version": {"type": "string"},
        "seq": {"type": "integer", "description": "the head seq of the log"},
    },
}


# Where a new entity leads besides its own get, update and delete.
_FOLLOW = {
    "Project": {
        "activity": "projectActivity",
        "latestNotes": "latestNotes",
        "checkFiles": "checkFiles",
    },
    "Task": {"claim": "claimTask", "release": "releaseTask", "history": "taskHistory"},
    "Session": {
        "notes": "listNotes",
        "note": "addNote",
        "claimNext": "claimNext",
        "heartbeat": "heartbeat",
        "reserveFiles": "reserveFiles",
        "releaseFiles": "releaseFiles",
        "ask": "askQuestion",
    },
    "Question": {"answer": "answerQuestion"},
}


def _resource_paths(paths: dict[str, Any]) -> list[type[BaseModel]]:
    """The collections and their entities; returns the models they use."""
    models: list[type[BaseModel]] = []
    for r in RESOURCES:
        models += [r.entity, r.create_model, r.patch_model]
        name = r.entity.__name__
        get, update, delete = f"get{name}", f"update{name}", f"delete{name}"
        follow = {"get": get, "update": update, "delete": delete, **_FOLLOW.get(name, {})}
        paths[f"/api/{r.plural}"] = {
            "get": {
                "operationId": f"list{r.plural.capitalize()}",
                "summary": f"List {r.plural}",
                "parameters": _filter_parameters(r.filter_model),
                "responses": {
                    "200": _ok({"type": "array", "items": _ref(r.entity)}),
                    **_errors(422),
                },
            },
            "post": {
                "operationId": f"create{name}",
                "summary": f"Create a {name.lower()}",
                "parameters": [_IDEMPOTENCY_KEY],
                "requestBody": {"required": True, **_json(_ref(r.create_model))},
                "responses": {
                    "201": {**_ok(_ref(r.entity), "Created", entity=True), "links": _links(follow)},
                    **_errors(*_BODY, 404, 409),
                },
            },
        }
        paths[f"/api/{r.plural}/{{id}}"] = {
            "parameters": [_ID],
            "get": {
                "operationId": get,
                "summary": f"Get a {name.lower()}",
                "parameters": [_IF_NONE_MATCH],
                "responses": {
                    "200": {**_ok(_ref(r.entity), entity=True), "links": _links(follow)},
                    "304": {
                        "description": f"Not Modified: {IF_NONE_MATCH_HEADER} names this version",
                        "headers": {**_SEQ, **_ETAG},
                    },
                    **_errors(404),
                },
            },
            "patch": {
                "operationId": update,
                "summary": f"Change some fields of a {name.lower()}",
                "parameters": [_IF_MATCH],
                "requestBody": {"required": True, **_json(_ref(r.patch_model))},
                "responses": {
                    "200": _ok(_ref(r.entity), entity=True),
                    **_errors(*_BODY, 404, 409, 412),
                },
            },
            "delete": {
                "operationId": delete,
                "summary": f"Delete a {name.lower()}",
                "parameters": [_IF_MATCH],
                "responses": {
                    "200": _ok(_ref(r.entity), "The deleted entity", entity=True),
                    **_errors(400, 404, 412),
                },
            },
        }
    return models


def _history_paths(paths: dict[str, Any]) -> None:
    """The log read back in time, a page at a time (http_api/history.py)."""
    page = {"description": "OK", "headers": _PAGE_SEQ, **_json(_EVENT_PAGE)}
    paths["/api/tasks/{id}/history"] = {
        "parameters": [_ID],
        "get": {
            "operationId": "taskHistory",
            "summary": "The events about a task, newest first, a page at a time",
            "description": "Its own events, its links to sessions, its claims; a deleted "
            "task's while the log retains them.",
            "parameters": _filter_parameters(HistoryQuery),
            "responses": {"200": page, **_errors(404, 422)},
        },
    }
    paths["/api/projects/{id}/activity"] = {
        "parameters": [_ID],
        "get": {
            "operationId": "projectActivity",
            "summary": "A project's events, newest first, a page at a time",
            "description": "sessionId keeps the events about that session (its own, its "
            "notes, its task links, its claims, the updates of a task that carry its claim); "
            "agent those about the project's sessions of that agent.",
            "parameters": _filter_parameters(ActivityQuery),
            "responses": {"200": page, **_errors(404, 422)},
        },
    }


# A refused reservation: who holds which of the patterns asked for (http_api/reservations.py).
_RESERVATION_CONFLICT = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"const": "reservation_conflict"},
                "message": {
                    "type": "string",
                    "description": "each pattern asked for, the one it overlaps, its holder "
                    "session (and its agent and name) and until when",
                },
                "details": {
                    "type": "object",
                    "required": ["conflicts"],
                    "properties": {
                        "conflicts": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["pattern", "heldBy"],
                                "properties": {
                                    "pattern": {"type": "string"},
                                    "heldBy": _ref(Reservation),
                                },
                            },
                        }
                    },
                },
            },
        }
    },
}


def _reservation_paths(paths: dict[str, Any]) -> list[type[BaseModel]]:
    """File reservations (http_api/reservations.py); returns the models they use."""
    reservations = {"type": "array", "items": _ref(Reservation)}
    paths["/api/reservations"] = {
        "get": {
            "operationId": "listReservations",
            "summary": "The live file reservations of a project or of a session, in the "
            "order they were made",
            "description": "projectId or sessionId (or both); neither is 422.",
            "parameters": _filter_parameters(ReservationFilter),
            "responses": {"200": _ok(reservations), **_errors(422)},
        },
    }
    paths["/api/reservations/{id}"] = {
        "parameters": [_ID],
        "delete": {
            "operationId": "releaseReservation",
            "summary": "A person releases one file reservation, whoever holds it "
            "(reservation:released, reason override)",
            "responses": {
                "200": _ok(_ref(Reservation), "The released reservation"),
                **_errors(404),
            },
        },
    }
    paths["/api/sessions/{id}/reservations"] = {
        "parameters": [_ID],
        "post": {
            "operationId": "reserveFiles",
            "summary": "Reserve the files paths cover (globs) for a session, exclusively or "
            "shared, all or none",
            "description": "A pattern the session holds already is renewed. 409 when another "
            "session holds an overlapping pattern (exclusively, or shared against an exclusive "
            "request): the message names the holder and until when.",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": {"required": True, **_json(_ref(ReservationRequest))},
            "responses": {
                "201": {
                    **_ok(reservations, "Created: one reservation per pattern"),
                    "links": {"release": _link("releaseReservation", id="/0/id")},
                },
                **_errors(*_BODY, 404, 409),
                "409": {"description": _WHY[409], **_json(_RESERVATION_CONFLICT)},
            },
        },
    }
    paths["/api/sessions/{id}/reservations/release"] = {
        "parameters": [_ID],
        "post": {
            "operationId": "releaseFiles",
            "summary": "Release a session's reservations of these patterns (all of them "
            "without paths, or without a body)",
            "requestBody": {"required": False, **_json(_ref(ReservationRelease))},
            "responses": {
                "200": _ok(reservations, "The released reservations"),
                **_errors(*_BODY, 404),
            },
        },
    }
    paths[RESERVATIONS_CHECK_PATH] = {
        "parameters": [_ID],
        "post": {
            "operationId": "checkFiles",
            "summary": "Which of these files other sessions hold: what the pre-commit guard "
            "asks (a read: a read token may ask)",
            "description": "conflicts: held exclusively by another session; shared: held "
            "shared by others only. The reservations of sessionId (the asker's) are none of "
            "either. A path is read as POSIX reads it (a backslash or C: is part of a name); "
            "an empty or absolute path or a '..' segment is 422. The paths times the "
            f"reservations that may cover each are at most {PATH_CHECK_MATCHES_MAX}: more is "
            "413 payload_too_large (ask in parts).",
            "requestBody": {"required": True, **_json(_ref(PathCheck))},
            "responses": {"200": _ok(_ref(PathCheckResult)), **_errors(*_BODY, 404)},
        },
    }
    return [Reservation, ReservationRequest, ReservationRelease, PathCheck, PathCheckResult]


def _message_paths(paths: dict[str, Any]) -> list[type[BaseModel]]:
    """Messages between sessions and people (http_api/messages.py); returns the models
    they use."""
    listed = _ok({"type": "array", "items": _ref(Message)})
    paths[MESSAGES_PATH] = {
        "get": {
            "operationId": "listMessages",
            "summary": "List messages, oldest first (newest: the newest page, oldest first)",
            "description": "recipient: addressed to this session id, or humans; unread and "
            "unacked (which need a recipient): only those it has not read (acknowledged) "
            "yet. Listing marks nothing read.",
            "parameters": _filter_parameters(MessageFilter),
            "responses": {"200": listed, **_errors(422)},
        },
        "post": {
            "operationId": "sendMessage",
            "summary": "Send a message from a session, or from the person the request acts as",
            "description": "to: session ids, agent:NAME (that agent's active sessions), "
            "humans, project (every active session and the humans), expanded once, now. "
            "A reply (replyTo) joins its thread; without to it goes to that message's sender.",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": {"required": True, **_json(_ref(MessageSend))},
            "responses": {
                "201": {
                    **_ok(_ref(Message), "Created"),
                    "links": _links({"get": "getMessage"}),
                },
                **_errors(*_BODY, 404),
            },
        },
    }
    paths[MESSAGES_READ_PATH] = {
        "post": {
            "operationId": "markMessagesRead",
            "summary": "Mark messages read (and acknowledged, with ack) by one recipient",
            "description": "recipient: a session id, or humans. Marking again changes "
            "nothing; the answer is the messages as they are now.",
            "requestBody": {"required": True, **_json(_ref(MessagesRead))},
            "responses": {"200": listed, **_errors(*_BODY, 404)},
        },
    }
    paths[MESSAGE_PATH] = {
        "parameters": [_ID],
        "get": {
            "operationId": "getMessage",
            "summary": "Get a message, with each recipient's read and acknowledged state",
            "responses": {"200": _ok(_ref(Message)), **_errors(404)},
        },
    }
    return [Message, MessageSend, MessagesRead]


def _question_paths(paths: dict[str, Any]) -> list[type[BaseModel]]:
    """Agents' questions for the people (http_api/questions.py); returns the models they
    use."""
    follow = _links({"get": "getQuestion", **_FOLLOW["Question"]})
    paths[SESSION_QUESTIONS_PATH] = {
        "parameters": [_ID],
        "post": {
            "operationId": "askQuestion",
            "summary": "A session asks the people a question; the session then needs input",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": {"required": True, **_json(_ref(QuestionAsk))},
            "responses": {
                "201": {**_ok(_ref(Question), "Created", entity=True), "links": follow},
                **_errors(*_BODY, 404),
            },
        },
    }
    paths[QUESTIONS_PATH] = {
        "get": {
            "operationId": "listQuestions",
            "summary": "List questions, in the order they were asked",
            "parameters": _filter_parameters(QuestionFilter),
            "responses": {
                "200": _ok({"type": "array", "items": _ref(Question)}),
                **_errors(422),
            },
        },
    }
    paths[QUESTION_PATH] = {
        "parameters": [_ID],
        "get": {
            "operationId": "getQuestion",
            "summary": "Get a question",
            "parameters": [_IF_NONE_MATCH],
            "responses": {
                "200": {**_ok(_ref(Question), entity=True), "links": follow},
                "304": {
                    "description": f"Not Modified: {IF_NONE_MATCH_HEADER} names this version",
                    "headers": {**_SEQ, **_ETAG},
                },
                **_errors(404),
            },
        },
    }
    paths[ANSWER_PATH] = {
        "parameters": [_ID],
        "post": {
            "operationId": "answerQuestion",
            "summary": "Answer a question: the first answer wins",
            "description": "With choices, the answer is one of them unless the question "
            "allows text (422 otherwise). A question answered already, or cancelled, is "
            "409 already_answered with the question in details.question; a retry with the "
            "same Idempotency-Key gets its own first answer back.",
            "parameters": [_IF_MATCH, _IDEMPOTENCY_KEY],
            "requestBody": {"required": True, **_json(_ref(QuestionAnswer))},
            "responses": {
                "200": _ok(_ref(Question), entity=True),
                **_errors(*_BODY, 404, 409, 412),
            },
        },
    }
    return [Question, QuestionAsk, QuestionAnswer]


def _token_paths(paths: dict[str, Any]) -> list[type[BaseModel]]:
    """Named tokens (admin only); returns the models they use."""
    admin = " (admin only)"
    paths[TOKENS_PATH] = {
        "get": {
            "operationId": "listTokens",
            "summary": "List the named tokens" + admin,
            "responses": {"200": _ok({"type": "array", "items": _ref(TokenInfo)}), **_errors()},
        },
        "post": {
            "operationId": "createToken",
            "summary": "Make a named token; its secret is in this answer only" + admin,
            "requestBody": {"required": True, **_json(_ref(TokenCreate))},
            "responses": {"201": _ok(_ref(NewToken), "Created"), **_errors(*_BODY, 409)},
        },
    }
    paths[TOKENS_PATH + "/{name}"] = {
        "parameters": [
            {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
        ],
        "delete": {
            "operationId": "revokeToken",
            "summary": "Revoke a named token" + admin,
            "responses": {"200": _ok(_ref(TokenInfo), "The revoked token"), **_errors(404)},
        },
    }
    paths[ME_PATH] = {
        "get": {
            "operationId": "whoAmI",
            "summary": "Who this request acts as: the actor its changes carry, and its scope",
            "description": f"actor is what the changes of a request like this one, with the "
            f"same {CLIENT_HEADER}, carry: the board words its own changes by it.",
            "parameters": [_CLIENT],
            "responses": {"200": _ok(_ref(Caller)), **_errors()},
        },
    }
    return [TokenCreate, TokenInfo, NewToken, Caller]


def _for_every_write(paths: dict[str, Any]) -> None:
    """Any write may be refused for what it would add to the log (413), body or not, and
    may name its client (the actor of its events)."""
    for item in paths.values():
        for method, operation in item.items():
            if method in ("post", "patch", "delete"):
                operation["parameters"] = [*operation.get("parameters", []), _CLIENT]
                responses = operation["responses"]
                responses.setdefault("413", {"description": _WHY[413], **_json(_ERROR_REF)})
                operation["responses"] = dict(sorted(responses.items()))


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
    models += _resource_paths(paths)
    paths["/api/sessions/{id}/tasks/{taskId}"] = {
        "parameters": [
            _ID,
            {"name": "taskId", "in": "path", "required": True, "schema": {"type": "string"}},
        ],
        "post": {
            "operationId": "linkTask",
            "summary": "Add a task to a session",
            "parameters": [_IDEMPOTENCY_KEY],
            "responses": {
                "200": {
                    **_ok(_ref(Link)),
                    "links": {"unlink": _link("unlinkTask", id="/session/id", taskId="/task/id")},
                },
                **_errors(404, 422),
            },
        },
        "delete": {
            "operationId": "unlinkTask",
            "summary": "Remove a task from a session",
            "responses": {"200": _ok(_ref(Link)), **_errors(404, 422)},
        },
    }
    paths["/api/sessions/{id}/notes"] = {
        "parameters": [_ID],
        "get": {
            "operationId": "listNotes",
            "summary": "A session's progress notes, oldest first",
            "parameters": _filter_parameters(NoteFilter),
            "responses": {
                "200": _ok({"type": "array", "items": _ref(SessionNote)}),
                **_errors(404, 422),
            },
        },
        "post": {
            "operationId": "addNote",
            "summary": "Append a progress note to a session",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": {"required": True, **_json(_ref(NoteCreate))},
            "responses": {
                "201": _ok(_ref(SessionNote), "Created"),
                **_errors(*_BODY, 404),
            },
        },
    }
    paths[LATEST_NOTES_PATH] = {
        "parameters": [_ID],
        "get": {
            "operationId": "latestNotes",
            "summary": "The newest note of each session of a project that has notes",
            "description": "In the order the sessions were made; one per session that "
            "exists. Follow the feed from X-Maestro-Seq for newer ones (session:note_added).",
            "responses": {
                "200": _ok({"type": "array", "items": _ref(SessionNote)}),
                **_errors(404, 422),
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
    paths["/api/tasks/{id}/claim"] = {
        "parameters": [_ID],
        "post": {
            "operationId": "claimTask",
            "summary": "Claim a ready task for a session (exclusive, with a lease)",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": {"required": True, **_json(_ref(ClaimRequest))},
            "responses": {
                "200": {
                    **_ok(_ref(ClaimGrant)),
                    "links": _links({"release": "releaseTask", "task": "getTask"}, at="/task"),
                },
                **_errors(*_BODY, 404, 409),
            },
        },
    }
    paths["/api/tasks/{id}/release"] = {
        "parameters": [_ID],
        "post": {
            "operationId": "releaseTask",
            "summary": "Release a claim: its holder by token, or a human with override",
            "requestBody": {"required": False, **_json(_ref(ReleaseRequest))},
            "responses": {"200": _ok(_ref(Task)), **_errors(*_BODY, 404, 409)},
        },
    }
    paths["/api/sessions/{id}/claim-next"] = {
        "parameters": [_ID],
        "post": {
            "operationId": "claimNext",
            "summary": "Atomically claim up to count ready tasks: most urgent, then oldest",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": {"required": False, **_json(_ref(ClaimNextRequest))},
            # 409: the files it would reserve with the claims (paths) are another's.
            "responses": {"200": _ok(_ref(ClaimsGranted)), **_errors(*_BODY, 404, 409)},
        },
    }
    paths["/api/tasks/batch"] = {
        "post": {
            "operationId": "createTasks",
            "summary": "Plan in one call: create several tasks, in order, all or none; "
            "dependsOn and parentId may name an earlier task of the batch by its ref",
            "parameters": [_IDEMPOTENCY_KEY],
            "requestBody": {"required": True, **_json(_ref(TaskBatch))},
            "responses": {
                "201": _ok(
                    {
                        "type": "object",
                        "required": ["tasks"],
                        "properties": {"tasks": {"type": "array", "items": _ref(Task)}},
                    },
                    "Created",
                ),
                **_errors(*_BODY, 404, 409),
            },
        },
    }
    paths["/api/sessions/{id}/heartbeat"] = {
        "parameters": [_ID],
        "post": {
            "operationId": "heartbeat",
            "summary": "The session is alive: renew its claims' leases",
            "requestBody": {"required": False, **_json(_ref(HeartbeatRequest))},
            "responses": {"200": _ok(_ref(Heartbeat)), **_errors(*_BODY, 404)},
        },
    }
    paths["/api/events"] = {
        "get": {
            "operationId": "events",
            "summary": "Live events as Server-Sent Events; "
            f"resume with {LAST_EVENT_ID_HEADER} or since",
            "description": "The replay after the seq you resume from, then sync:ready, then "
            "live events, until the client goes, falls behind (sync:reset) or the server "
            f"stops. EventSource cannot send headers: it may pass the token as ?{TOKEN_QUERY}=.",
            "parameters": [_SINCE, _PROJECT, _EPOCH, _LAST_EVENT_ID],
            "security": [{_BEARER: []}, {_TOKEN_IN_QUERY: []}],
            "responses": {
                "200": {
                    "description": "an endless text/event-stream of event envelopes",
                    "content": {"text/event-stream": {"schema": _SSE_MESSAGE}},
                },
                **_errors(400),
            },
        }
    }
    _history_paths(paths)
    models += _reservation_paths(paths)
    models += _message_paths(paths)
    models += _question_paths(paths)
    models += _token_paths(paths)
    _for_every_write(paths)
    paths["/health"] = {
        "get": {
            "operationId": "health",
            "summary": "Liveness and the head seq",
            "security": [],
            "responses": {"200": {"description": "OK", **_json(_HEALTH)}},
        }
    }
    entities = [r.entity for r in RESOURCES]
    outputs = (
        Link,
        SessionNote,
        ClaimGrant,
        ClaimsGranted,
        Heartbeat,
        TokenInfo,
        NewToken,
        Reservation,
        PathCheckResult,
        Message,
        Question,
    )
    _, definitions = models_json_schema(
        [(m, "serialization" if m in (*outputs, *entities) else "validation") for m in models],
        by_alias=True,
        ref_template=_REF,
    )
    schemas = {**definitions.get("$defs", {}), "Error": _ERROR, "EventEnvelope": _EVENT_ENVELOPE}
    for r in RESOURCES:
        name = r.patch_model.__name__
        schemas[name] = _patch_schema(schemas[name], r.patch_model)
    # The service checks a note's length after trimming it, with its own message.
    schemas[NoteCreate.__name__]["properties"]["message"].update(minLength=1, maxLength=NOTE_MAX)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Maestro",
            "version": __version__,
            "description": "Projects, tasks and sessions shared live between AI agents and humans, "
            "and the messages and questions between them. "
            "WebSocket feed at /ws; protocol in docs/protocol.md. On every route, a Host "
            "that is not allowed is refused with 421 and a browser Origin that is not "
            "allowed with 403, in the error shape.",
        },
        "security": [{_BEARER: []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                _BEARER: {
                    "type": "http",
                    "scheme": BEARER_SCHEME.lower(),
                    "description": "needed once the server has a token (always off loopback)",
                },
                _TOKEN_IN_QUERY: {
                    "type": "apiKey",
                    "in": "query",
                    "name": TOKEN_QUERY,
                    "description": "the token, where a browser cannot send a header",
                },
            },
        },
    }
