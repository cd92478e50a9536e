"""Whatever a client sends, the answer is a deliberate 4xx in the one error shape, never a 5xx."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from starlette.testclient import TestClient

from http_api import Settings
from tests.support.servers import in_process
from tests.support.stores import Databases

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(
    [
        "projectId",
        "title",
        "name",
        "status",
        "priority",
        "parentId",
        "taskIds",
        "agent",
        "description",
        "prompt",
        "workingDir",
        "bogus",
    ]
)
bodies = st.dictionaries(field_names, json_values, max_size=6) | json_values
paths = st.sampled_from(
    [
        "/api/projects",
        "/api/tasks",
        "/api/sessions",
        "/api/projects/{p}",
        "/api/tasks/{t}",
        "/api/sessions/{s}",
        "/api/sessions/{s}/tasks/{t}",
        "/api/tasks/nope",
        "/api/events",
    ]
)
methods = st.sampled_from(["GET", "POST", "PATCH", "DELETE", "PUT"])
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=30)


@pytest.fixture(scope="module")
def fuzz_target(
    databases: Databases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The app on a database of each store: what reaches the store differs (PostgreSQL
    refuses some values SQLite takes), and no input may make either answer a 5xx."""
    database = databases.create(tmp_path_factory.mktemp("fuzz"))
    with in_process(Settings(database=database)) as client:
        p = client.post("/api/projects", json={"name": "p"}).json()["id"]
        t = client.post("/api/tasks", json={"projectId": p, "title": "t"}).json()["id"]
        s = client.post("/api/sessions", json={"projectId": p, "name": "s"}).json()["id"]
        yield client, {"p": p, "t": t, "s": s}
    databases.drop(database)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=methods,
    path=paths,
    body=bodies,
    if_match=st.none() | header_values,
    key=st.none() | header_values,
    query=st.dictionaries(
        st.sampled_from(["status", "projectId", "since", "x"]), header_values, max_size=2
    ),
)
def test_no_input_yields_a_server_error(
    fuzz_target: tuple[TestClient, dict[str, str]],
    method: str,
    path: str,
    body: Any,
    if_match: str | None,
    key: str | None,
    query: dict[str, str],
) -> None:
    client, ids = fuzz_target
    headers = {"Content-Type": "application/json"}
    if if_match is not None:
        headers["If-Match"] = if_match
    if key is not None:
        headers["Idempotency-Key"] = key
    if path == "/api/events":
        return  # a stream: covered by the live tests
    response = client.request(
        method, path.format(**ids), content=json.dumps(body), headers=headers, params=query
    )
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        error = response.json()["error"]
        assert isinstance(error["code"], str)
        assert error["message"]


def test_openapi_document_is_valid(fuzz_target: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = fuzz_target
    validate(client.get("/openapi.json").json())
