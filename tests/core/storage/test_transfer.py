"""The transfer format (core/storage/transfer.py) and each store's dump and load: a copy
holds every row of the original, answers every read the same, and starts a new history;
loading is all-or-nothing and only into an empty database.

A copy is made on the same store here (both stores run); tests/cli/test_transfer.py
copies across stores, as processes."""

import io
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maestro_mcp.core.access import Scope
from maestro_mcp.core.errors import ReservationConflict
from maestro_mcp.core.models import (
    HUMANS,
    MessageFilter,
    MessageSend,
    ProjectCreate,
    QuestionAsk,
    QuestionFilter,
    QuestionStatus,
    ReservationFilter,
    ReservationRequest,
    SessionCreate,
    SessionFilter,
    SessionReport,
    TaskCreate,
    TaskFilter,
    TokenCreate,
)
from maestro_mcp.core.service import Result, Service
from maestro_mcp.core.storage import NotEmpty, Store, Unloadable, transfer
from maestro_mcp.core.storage.location import open_store
from maestro_mcp.core.storage.transfer import TABLES, ExportReader, TransferError
from tests.support.core import fill_every_kind, log_after, new_task
from tests.support.stores import Databases
from tests.support.waiting import wait_for


def exported(store: Store) -> str:
    out = io.StringIO()
    transfer.export(store, out)
    return out.getvalue()


def rows_of(text: str) -> list[str]:
    """The row lines and the end line: everything but the header (which says when)."""
    return text.splitlines()[1:]


@pytest.fixture
def copy(databases: Databases, tmp_path: Path) -> Iterator[Store]:
    """A second empty, migrated database of the test's store."""
    directory = tmp_path / "copy"
    directory.mkdir()
    location = databases.create(directory)
    store = open_store(location)
    store.migrate()
    yield store
    store.close()
    databases.drop(location)


def sizes(store: Store) -> dict[str, int]:
    with store.read() as rows:
        return {table: rows.table_size(table) for table in TABLES}


# --- a copy on the same store --------------------------------------------------------------


def test_a_copy_holds_every_row_and_answers_every_read_the_same(
    service: Service, db: Store, copy: Store
) -> None:
    filled = fill_every_kind(service)
    service.create_token(TokenCreate(name="ci-bot", scope=Scope.WRITE))  # kept as its hash
    original = exported(db)
    assert all(json.loads(original.splitlines()[0])["counts"].values())  # every kind of row

    copy.load(ExportReader(io.StringIO(original)))

    assert rows_of(exported(copy)) == rows_of(original)
    mirror = Service(copy)

    def same(read: str, *args: Any) -> None:
        """The copy answers the read as the original does, at the same seq."""
        got: Result[Any] = getattr(mirror, read)(*args)
        wanted: Result[Any] = getattr(service, read)(*args)
        assert (got.value, got.seq) == (wanted.value, wanted.seq)

    same("list_projects")
    for project_id in filled.project_ids:
        same("list_tasks", TaskFilter(project_id=project_id))
        same("list_sessions", SessionFilter(project_id=project_id))
    for session_id in filled.session_ids:
        same("list_session_notes", session_id)
        same("get_session", session_id)
    for task_id in filled.task_ids:
        same("get_task", task_id)
    assert mirror.get_task(filled.claimed_task_id).value.claim is not None
    web = filled.project_ids[0]
    agent = filled.session_ids[0]
    for message_id in filled.message_ids:
        same("get_message", message_id)
    same("list_messages", MessageFilter(project_id=web))
    same("list_messages", MessageFilter(thread_id=filled.message_ids[0], newest=True, limit=1))
    same("list_messages", MessageFilter(recipient=HUMANS, unacked=True))
    same("list_messages", MessageFilter(recipient=agent, unread=True))
    same("list_messages", MessageFilter(from_session_id=agent))
    same("unread_count", agent)
    same("unread_count", HUMANS)
    for question_id in filled.question_ids:
        same("get_question", question_id)
    same("list_questions", QuestionFilter(project_id=web))
    same("list_reservations", ReservationFilter(project_id=web))
    assert [r.id for r in mirror.list_reservations(ReservationFilter(session_id=agent)).value] == (
        filled.reservation_ids
    )
    assert log_after(mirror, 0) == log_after(service, 0)
    same("list_tokens")
    with db.read() as rows:
        [token] = rows.tokens()
    assert mirror.token_by_hash(token.secret_hash).value == token


def test_the_copy_goes_on_where_the_original_stopped_in_a_new_history(
    service: Service, db: Store, copy: Store
) -> None:
    filled = fill_every_kind(service)
    copy.load(ExportReader(io.StringIO(exported(db))))
    mirror = Service(copy)
    head = service.list_projects().seq

    assert copy.epoch() != db.epoch()
    replayed = mirror.create_task(
        TaskCreate(project_id=filled.project_ids[0], title="Made once"),
        idempotency_key=filled.retry_key,
    )
    first = service.create_task(
        TaskCreate(project_id=filled.project_ids[0], title="Made once"),
        idempotency_key=filled.retry_key,
    )
    assert replayed.replayed
    assert (replayed.value, replayed.seq) == (first.value, first.seq)
    made = mirror.create_task(TaskCreate(project_id=filled.project_ids[0], title="After"))
    assert made.seq == head + 1
    listed = mirror.list_tasks(TaskFilter(project_id=filled.project_ids[0])).value
    assert listed[-1].id == made.value.id  # after every imported task: creation order goes on
    note = mirror.add_session_note(filled.session_ids[0], "after the move").value
    notes = mirror.list_session_notes(filled.session_ids[0]).value
    assert notes[-1] == note
    assert note.id > notes[-2].id


def test_messages_questions_and_reservations_go_on_in_the_copy(
    service: Service, db: Store, copy: Store
) -> None:
    """What the agent was told, read and reserved comes along: a delivered answer is not
    given to it again, its unread mail is still unread, an exclusive reservation still
    refuses another session; and what is made after the move comes after what was."""
    filled = fill_every_kind(service)
    copy.load(ExportReader(io.StringIO(exported(db))))
    mirror = Service(copy)
    web, agent = filled.project_ids[0], filled.session_ids[0]

    reported = mirror.report(agent, SessionReport()).value
    assert reported.answers == []  # delivered before the move, once
    assert reported.unread == 1  # the person's reply
    [waiting] = mirror.list_questions(
        QuestionFilter(session_id=agent, status=QuestionStatus.OPEN)
    ).value
    assert waiting.id == filled.question_ids[1]
    assert (waiting.deadline_at, waiting.default, waiting.allow_text) == (
        service.get_question(waiting.id).value.deadline_at,
        "main",
        True,
    )
    other = mirror.create_session(
        SessionCreate(project_id=web, name="second agent", agent="codex")
    ).value
    with pytest.raises(ReservationConflict, match="src/release/"):
        mirror.reserve(other.id, ReservationRequest(paths=["src/release/notes.md"]))
    reserved = mirror.reserve(other.id, ReservationRequest(paths=["docs/"])).value
    held = mirror.list_reservations(ReservationFilter(project_id=web)).value
    assert [r.id for r in held] == [*filled.reservation_ids, reserved[0].id]

    sent = mirror.send_message(
        MessageSend(from_session_id=other.id, to=["project"], body="Hello after the move")
    ).value
    assert mirror.get_message(sent.id).value == sent  # its recipients in the order named
    assert [r.recipient for r in sent.recipients] == [agent, HUMANS]
    listed = mirror.list_messages(MessageFilter(project_id=web)).value
    assert [m.id for m in listed] == [*filled.message_ids, sent.id]
    inbox = mirror.list_messages(MessageFilter(recipient=agent, unread=True)).value
    assert [m.id for m in inbox] == [filled.message_ids[1], sent.id]
    asked = mirror.ask(other.id, QuestionAsk(text="Anyone on docs?")).value
    questions = mirror.list_questions(QuestionFilter(project_id=web)).value
    assert [q.id for q in questions] == [*filled.question_ids, asked.id]


def test_an_empty_database_copies(db: Store, copy: Store) -> None:
    original = exported(db)
    assert json.loads(original.splitlines()[-1]) == {"end": True, "counts": sizes(db)}
    copy.load(ExportReader(io.StringIO(original)))
    assert rows_of(exported(copy)) == rows_of(original)
    with copy.read() as rows:
        assert rows.head() == 0


def test_a_database_that_holds_data_is_refused_and_left_as_it_was(
    service: Service, db: Store, copy: Store
) -> None:
    fill_every_kind(service)
    original = exported(db)
    Service(copy).create_project(ProjectCreate(name="Already here"))
    before, epoch = exported(copy), copy.epoch()
    with pytest.raises(NotEmpty, match="already holds data"):
        copy.load(ExportReader(io.StringIO(original)))
    assert rows_of(exported(copy)) == rows_of(before)
    assert copy.epoch() == epoch


def test_a_truncated_file_loads_nothing(service: Service, db: Store, copy: Store) -> None:
    fill_every_kind(service)
    lines = exported(db).splitlines(keepends=True)
    epoch = copy.epoch()
    for cut in (len(lines) - 1, len(lines) // 2):
        with pytest.raises(TransferError, match="cut short"):
            copy.load(ExportReader(lines[:cut]))
        assert set(sizes(copy).values()) == {0}
        assert copy.epoch() == epoch
    copy.load(ExportReader(lines))  # nothing of the failed loads was left in the way
    assert sizes(copy) == sizes(db)


def test_rows_that_break_the_schema_load_nothing(service: Service, db: Store, copy: Store) -> None:
    fill_every_kind(service)
    lines = exported(db).splitlines(keepends=True)
    duplicated = [*lines[:2], lines[1], *lines[2:]]  # the first project twice
    header = json.loads(duplicated[0])
    header["counts"]["projects"] += 1
    duplicated[0] = json.dumps(header) + "\n"
    end = json.loads(duplicated[-1])
    end["counts"]["projects"] += 1
    duplicated[-1] = json.dumps(end) + "\n"
    with pytest.raises(Unloadable):
        copy.load(ExportReader(duplicated))
    orphan = [line.replace('"project_id":"proj_', '"project_id":"gone_', 1) for line in lines]
    with pytest.raises(Unloadable):
        copy.load(ExportReader(orphan))
    assert set(sizes(copy).values()) == {0}


def test_the_export_is_one_snapshot_while_writes_go_on(
    service: Service, db: Store, copy: Store
) -> None:
    project_id = service.create_project(ProjectCreate(name="Busy")).value.id
    stop = threading.Event()
    made = 0

    def write() -> None:
        nonlocal made
        while not stop.is_set():
            new_task(service, project_id, f"task {made}")
            made += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        wait_for(lambda: made >= 20, what="writes landing")  # then export while they go on
        text = exported(db)
    finally:
        stop.set()
        writer.join()
    counts = json.loads(text.splitlines()[0])["counts"]
    assert 0 < counts["tasks"] < made + 1
    # One event per task and one for the project: tables read at different moments
    # would disagree.
    assert counts["events"] == counts["tasks"] + 1
    copy.load(ExportReader(io.StringIO(text)))
    with copy.read() as rows:
        assert rows.head() == counts["events"]


# --- the format ------------------------------------------------------------------------------


def a_file(version: int = transfer.VERSION, **rows: list[dict[str, Any]]) -> list[str]:
    tables = [t for t in TABLES if transfer.ADDED_IN.get(t, 1) <= version]
    counts = {table: len(rows.get(table, [])) for table in tables}
    header = {"format": "maestro-export", "version": version, "exportedAt": 1, "source": "x"}
    lines = [json.dumps({**header, "counts": counts})]
    lines += [json.dumps({"table": t, "row": r}) for t in TABLES for r in rows.get(t, [])]
    lines.append(json.dumps({"end": True, "counts": counts}))
    return [line + "\n" for line in lines]


PROJECT = {
    "ord": 1,
    "id": "proj_1",
    "name": "p",
    "working_dir": None,
    "description": "",
    "created_at": 1,
    "updated_at": 1,
    "version": 1,
}


def read_all(lines: list[str]) -> list[tuple[str, dict[str, Any]]]:
    return list(ExportReader(lines))


def test_a_whole_file_reads_back_row_by_row() -> None:
    assert read_all(a_file(projects=[PROJECT])) == [("projects", PROJECT)]


TOKEN = {
    "name": "ci",
    "scope": "write",
    "secret_hash": "ab" * 32,
    "created_at": 1,
    "created_by": "local",
}


def test_a_version_1_file_has_no_tokens_and_still_reads() -> None:
    """Version 2 added the tokens table: a file of version 1 (written before) reads as
    having none, and one that holds token rows anyway is refused."""
    reader = ExportReader(a_file(1, projects=[PROJECT]))
    assert list(reader) == [("projects", PROJECT)]
    assert reader.header.counts["tokens"] == 0
    assert read_all(a_file(tokens=[TOKEN])) == [("tokens", TOKEN)]
    old = a_file(1)
    old.insert(1, json.dumps({"table": "tokens", "row": TOKEN}) + "\n")
    with pytest.raises(TransferError, match="a tokens row in a file of format version 1"):
        read_all(old)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "empty: not a Maestro export"),
        (["id,name\n"], "not a Maestro export"),
        (['{"format": "other", "version": 1}\n'], "not a Maestro export"),
    ],
)
def test_what_is_not_an_export_is_refused_at_once(lines: list[str], message: str) -> None:
    with pytest.raises(TransferError, match=message):
        ExportReader(lines)


def test_a_newer_format_is_refused_at_once() -> None:
    lines = a_file()
    header = json.loads(lines[0])
    header["version"] = transfer.VERSION + 1
    with pytest.raises(TransferError, match="newer Maestro"):
        ExportReader([json.dumps(header), *lines[1:]])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda lines: lines[:-1], "without the end line: the file was cut short"),
        (lambda lines: [*lines[:-1], lines[-1][:10]], "line 3: not JSON"),
        (lambda lines: [*lines, lines[1]], "line 4: more lines after the end line"),
        (lambda lines: [lines[0], lines[1].replace("projects", "users"), lines[2]], "unknown"),
        (lambda lines: [lines[0], lines[1].replace('"name"', '"title"'), lines[2]], "columns"),
        (
            lambda lines: [lines[0], lines[1].replace('"ord": 1', '"ord": "1"'), lines[2]],
            "projects.ord must be an integer",
        ),
        (
            lambda lines: [lines[0], lines[1].replace('"ord": 1', '"ord": true'), lines[2]],
            "projects.ord must be an integer",
        ),
        (
            lambda lines: [lines[0], lines[1].replace('"name": "p"', '"name": null'), lines[2]],
            "projects.name must be a string",
        ),
        (lambda lines: [lines[0], lines[2]], "line 2: the file has"),  # counts disagree
    ],
)
def test_a_damaged_file_is_refused_at_the_line_that_breaks_it(change: Any, message: str) -> None:
    with pytest.raises(TransferError, match=message):
        read_all(change(a_file(projects=[PROJECT])))


def test_tables_come_in_order() -> None:
    link = {"id": 1, "task_id": "task_1", "session_id": "sess_1"}
    lines = a_file(projects=[PROJECT], task_sessions=[link])
    with pytest.raises(TransferError, match="a row of projects after the rows of task_sessions"):
        read_all([lines[0], lines[2], lines[1], lines[3]])


def test_a_task_comes_after_its_parent() -> None:
    def task(made: int, parent: int | None) -> dict[str, Any]:
        return {"ord": made, "id": f"t{made}", "parent_id": parent and f"t{parent}"}

    made = [task(1, 4), task(2, None), task(3, 1), task(4, 2), task(5, None)]
    ordered = [t["ord"] for t in transfer.parents_first(made)]
    assert ordered == [2, 4, 1, 3, 5]
