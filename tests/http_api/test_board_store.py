"""http_api/static/store.js in Chromium: snapshots and live events of questions, file
reservations and messages join in any order, and what the page holds is the newest
state either says (the board loads these after its first view, while the feed runs).

The store runs in the page, whatever the store behind the server: SQLite only."""

from typing import Any

import pytest
from playwright.sync_api import Page

from tests.support.board import Pages

pytestmark = pytest.mark.only_store("sqlite")

PROJECT = "proj_1"


def run(page: Page, steps: list[list[Any]]) -> Any:
    """Apply ``steps`` to a new Store of the page's own module and describe what it
    holds: ["event", seq, name, data] goes through apply (the feed); ["snapshot", seq,
    {questions?, reservations?, messages?}] through loadCoordination (a listing read at
    that seq)."""
    result: Any = page.evaluate(
        """async ([project, steps]) => {
          const { Store } = await import("/assets/store.js");
          const store = new Store();
          store.switchProject(project);
          for (const [kind, seq, ...rest] of steps) {
            if (kind === "event") store.apply({ seq, event: rest[0], data: rest[1], timestamp: 0 });
            else store.loadCoordination(project, rest[0], seq);
          }
          const states = (m) => m.recipients.map((r) => [r.recipient, r.readAt, r.ackedAt]);
          return {
            open: store.openQuestions().map((q) => q.id),
            questions: Object.fromEntries([...store.questions].map(([id, q]) => [id, q.status])),
            reservations: store.reservationList().map((r) => [r.id, r.expiresAt]),
            unread: store.unreadForHumans().map((m) => m.id),
            read: [...store.messages.values()].map((m) => [m.id, states(m)]),
          };
        }""",
        [PROJECT, steps],
    )
    return result


def reservation(id: str, expires_at: int) -> dict[str, Any]:
    return {
        "id": id,
        "projectId": PROJECT,
        "sessionId": "sess_1",
        "taskId": None,
        "pattern": "src/**",
        "exclusive": True,
        "createdAt": 0,
        "expiresAt": expires_at,
        "leaseSeconds": 300,
    }


def question(version: int, status: str) -> dict[str, Any]:
    return {"id": "ques_1", "projectId": PROJECT, "sessionId": "sess_1", "text": "?"} | {
        "choices": [],
        "allowText": True,
        "status": status,
        "createdAt": 0,
        "updatedAt": version,
        "version": version,
    }


def message(read_at: int | None, acked_at: int | None = None) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "projectId": PROJECT,
        "threadId": "msg_1",
        "sender": "codex",
        "to": ["humans", "sess_2"],
        "body": "hi",
        "createdAt": 0,
        "recipients": [
            {"recipient": "humans", "readAt": read_at, "readBy": None, "ackedAt": acked_at},
            {"recipient": "sess_2", "readAt": None, "readBy": None, "ackedAt": None},
        ],
    }


def read_event(recipient: str, read_at: int, acked_at: int | None = None) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "projectId": PROJECT,
        "threadId": "msg_1",
        "recipient": recipient,
        "readAt": read_at,
        "readBy": "alice",
        "ackedAt": acked_at,
    }


@pytest.fixture
def page(pages: Pages) -> Page:
    return pages.open()


def test_a_reservation_released_is_not_brought_back_by_an_older_snapshot(page: Page) -> None:
    held = run(
        page,
        [
            ["event", 10, "reservation:released", {"id": "resv_1", "projectId": PROJECT}],
            ["snapshot", 8, {"reservations": [reservation("resv_1", 100)]}],
        ],
    )
    assert held["reservations"] == []
    # A snapshot read after the release does not hold it either; one read before a
    # renewal does not undo the renewal.
    held = run(
        page,
        [
            ["event", 12, "reservation:updated", reservation("resv_1", 200)],
            ["snapshot", 11, {"reservations": [reservation("resv_1", 100)]}],
        ],
    )
    assert held["reservations"] == [["resv_1", 200]]
    held = run(
        page,
        [
            ["snapshot", 13, {"reservations": [reservation("resv_1", 300)]}],
            ["event", 12, "reservation:updated", reservation("resv_1", 200)],  # replayed
        ],
    )
    assert held["reservations"] == [["resv_1", 300]]


def test_a_question_keeps_its_newest_version(page: Page) -> None:
    held = run(
        page,
        [
            ["event", 5, "question:answered", question(2, "answered")],
            ["snapshot", 4, {"questions": [question(1, "open")]}],
        ],
    )
    assert held["questions"] == {"ques_1": "answered"}
    assert held["open"] == []


def test_a_message_read_stays_read_whatever_arrives_after(page: Page) -> None:
    held = run(
        page,
        [
            ["event", 7, "message:sent", message(None)],
            ["event", 9, "message:read", read_event("humans", 90)],
            ["snapshot", 8, {"messages": [message(None)]}],  # read before the reading
        ],
    )
    assert held["unread"] == []
    assert held["read"] == [["msg_1", [["humans", 90, None], ["sess_2", None, None]]]]
    # Acknowledged later by the agent: its own state, the people's kept.
    held = run(
        page,
        [
            ["snapshot", 9, {"messages": [message(90)]}],
            ["event", 7, "message:sent", message(None)],  # replayed: older than the store
            ["event", 10, "message:read", read_event("sess_2", 95, 95)],
            ["event", 11, "message:sent", message(None) | {"id": "msg_2", "threadId": "msg_1"}],
        ],
    )
    assert held["unread"] == ["msg_2"]
    assert held["read"][0] == ["msg_1", [["humans", 90, None], ["sess_2", 95, 95]]]


OTHER_PROJECTS_MESSAGE = {"id": "msg_9", "projectId": "proj_2"}


def test_a_message_read_before_it_is_held_is_not_undone_by_an_older_listing(page: Page) -> None:
    # The reading comes live while the listing (read before it) is on its way.
    held = run(
        page,
        [
            ["event", 9, "message:read", read_event("humans", 90)],
            ["snapshot", 8, {"messages": [message(None)]}],
        ],
    )
    assert held["unread"] == []
    assert held["read"] == [["msg_1", [["humans", 90, None], ["sess_2", None, None]]]]
    # Each recipient's reading is kept, the acknowledgement with it; another project's is not.
    held = run(
        page,
        [
            ["event", 9, "message:read", read_event("humans", 90)],
            ["event", 10, "message:read", read_event("sess_2", 95, 95)],
            ["event", 11, "message:read", read_event("humans", 90, 99)],
            ["event", 12, "message:read", read_event("humans", 1) | OTHER_PROJECTS_MESSAGE],
            ["snapshot", 8, {"messages": [message(None)]}],
        ],
    )
    assert held["read"] == [["msg_1", [["humans", 90, 99], ["sess_2", 95, 95]]]]


def renewed(seq_expiry: dict[str, int]) -> dict[str, Any]:
    return {
        "projectId": PROJECT,
        "sessionId": "sess_1",
        "reservations": [{"id": id, "expiresAt": at} for id, at in seq_expiry.items()],
    }


def test_a_heartbeat_renews_the_reservations_it_lists_in_one_event(page: Page) -> None:
    docs = reservation("resv_2", 100) | {"pattern": "docs/**"}
    held = run(
        page,
        [
            ["snapshot", 5, {"reservations": [reservation("resv_1", 100), docs]}],
            ["event", 6, "reservation:renewed", renewed({"resv_1": 200, "resv_2": 210})],
            ["event", 6, "reservation:renewed", renewed({"resv_1": 200, "resv_2": 210})],  # again
        ],
    )
    assert held["reservations"] == [["resv_2", 210], ["resv_1", 200]]
    # A listing read before the renewal does not undo it, whichever comes first; one read
    # after it is newer; a renewal after the release brings nothing back.
    held = run(
        page,
        [
            ["event", 12, "reservation:renewed", renewed({"resv_1": 200})],
            ["snapshot", 11, {"reservations": [reservation("resv_1", 100)]}],
        ],
    )
    assert held["reservations"] == [["resv_1", 200]]
    held = run(
        page,
        [
            ["snapshot", 13, {"reservations": [reservation("resv_1", 300)]}],
            ["event", 12, "reservation:renewed", renewed({"resv_1": 200})],
        ],
    )
    assert held["reservations"] == [["resv_1", 300]]
    held = run(
        page,
        [
            ["event", 12, "reservation:renewed", renewed({"resv_1": 200})],
            ["event", 13, "reservation:released", {"id": "resv_1", "projectId": PROJECT}],
            ["snapshot", 11, {"reservations": [reservation("resv_1", 100)]}],
        ],
    )
    assert held["reservations"] == []
    # A change that is not a renewal still comes as reservation:updated, whole.
    held = run(
        page,
        [
            ["snapshot", 5, {"reservations": [reservation("resv_1", 100)]}],
            ["event", 6, "reservation:updated", reservation("resv_1", 150) | {"exclusive": False}],
        ],
    )
    assert held["reservations"] == [["resv_1", 150]]
