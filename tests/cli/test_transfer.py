"""``maestro export`` and ``maestro import`` as users run them: separate processes, a
server running on the database being exported, and servers on the copies.

A copy is judged by what clients see — REST answers, with their ``X-Maestro-Seq``, and
the feed's replay, frame for frame — never by reading its tables: the two stores lay
their rows out differently, and what must match is what clients are told."""

import json
import os
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from maestro_mcp.cli.transfer import NAME_WIDTH, TableProgress
from maestro_mcp.core.access import Scope
from maestro_mcp.core.models import (
    HUMANS,
    MessageFilter,
    QuestionFilter,
    ReservationFilter,
    TokenCreate,
)
from maestro_mcp.core.service import Result, Service
from maestro_mcp.core.storage.location import open_store
from maestro_mcp.core.storage.transfer import TABLES
from maestro_mcp.protocol import (
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    SEQ_HEADER,
)
from tests.support.core import Filled, fill_every_kind
from tests.support.servers import ServerProcess, maestro_command, start_server_process
from tests.support.waiting import WAIT

INVALID, CONFLICT, NOT_FOUND = 4, 5, 3


def maestro(
    *args: str, stdin: Any = None, text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``maestro *args`` as a process (reading ``stdin``, or ``text``); its output,
    whatever its exit status."""
    return subprocess.run(
        maestro_command(*args),
        stdin=stdin,
        input=text,
        capture_output=True,
        encoding="utf-8",
        timeout=WAIT * 6,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (result.returncode, result.stderr)
    return result


def filled(location: str) -> Filled:
    """Every kind of row in the database at ``location``, made through the service."""
    store = open_store(location)
    store.migrate()
    try:
        return fill_every_kind(Service(store))
    finally:
        store.close()


@contextmanager
def serving(location: str) -> Iterator[ServerProcess]:
    server = start_server_process(location)
    try:
        yield server
    finally:
        server.stop()


def answers(server: ServerProcess, made: Filled) -> list[tuple[str, bytes, str]]:
    """What the server answers to every GET a client makes: (path, body, seq)."""
    paths = ["/api/projects"]
    for project_id in made.project_ids:
        paths += [f"/api/tasks?projectId={project_id}", f"/api/sessions?projectId={project_id}"]
    paths += [f"/api/tasks/{task_id}" for task_id in made.task_ids]
    for session_id in made.session_ids:
        paths += [f"/api/sessions/{session_id}", f"/api/sessions/{session_id}/notes"]
    found = []
    with server.client() as http:
        for path in paths:
            response = http.get(path)
            assert response.status_code == 200, (path, response.text)
            found.append((path, response.content, response.headers[SEQ_HEADER]))
    return found


def coordination(location: str, made: Filled) -> list[tuple[str, Any, int]]:
    """What the service answers about messages, questions and file reservations (what
    their REST routes and MCP resources serve): (read, value as JSON, seq)."""
    store = open_store(location)
    try:
        service = Service(store)
        web, agent = made.project_ids[0], made.session_ids[0]
        reads: list[tuple[str, Result[Any]]] = [
            (f"message {m}", service.get_message(m)) for m in made.message_ids
        ]
        reads += [(f"question {q}", service.get_question(q)) for q in made.question_ids]
        reads += [
            ("messages", service.list_messages(MessageFilter(project_id=web))),
            ("inbox", service.list_messages(MessageFilter(recipient=agent, unread=True))),
            ("humans", service.list_messages(MessageFilter(recipient=HUMANS, newest=True))),
            ("unread", service.unread_count(agent)),
            ("questions", service.list_questions(QuestionFilter(project_id=web))),
            ("reservations", service.list_reservations(ReservationFilter(project_id=web))),
        ]
        return [(name, _json(result.value), result.seq) for name, result in reads]
    finally:
        store.close()


def _json(value: Any) -> Any:
    if isinstance(value, list):
        return [_json(item) for item in value]
    return value.model_dump(mode="json", by_alias=True) if hasattr(value, "model_dump") else value


def replay(server: ServerProcess) -> tuple[list[str], dict[str, Any]]:
    """Every event the feed replays from the start, each frame as sent, and its
    ``sync:ready``."""
    frames: list[str] = []
    with connect(f"{server.ws_url}?since=0", open_timeout=WAIT) as ws:
        while True:
            frame = ws.recv(timeout=WAIT)
            assert isinstance(frame, str)
            message = json.loads(frame)
            if message["event"] == "sync:ready":
                return frames, message["data"]
            frames.append(frame)


def retry(server: ServerProcess, made: Filled) -> tuple[int, str | None, bytes, str]:
    """The create ``made`` sent with an idempotency key, sent again."""
    with server.client() as http:
        response = http.post(
            "/api/tasks", json=made.retry_body, headers={IDEMPOTENCY_KEY_HEADER: made.retry_key}
        )
    return (
        response.status_code,
        response.headers.get(IDEMPOTENT_REPLAYED_HEADER),
        response.content,
        response.headers[SEQ_HEADER],
    )


def check_copy(source: str, copy: str, tmp_path: Path, *, piped: bool) -> None:
    """Fill ``source``, export it while a server runs on it, import the file into
    ``copy`` (through a pipe, or a file), and check that a server on the copy answers
    what one on the original does."""
    made = filled(source)
    with serving(source) as original:
        if piped:
            exporting = subprocess.Popen(
                maestro_command("export", "--quiet", "--db", source, "-"),
                stdout=subprocess.PIPE,
            )
            imported = maestro("import", "--db", copy, "-", stdin=exporting.stdout)
            assert exporting.stdout is not None
            exporting.stdout.close()
            assert exporting.wait(WAIT) == 0
            ok(imported)
        else:
            ok(maestro("export", "--db", source, str(tmp_path / "moved.jsonl")))
            ok(maestro("import", "--db", copy, str(tmp_path / "moved.jsonl")))
        wanted = answers(original, made)
        events, ready = replay(original)
        first_retry = retry(original, made)
        # Messages, questions and reservations have no REST routes to ask yet: the
        # service's answers, which they serve.
        assert coordination(copy, made) == coordination(source, made)

    with serving(copy) as moved:
        assert answers(moved, made) == wanted
        copied, moved_ready = replay(moved)
        assert copied == events  # byte for byte, seq for seq
        assert moved_ready["seq"] == ready["seq"] == len(events)
        assert moved_ready["epoch"] != ready["epoch"]  # a new history: clients reset once
        status, replayed, body, seq = retry(moved, made)
        assert (status, replayed) == (201, "true")
        assert (body, seq) == first_retry[2:]
        with moved.client() as http:
            created = http.post(
                "/api/tasks", json={"projectId": made.project_ids[0], "title": "After the move"}
            )
            assert int(created.headers[SEQ_HEADER]) == ready["seq"] + 1
            listed = http.get("/api/tasks", params={"projectId": made.project_ids[0]}).json()
        assert [t["id"] for t in listed][-1] == created.json()["id"]  # creation order goes on
        claimed = next(t for t in listed if t["id"] == made.claimed_task_id)
        assert claimed["claim"] is not None


@pytest.mark.only_store("postgresql")
def test_sqlite_moves_to_postgresql(database: str, tmp_path: Path) -> None:
    check_copy(str(tmp_path / "maestro.db"), database, tmp_path, piped=False)


@pytest.mark.only_store("postgresql")
def test_postgresql_moves_to_sqlite_through_a_pipe(database: str, tmp_path: Path) -> None:
    check_copy(database, str(tmp_path / "restored" / "maestro.db"), tmp_path, piped=True)


@pytest.mark.only_store("postgresql")
def test_an_export_comes_back_row_for_row_through_the_other_store(
    database: str, tmp_path: Path
) -> None:
    """SQLite to PostgreSQL and back: each export holds the same rows, line for line
    (ords, flags, lists of strings, a message's recipients in order, and all)."""
    source, back = str(tmp_path / "source.db"), str(tmp_path / "back" / "maestro.db")
    filled(source)
    store = open_store(source)
    try:
        Service(store).create_token(TokenCreate(name="ci-bot", scope=Scope.WRITE))
    finally:
        store.close()
    exports = []
    for location, next_location in ((source, database), (database, back), (back, None)):
        text = ok(maestro("export", "--quiet", "--db", location, "-")).stdout
        exports.append(text.splitlines()[1:])  # the header says when and where from
        if next_location is not None:
            ok(maestro("import", "--quiet", "--db", next_location, "-", text=text))
    assert exports[0] == exports[1] == exports[2]
    assert all(json.loads(exports[0][-1])["counts"].values())


# --- on each store ---------------------------------------------------------------------------


def counts_of(location: str) -> dict[str, int]:
    header = ok(maestro("export", "--quiet", "--db", location, "-")).stdout.splitlines()[0]
    counts: dict[str, int] = json.loads(header)["counts"]
    return counts


def test_every_table_name_fits_the_progress_column() -> None:
    assert max(len(table) for table in TABLES) <= NAME_WIDTH


def test_maestro_db_names_the_database_as_db_does(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On both stores: the environment variable stands for ``--db`` (a PostgreSQL URL
    too), as for every command that opens the store."""
    filled(database)
    monkeypatch.setenv("MAESTRO_DB", database)
    header = ok(maestro("export", "--quiet", "-")).stdout.splitlines()[0]
    monkeypatch.delenv("MAESTRO_DB")
    assert json.loads(header)["counts"] == counts_of(database)


def test_export_writes_only_the_file_to_stdout_and_progress_to_stderr(database: str) -> None:
    filled(database)
    result = ok(maestro("export", "--db", database, "-"))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["format"] == "maestro-export"
    assert lines[-1] == {"end": True, "counts": lines[0]["counts"]}
    assert all(set(line) == {"table", "row"} for line in lines[1:-1])
    progress = result.stderr.splitlines()
    for table, count in lines[0]["counts"].items():
        assert any(line.split() == [table, f"{count:,}", "rows"] for line in progress), table
    assert "rows/s" in progress[-1]
    assert ok(maestro("export", "--quiet", "--db", database, "-")).stderr == ""


def test_import_shows_progress_and_quiet_silences_it(database: str, tmp_path: Path) -> None:
    filled(database)
    ok(maestro("export", "--db", database, str(tmp_path / "all.jsonl")))
    shown = ok(maestro("import", "--db", str(tmp_path / "a.db"), str(tmp_path / "all.jsonl")))
    assert [line.split()[0] for line in shown.stderr.splitlines()[1 : 1 + len(TABLES)]] == list(
        TABLES
    )
    assert "rows/s" in shown.stderr
    assert "new history" in shown.stderr
    quiet = maestro("import", "-q", "--db", str(tmp_path / "b.db"), str(tmp_path / "all.jsonl"))
    assert (ok(quiet).stdout, quiet.stderr) == ("", "")


def test_the_export_file_is_private(database: str, tmp_path: Path) -> None:
    filled(database)
    target = tmp_path / "backup.jsonl"
    target.write_text("an older backup")
    target.chmod(0o644)
    ok(maestro("export", "--db", database, str(target)))
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # it holds claim tokens
    assert target.read_text().startswith('{"format":"maestro-export"')
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".backup")]


def test_a_database_that_holds_data_is_refused_and_kept(database: str, tmp_path: Path) -> None:
    source = str(tmp_path / "source.db")
    filled(source)
    ok(maestro("export", "--db", source, str(tmp_path / "all.jsonl")))
    filled(database)
    before = ok(maestro("export", "-q", "--db", database, "-")).stdout.splitlines()[1:]

    refused = maestro("import", "--db", database, str(tmp_path / "all.jsonl"))

    assert refused.returncode == CONFLICT
    assert "already holds data" in refused.stderr
    assert "nothing was imported" in refused.stderr
    assert ok(maestro("export", "-q", "--db", database, "-")).stdout.splitlines()[1:] == before


def test_a_truncated_file_is_refused_and_the_database_stays_empty(
    database: str, tmp_path: Path
) -> None:
    source = str(tmp_path / "source.db")
    filled(source)
    whole = ok(maestro("export", "-q", "--db", source, "-")).stdout.splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(whole[: len(whole) * 2 // 3]), encoding="utf-8")

    refused = maestro("import", "--db", database, str(cut))

    assert refused.returncode == INVALID
    assert "cut short" in refused.stderr
    assert set(counts_of(database).values()) == {0}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty: not a Maestro export"),
        ("id,title\n1,Login\n", "not a Maestro export"),
        (
            '{"format":"maestro-export","version":99,"exportedAt":1,"source":"x","counts":{}}\n',
            "newer Maestro",
        ),
    ],
)
def test_a_file_that_is_no_export_is_refused_before_the_database_is_touched(
    tmp_path: Path, text: str, message: str
) -> None:
    given = tmp_path / "given.jsonl"
    given.write_text(text)
    target = tmp_path / "new" / "maestro.db"
    refused = maestro("import", "--db", str(target), str(given))
    assert refused.returncode == INVALID
    assert message in refused.stderr
    assert not target.parent.exists()


def test_exporting_a_database_that_is_not_there_creates_none(tmp_path: Path) -> None:
    refused = maestro("export", "--data-dir", str(tmp_path / "none"), str(tmp_path / "x.jsonl"))
    assert refused.returncode == NOT_FOUND
    assert "there is no database at" in refused.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("quiet", [False, True])
def test_off_a_terminal_a_big_table_says_how_far_its_copy_got(
    quiet: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    """A log (no terminal, no bar) sees a long copy move: a line now and then while a
    big table is copied (here at every step), its total when it is done."""
    progress = TableProgress(quiet=quiet)
    progress.every_s = 0.0
    progress.table("events", 5000)
    for _ in range(5):
        progress.advance(1000)  # the last step reaches the total: its line says so
    progress.table("tasks", 10)  # small: no line before its total
    progress.advance(5)
    progress.advance(5)
    progress.summary("copied")
    lines = [line.split() for line in capsys.readouterr().err.splitlines()]
    if quiet:
        assert lines == []
        return
    assert lines[:7] == [
        ["events", "1,000", "of", "5,000", "rows…"],
        ["events", "2,000", "of", "5,000", "rows…"],
        ["events", "3,000", "of", "5,000", "rows…"],
        ["events", "4,000", "of", "5,000", "rows…"],
        ["events", "5,000", "rows"],
        ["tasks", "10", "rows"],
        ["✓", "copied:", "5,010", *lines[6][3:]],
    ]
