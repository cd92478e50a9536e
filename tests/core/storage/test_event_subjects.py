"""What each event is about — its task and its session — is kept beside it in the log
(``events.subjects``): filled as it is appended, from the payloads of the events a
database held before (the migration), and for the events an older Maestro still running
on the database appends (a trigger), on both stores; an import fills it too."""

import io
import json
from pathlib import Path
from typing import Any

import pytest

from maestro_mcp.core.events import ABOUT_NEITHER, EventType, subjects, subjects_of_payload
from maestro_mcp.core.models import HistoryQuery
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage import Unloadable, transfer
from maestro_mcp.core.storage.location import open_store
from tests.support.core import make_every_event
from tests.support.stores import Databases, empty_database, is_postgres, old_schema, run_sql

# The schema version of each store before the log knew what its events are about.
BEFORE = {"sqlite": 6, "postgresql": 2}
# The kinds of event a Maestro of that time appended (later ones fill their columns
# themselves, and no older Maestro appends them).
KNOWN_BEFORE = ("project:", "task:", "session:", "token:")


def known_before(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    return [row for row in rows if row[2].startswith(KNOWN_BEFORE)]


COLUMNS = "seq, ts, type, project_id, payload, task_id, session_id"


def stored(location: str) -> list[tuple[Any, ...]]:
    """Every event row: seq, ts, type, project_id, payload, task_id, session_id."""
    return run_sql(location, f"SELECT {COLUMNS} FROM events ORDER BY seq")


def expected(kind: str, data: dict[str, Any]) -> tuple[str | None, str | None]:
    """The rule of docs/protocol.md, spelled out event by event."""
    if kind == "task:updated":  # and the session of its claim, if it has one
        return data["id"], data["claim"]["sessionId"] if data["claim"] else None
    if kind in ("task:created", "task:deleted"):
        return data["id"], None
    if kind in ("task:claimed", "task:released", "session:task_added", "session:task_removed"):
        return data["taskId"], data["sessionId"]
    if kind in ("session:created", "session:updated", "session:deleted"):
        return None, data["id"]
    if kind == "session:note_added":
        return None, data["sessionId"]
    if kind == "message:sent":  # about the session that sent it (none: a person did)
        return None, data["fromSessionId"]
    if kind == "message:read":  # about the session that read it (none: a person did)
        return None, data.get("sessionId")
    if kind == "reservation:renewed":  # a session's files, renewed by its heartbeat
        return None, data["sessionId"]
    if kind.startswith(("question:", "reservation:")):
        return data["taskId"], data["sessionId"]
    assert kind.startswith(("project:", "token:")), kind
    return None, None


def test_every_event_type_is_about_something_or_said_to_be_about_neither() -> None:
    for kind in EventType:
        about = subjects(kind, lambda name: f"<{name}>")
        assert (about != (None, None)) != (kind in ABOUT_NEITHER), kind


def test_each_event_is_stored_with_what_it_is_about(service: Service, database: str) -> None:
    make_every_event(service)
    rows = stored(database)
    assert {row[2] for row in rows} == {kind.value for kind in EventType}  # every type
    for _, _, kind, _, payload, task_id, session_id in rows:
        envelope = json.loads(payload)
        assert (task_id, session_id) == expected(kind, envelope["data"]), payload
        assert (task_id, session_id) == subjects_of_payload(payload)
    # Task updates of both kinds: with a claim (about its session) and without.
    updates = {row[6] is not None for row in rows if row[2] == "task:updated"}
    assert updates == {True, False}


def test_a_database_from_before_gets_its_events_subjects_from_their_payloads(
    service: Service, database: str, databases: Databases, store_kind: str, tmp_path: Path
) -> None:
    make_every_event(service)
    made = known_before(stored(database))
    old = empty_database(databases, tmp_path)
    try:
        old_schema(old, BEFORE[store_kind])
        for row in made:  # the log as the older Maestro wrote it: no such columns
            run_sql(old, "INSERT INTO events (seq, ts, type, project_id, payload) "
                    "VALUES (?, ?, ?, ?, ?)", row[:5])  # fmt: skip
        if is_postgres(old):
            run_sql(old, "UPDATE event_head SET seq = ?", (made[-1][0],))
        upgraded = open_store(old)
        try:
            upgraded.migrate()
            assert stored(old) == made  # the same columns the appends filled
            task_id = next(row[5] for row in made if row[2] == "task:deleted")
            page = Service(upgraded).task_history(task_id, HistoryQuery()).value
            assert [e.seq for e in page.events] == [r[0] for r in reversed(made) if r[5] == task_id]
        finally:
            upgraded.close()
    finally:
        databases.drop(old)


def test_events_an_older_maestro_appends_after_the_upgrade_get_their_subjects(
    service: Service, database: str
) -> None:
    """An older Maestro still running on the database appends events without the columns
    (a rolling upgrade; a `maestro mcp` an agent host started before it): they are filled
    all the same, from the payload, and a value given is never overwritten."""
    make_every_event(service)
    made = known_before(stored(database))
    head = stored(database)[-1][0]
    for offset, row in enumerate(made, start=1):
        run_sql(database, "INSERT INTO events (seq, ts, type, project_id, payload) "
                "VALUES (?, ?, ?, ?, ?)", (head + offset, *row[1:5]))  # fmt: skip
    again = run_sql(database, f"SELECT {COLUMNS} FROM events WHERE seq > ? ORDER BY seq", (head,))
    assert [row[5:] for row in again] == [row[5:] for row in made]
    run_sql(
        database,
        "INSERT INTO events (seq, ts, type, project_id, payload, task_id) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (2 * head + 1, *made[1][1:5], "task_given"),
    )
    [given] = run_sql(database, "SELECT task_id FROM events WHERE seq = ?", (2 * head + 1,))
    assert given == ("task_given",)


def test_an_import_fills_what_each_event_is_about(
    service: Service, database: str, databases: Databases, tmp_path: Path
) -> None:
    """The transfer format has no such columns (they are the payload's): a store fills
    them as it loads the events."""
    make_every_event(service)
    out = io.StringIO()
    transfer.export(service.store, out)
    copy = databases.create(tmp_path / "copy")
    try:
        store = open_store(copy)
        try:
            store.migrate()
            store.load(transfer.ExportReader(io.StringIO(out.getvalue())))
        finally:
            store.close()
        assert stored(copy) == stored(database)
    finally:
        databases.drop(copy)


def test_an_import_refuses_an_event_whose_payload_is_no_envelope(
    databases: Databases, tmp_path: Path
) -> None:
    copy = databases.create(tmp_path)
    store = open_store(copy)
    try:
        store.migrate()
        row = {"seq": 1, "ts": 0, "type": "task:created", "project_id": None, "payload": "{oops"}
        with pytest.raises(Unloadable, match="event 1"):
            store.load([("events", row)])
    finally:
        store.close()
        databases.drop(copy)
