"""File reservations over REST on a real server (both stores): reserve, list, release,
a person's override and the guard's check, each answer as the OpenAPI document says;
the events on the feed with their actor; a read token may check but not reserve; and two
sessions racing for overlapping globs, where exactly one wins, every round."""

from dataclasses import replace
from functools import partial
from typing import Any

import pytest

from http_api import Settings
from maestro_mcp.core.clock import iso
from maestro_mcp.core.vocabulary import PATH_CHECK_MATCHES_MAX, PATTERNS_PER_CALL_MAX
from maestro_mcp.protocol import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    RESERVATIONS_CHECK_PATH,
    SEQ_HEADER,
)
from tests.support.feeds import WsClient
from tests.support.openapi import assert_documented
from tests.support.races import at_once
from tests.support.rest import new_session
from tests.support.servers import LiveServer, live_server
from tests.support.tokens import named_token_headers
from tests.support.waiting import wait_for

RESERVE = "/api/sessions/{id}/reservations"
RELEASE = "/api/sessions/{id}/reservations/release"
ONE = "/api/reservations/{id}"
LIST = "/api/reservations"
ROUNDS = 30


def events_after(server: LiveServer, seq: int) -> list[dict[str, Any]]:
    """The events the feed replays after ``seq``, up to its head."""
    feed = WsClient(f"{server.ws_url}?since={seq}")
    try:
        return feed.until_ready()
    finally:
        feed.close()


@pytest.fixture
def sessions(server: LiveServer, project: dict[str, Any]) -> tuple[dict[str, Any], ...]:
    http = server.http
    return (
        new_session(http, project["id"], "api work", agent="claude-code"),
        new_session(http, project["id"], "web work", agent="codex"),
    )


def test_reserve_list_and_release_with_their_events(
    server: LiveServer, project: dict[str, Any], sessions: tuple[dict[str, Any], ...]
) -> None:
    http = server.http
    a, b = sessions
    before = int(http.get("/health").headers[SEQ_HEADER])
    headers = {IDEMPOTENCY_KEY_HEADER: "reserve-1"}
    body = {"paths": ["./src/api/", "docs/*.md"], "leaseSeconds": 120}
    made = http.post(RESERVE.format(id=a["id"]), json=body, headers=headers)
    assert made.status_code == 201, made.text
    assert_documented(made, RESERVE)
    held = made.json()
    assert [(r["pattern"], r["exclusive"], r["leaseSeconds"]) for r in held] == [
        ("src/api/**", True, 120),
        ("docs/*.md", True, 120),
    ]
    assert held[0]["expiresAt"] - held[0]["createdAt"] == 120_000
    assert {r["sessionId"] for r in held} == {a["id"]}
    # A retry with its key replays the first answer and changes nothing.
    again = http.post(RESERVE.format(id=a["id"]), json=body, headers=headers)
    assert again.status_code == 201
    assert again.headers[IDEMPOTENT_REPLAYED_HEADER] == "true"
    assert again.json() == held
    assert again.headers[SEQ_HEADER] == made.headers[SEQ_HEADER]

    shared = http.post(RESERVE.format(id=b["id"]), json={"paths": ["README.md"], "shared": True})
    assert shared.status_code == 201
    listed = http.get(LIST, params={"projectId": project["id"]})
    assert_documented(listed, LIST)
    assert [r["pattern"] for r in listed.json()] == ["src/api/**", "docs/*.md", "README.md"]
    assert int(listed.headers[SEQ_HEADER]) == int(shared.headers[SEQ_HEADER])
    of_b = http.get(LIST, params={"sessionId": b["id"]}).json()
    assert [(r["pattern"], r["exclusive"]) for r in of_b] == [("README.md", False)]

    # Released by pattern (as reserved, or written another way), then all of them.
    one = http.post(RELEASE.format(id=a["id"]), json={"paths": ["docs//*.md"]})
    assert one.status_code == 200
    assert_documented(one, RELEASE)
    assert [r["pattern"] for r in one.json()] == ["docs/*.md"]
    rest = http.post(RELEASE.format(id=a["id"]))  # no body: all of them
    assert rest.status_code == 200, rest.text
    assert_documented(rest, RELEASE)
    assert [r["pattern"] for r in rest.json()] == ["src/api/**"]
    none = http.post(RELEASE.format(id=a["id"]), json={})
    assert none.json() == []
    assert [r["pattern"] for r in http.get(LIST, params={"projectId": project["id"]}).json()] == [
        "README.md"
    ]

    events = [e for e in events_after(server, before) if e["event"].startswith("reservation:")]
    assert [(e["event"], e["data"]["pattern"]) for e in events] == [
        ("reservation:created", "src/api/**"),
        ("reservation:created", "docs/*.md"),
        ("reservation:created", "README.md"),
        ("reservation:released", "docs/*.md"),
        ("reservation:released", "src/api/**"),
    ]
    assert {e["data"].get("reason") for e in events[3:]} == {"released"}
    assert events[0]["data"] == held[0]
    assert {e["actor"] for e in events} == {"local"}


def test_a_conflict_is_a_409_naming_the_holder_and_until_when(
    server: LiveServer, sessions: tuple[dict[str, Any], ...]
) -> None:
    http = server.http
    a, b = sessions
    [held] = http.post(RESERVE.format(id=a["id"]), json={"paths": ["src/api/**"]}).json()
    head = http.get("/health").json()["seq"]
    refused = http.post(RESERVE.format(id=b["id"]), json={"paths": ["docs", "src/*/x.py"]})
    assert refused.status_code == 409
    assert_documented(refused, RESERVE)
    error = refused.json()["error"]
    assert error["code"] == "reservation_conflict"
    assert (
        f"src/*/x.py overlaps src/api/**, held exclusively by session {a['id']} "
        f"(claude-code, 'api work') until {iso(held['expiresAt'])}"
    ) in error["message"]
    assert error["details"]["conflicts"] == [{"pattern": "src/*/x.py", "heldBy": held}]
    # All or none: docs was not reserved either, and nothing went to the log.
    assert http.get(LIST, params={"sessionId": b["id"]}).json() == []
    assert http.get("/health").json()["seq"] == head
    # Shared against exclusive conflicts too; beside it, it does not.
    assert (
        http.post(RESERVE.format(id=b["id"]), json={"paths": ["src/"], "shared": True}).status_code
        == 409
    )
    assert http.post(RESERVE.format(id=b["id"]), json={"paths": ["src/web"]}).status_code == 201


def test_a_person_releases_anyones_reservation(
    server: LiveServer, sessions: tuple[dict[str, Any], ...]
) -> None:
    http = server.http
    a, b = sessions
    [held] = http.post(RESERVE.format(id=a["id"]), json={"paths": ["src/api/**"]}).json()
    released = http.delete(ONE.format(id=held["id"]), headers={"X-Maestro-Client": "cli"})
    assert released.status_code == 200
    assert_documented(released, ONE)
    assert released.json() == held
    [event] = events_after(server, int(released.headers[SEQ_HEADER]) - 1)
    assert event["event"] == "reservation:released"
    assert event["data"] == {
        "id": held["id"],
        "projectId": held["projectId"],
        "sessionId": a["id"],
        "taskId": None,
        "pattern": "src/api/**",
        "reason": "override",
    }
    assert event["actor"] == "local/cli"
    assert http.post(RESERVE.format(id=b["id"]), json={"paths": ["src/api"]}).status_code == 201
    gone = http.delete(ONE.format(id=held["id"]))
    assert gone.status_code == 404
    assert_documented(gone, ONE)


def test_a_person_releasing_a_run_out_reservation_gets_404_saying_it_expired(
    settings: Settings,
) -> None:
    """The lease ran out, the reaper has not come by: not a 200 ``override`` (the hold
    had ended), nor a 500, but the documented 404 saying when it expired; nothing is
    written."""
    with live_server(replace(settings, reap_interval=3600)) as server:
        http = server.http
        project = http.post("/api/projects", json={"name": "p"}).json()["id"]
        a = new_session(http, project, "api work")
        body = {"paths": ["src/"], "leaseSeconds": 1}
        [held] = http.post(RESERVE.format(id=a["id"]), json=body).json()
        wait_for(
            lambda: http.get(LIST, params={"projectId": project}).json() == [],
            what="the lease to run out",
        )
        head = http.get("/health").json()["seq"]
        gone = http.delete(ONE.format(id=held["id"]))
        assert gone.status_code == 404, gone.text
        assert_documented(gone, ONE)
        error = gone.json()["error"]
        assert error["code"] == "not_found"
        assert "expired at" in error["message"]
        assert error["details"] == {"id": held["id"], "expiredAt": iso(held["expiresAt"])}
        assert http.get("/health").json()["seq"] == head


def test_a_release_ignores_a_key_and_a_retry_answers_what_is_true_now(
    server: LiveServer, sessions: tuple[dict[str, Any], ...]
) -> None:
    """docs/protocol.md, "Idempotency": the release takes no key (it is idempotent as it
    is): not replayed; the retry releases nothing more, answers [] and emits nothing."""
    http = server.http
    a, _ = sessions
    assert http.post(RESERVE.format(id=a["id"]), json={"paths": ["x", "y"]}).status_code == 201
    key = {IDEMPOTENCY_KEY_HEADER: "release-1"}
    first = http.post(RELEASE.format(id=a["id"]), json={"paths": ["x"]}, headers=key)
    assert [r["pattern"] for r in first.json()] == ["x"]
    retry = http.post(RELEASE.format(id=a["id"]), json={"paths": ["x"]}, headers=key)
    assert retry.status_code == 200
    assert IDEMPOTENT_REPLAYED_HEADER not in retry.headers
    assert retry.json() == []
    assert int(retry.headers[SEQ_HEADER]) == int(first.headers[SEQ_HEADER])
    other = http.post(RELEASE.format(id=a["id"]), json={"paths": ["y"]}, headers=key)
    assert [r["pattern"] for r in other.json()] == ["y"]  # the same key, another body: not 422


def test_the_check_says_which_files_others_hold(
    server: LiveServer, project: dict[str, Any], sessions: tuple[dict[str, Any], ...]
) -> None:
    http = server.http
    a, b = sessions
    http.post(RESERVE.format(id=a["id"]), json={"paths": ["src/api/**"]})
    http.post(RESERVE.format(id=b["id"]), json={"paths": ["docs/*.md"], "shared": True})
    url = RESERVATIONS_CHECK_PATH.format(id=project["id"])
    paths = ["src/api/routes.py", "docs/x.md", "README.md", "./src/api/x.py"]
    anyone = http.post(url, json={"paths": paths})
    assert anyone.status_code == 200
    assert_documented(anyone, RESERVATIONS_CHECK_PATH)
    result = anyone.json()
    assert [c["path"] for c in result["conflicts"]] == ["src/api/routes.py", "src/api/x.py"]
    assert result["conflicts"][0]["heldBy"][0]["sessionId"] == a["id"]
    assert [(c["path"], c["heldBy"][0]["sessionId"]) for c in result["shared"]] == [
        ("docs/x.md", b["id"])
    ]
    mine = http.post(url, json={"paths": paths, "sessionId": a["id"]}).json()
    assert mine["conflicts"] == []  # its own reservations do not stop the asker
    # A check changes nothing: its seq is the head's, as a read's.
    assert int(anyone.headers[SEQ_HEADER]) == http.get("/health").json()["seq"]


def test_the_check_reads_a_path_as_posix_does_and_bounds_its_work(
    server: LiveServer, project: dict[str, Any], sessions: tuple[dict[str, Any], ...]
) -> None:
    """A backslash or a ``C:`` is part of a file name: such a file is checked like any
    other (one of them does not refuse the whole check); and a check whose paths times
    the reservations that may cover them pass PATH_CHECK_MATCHES_MAX is 413."""
    http = server.http
    a, b = sessions
    url = RESERVATIONS_CHECK_PATH.format(id=project["id"])
    odd = ["\\notes.txt", "a:/b", "C:/x", "src/a.py"]
    assert http.post(RESERVE.format(id=a["id"]), json={"paths": ["*.txt"]}).status_code == 201
    checked = http.post(url, json={"paths": odd})
    assert checked.status_code == 200, checked.text
    assert [c["path"] for c in checked.json()["conflicts"]] == ["\\notes.txt"]
    # Patterns that begin with a wildcard may cover any path: each path costs one match
    # per such pattern (*.txt only a name ending in .txt).
    wild = [f"*{n}/**" for n in range(PATTERNS_PER_CALL_MAX)]
    assert http.post(RESERVE.format(id=b["id"]), json={"paths": wild}).status_code == 201
    per_path = PATTERNS_PER_CALL_MAX
    fits = PATH_CHECK_MATCHES_MAX // per_path
    paths = [f"f{n}.rs" for n in range(fits)]
    assert http.post(url, json={"paths": paths}).status_code == 200
    refused = http.post(url, json={"paths": [*paths, "one-more.rs"]})
    assert refused.status_code == 413, refused.text
    error = refused.json()["error"]
    assert error["code"] == "payload_too_large"
    assert error["details"] == {
        "paths": fits + 1,
        "matches": (fits + 1) * per_path,
        "limit": PATH_CHECK_MATCHES_MAX,
    }
    assert_documented(refused, RESERVATIONS_CHECK_PATH)


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("POST", RESERVE, {"paths": ["/etc"]}, 422, "validation_error"),
        ("POST", RESERVE, {"paths": ["a/../b"]}, 422, "validation_error"),
        ("POST", RESERVE, {"paths": []}, 422, "validation_error"),
        ("POST", RESERVE, {"paths": ["x"], "leaseSeconds": 0}, 422, "validation_error"),
        ("POST", RESERVE.format(id="sess_nope"), {"paths": ["x"]}, 404, "not_found"),
        ("POST", RELEASE.format(id="sess_nope"), {}, 404, "not_found"),
        ("POST", RESERVATIONS_CHECK_PATH.format(id="proj_nope"), {"paths": []}, 404, "not_found"),
        ("POST", RESERVATIONS_CHECK_PATH, {"paths": ["../secret"]}, 422, "validation_error"),
        (
            "POST",
            RESERVATIONS_CHECK_PATH,
            {"paths": ["x"], "sessions": []},
            422,
            "validation_error",
        ),
        ("GET", LIST, None, 422, "validation_error"),
        ("DELETE", ONE.format(id="rsv_nope"), None, 404, "not_found"),
    ],
)
def test_what_is_refused_is_refused_in_the_apis_error_shape(
    server: LiveServer,
    project: dict[str, Any],
    sessions: tuple[dict[str, Any], ...],
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    code: str,
) -> None:
    # Something is reserved: a path the check cannot read is refused before any matching.
    everything = server.http.post(RESERVE.format(id=sessions[1]["id"]), json={"paths": ["**"]})
    assert everything.status_code == 201
    url = path.replace("{id}", sessions[0]["id"] if "sessions" in path else project["id"])
    answer = server.http.request(method, url, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    documented = next(
        p for p in (RESERVE, RELEASE, ONE, LIST, RESERVATIONS_CHECK_PATH) if _same(p, url)
    )
    assert_documented(answer, documented)


def _same(template: str, url: str) -> bool:
    parts, given = template.split("/"), url.split("/")
    return len(parts) == len(given) and all(
        p == g or p.startswith("{") for p, g in zip(parts, given, strict=True)
    )


def test_an_ended_session_reserves_nothing(
    server: LiveServer, sessions: tuple[dict[str, Any], ...]
) -> None:
    http = server.http
    a, _ = sessions
    http.post(RESERVE.format(id=a["id"]), json={"paths": ["src"]})
    ended = http.patch(f"/api/sessions/{a['id']}", json={"status": "completed"})
    assert ended.status_code == 200
    assert http.get(LIST, params={"sessionId": a["id"]}).json() == []  # released with it
    refused = http.post(RESERVE.format(id=a["id"]), json={"paths": ["src"]})
    assert refused.status_code == 422
    assert "has ended" in refused.json()["error"]["message"]


def test_a_named_tokens_reservation_carries_its_actor_and_a_read_token_only_checks(
    server: LiveServer, project: dict[str, Any], sessions: tuple[dict[str, Any], ...]
) -> None:
    http = server.http
    a, _ = sessions
    tokens = named_token_headers(http, {"agent-a": "write", "dashboard": "read"})
    reader, writer = tokens["dashboard"], tokens["agent-a"]
    check = RESERVATIONS_CHECK_PATH.format(id=project["id"])
    assert http.post(check, json={"paths": ["x"]}).status_code == 401
    # The check is a read, though a POST: a read token may ask it.
    allowed = http.post(check, json={"paths": ["x"]}, headers=reader)
    assert allowed.status_code == 200, allowed.text
    assert http.get(LIST, params={"projectId": project["id"]}, headers=reader).status_code == 200
    refused = http.post(RESERVE.format(id=a["id"]), json={"paths": ["x"]}, headers=reader)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"
    assert http.post(RELEASE.format(id=a["id"]), headers=reader).status_code == 403

    made = http.post(RESERVE.format(id=a["id"]), json={"paths": ["x"]}, headers=writer)
    assert made.status_code == 201
    assert http.delete(ONE.format(id=made.json()[0]["id"]), headers=reader).status_code == 403
    released = http.delete(ONE.format(id=made.json()[0]["id"]), headers=tokens["lead"])
    assert released.status_code == 200
    seq = int(made.headers[SEQ_HEADER]) - 1
    feed = WsClient(f"{server.ws_url}?since={seq}", additional_headers=reader)
    try:
        events = feed.until_ready()
    finally:
        feed.close()
    assert [(e["event"], e["actor"]) for e in events] == [
        ("reservation:created", "agent-a"),
        ("reservation:released", "lead"),
    ]


def test_two_sessions_racing_for_overlapping_globs_one_wins_every_round(
    server: LiveServer, project: dict[str, Any], sessions: tuple[dict[str, Any], ...]
) -> None:
    """Both requests sent at the same moment from two threads, on two connections, for
    patterns that overlap (one of them exclusive): exactly one 201 and one 409, whose
    message names the winner; in the end each round's winner alone holds its files."""
    a, b = sessions
    names = {a["id"]: "api work", b["id"]: "web work"}
    winners = []
    with server.client() as first, server.client() as second:
        for n in range(ROUNDS):
            # Globs that meet in a file of their own each round; every other round the
            # first asks shared, which an exclusive request still conflicts with.
            wanted = [
                (first, a, {"paths": [f"r{n}/src/**/*.py"], "shared": n % 2 == 1}),
                (second, b, {"paths": [f"r{n}/src/api/*"]}),
            ]
            answers = at_once(
                *(
                    partial(http.post, RESERVE.format(id=s["id"]), json=body)
                    for http, s, body in wanted
                )
            )
            assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
            [won] = [r for r in answers if r.status_code == 201]
            [lost] = [r for r in answers if r.status_code == 409]
            [held] = won.json()
            winner = held["sessionId"]
            error = lost.json()["error"]
            assert f"by session {winner} " in error["message"], error["message"]
            assert repr(names[winner]) in error["message"]
            assert f"until {iso(held['expiresAt'])}" in error["message"]
            assert [c["heldBy"]["id"] for c in error["details"]["conflicts"]] == [held["id"]]
            winners.append((winner, held["pattern"]))
    listed = server.http.get(LIST, params={"projectId": project["id"]}).json()
    assert [(r["sessionId"], r["pattern"]) for r in listed] == winners


@pytest.mark.parametrize("route", ["/api/tasks/{id}/claim", "/api/sessions/{id}/claim-next"])
def test_a_claim_whose_files_another_holds_is_a_documented_409_and_claims_nothing(
    server: LiveServer, project: dict[str, Any], sessions: tuple[dict[str, Any], ...], route: str
) -> None:
    http = server.http
    a, b = sessions
    reserve = http.post(RESERVE.format(id=a["id"]), json={"paths": ["src/api/"]})
    assert reserve.status_code == 201
    task = http.post("/api/tasks", json={"projectId": project["id"], "title": "t"}).json()
    body: dict[str, Any] = {"paths": ["src/**/routes.py"]}
    if "claim-next" in route:
        url = route.format(id=b["id"])
    else:
        url, body = route.format(id=task["id"]), {**body, "sessionId": b["id"]}
    refused = http.post(url, json=body)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "reservation_conflict"
    assert_documented(refused, route)
    assert http.get(f"/api/tasks/{task['id']}").json()["claim"] is None
    granted = http.post(url, json={**body, "paths": ["src/web/**"]})
    assert granted.status_code == 200, granted.text
    [held] = http.get(LIST, params={"sessionId": b["id"]}).json()
    assert (held["pattern"], held["taskId"]) == ("src/web/**", task["id"])
