"""Holding one answer to the OpenAPI document, as the schemathesis run does
(tests/security/test_openapi_fuzz.py): a test that pins down a defect the run found
checks the answer to its own request the same way.

The checks are the run's (tests/security/schemathesis.toml) for one answer in hand:
no 5xx, a documented status, a documented content type, a body that matches its
schema, documented headers that match theirs. They are written here (the schemas
checked with openapi-schema-validator) rather than imported from schemathesis:
importing schemathesis patches Hypothesis for the whole process (it blanks the
falsifying examples Hypothesis prints), so the suite runs it only as a command.
"""

import json
from typing import Any

import httpx2 as httpx
from openapi_schema_validator import OAS31Validator

from http_api.openapi import build_openapi

_SSE = "text/event-stream"


def assert_documented(
    response: httpx.Response, path: str, spec: dict[str, Any] | None = None
) -> None:
    """Fails, saying why, unless ``response`` is an answer the document (``spec``, or
    the server's) describes for its request; ``path`` is the request's path as the
    document writes it (``/api/tasks/{id}``)."""
    spec = spec if spec is not None else build_openapi()
    method = response.request.method.lower()
    where = f"{method.upper()} {path} answered {response.status_code}"
    assert response.status_code < 500, f"{where}: a server error\n{response.text}"
    documented = spec["paths"][path][method]["responses"]
    answer = documented.get(str(response.status_code))
    assert answer is not None, f"{where}, which is not documented (only {sorted(documented)})"
    content = answer.get("content", {})
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    if not content:
        assert not response.content, f"{where} with a body, which is not documented"
    else:
        assert media_type in content, f"{where} with {media_type!r}, not one of {sorted(content)}"
        schema = content[media_type]["schema"]
        if media_type == _SSE:
            # The schema is one message's (OpenAPI 3.1), whose data is an event's JSON.
            data = schema["properties"]["data"]["contentSchema"]
            for message in _messages(response.text):
                _validate(spec, message, schema, where)
                _validate(spec, json.loads(message["data"]), data, f"{where}: data")
        else:
            _validate(spec, response.json(), schema, where)
    for name, header in answer.get("headers", {}).items():
        if name in response.headers:
            value = response.headers[name]
            schema = header["schema"]
            number = schema.get("type") == "integer" and value.isascii() and value.isdigit()
            _validate(spec, int(value) if number else value, schema, f"{where}: {name}")


def _messages(stream: str) -> list[dict[str, str]]:
    """The messages of an event stream: its blocks that carry data, as {field: value}."""
    messages = []
    for block in stream.replace("\r\n", "\n").split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        fields = (line.partition(":") for line in lines)
        message = {name: value.removeprefix(" ") for name, _, value in fields}
        if "data" in message:
            messages.append(message)
    return messages


def _validate(spec: dict[str, Any], value: Any, schema: dict[str, Any], where: str) -> None:
    # The schema's $refs point into the document (#/components/…): validate with it as root.
    validator = OAS31Validator({**schema, "components": spec["components"]})
    errors = [f"{e.json_path}: {e.message}" for e in validator.iter_errors(value)]
    assert not errors, f"{where}: does not match its schema:\n" + "\n".join(errors)
