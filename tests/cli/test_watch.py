"""``maestro watch`` as a separate process: killed, restarted with its last seq, nothing missed."""

import json
import queue
import subprocess
import threading
from typing import Any, Protocol

from maestro_mcp.core.models import ProjectCreate, SessionPatch, SessionStatus, TaskCreate
from maestro_mcp.core.service import Service
from tests.support.core import write_elsewhere
from tests.support.servers import free_port, maestro_command, start_server_process
from tests.support.waiting import WAIT


class Server(Protocol):
    """A LiveServer or a ServerProcess: anything with a URL and a client."""

    base_url: str

    def client(self) -> Any: ...


class Watcher:
    def __init__(self, server: Server, *args: str) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.process = subprocess.Popen(
            maestro_command("watch", "--url", server.base_url, *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self.lines.put(line)

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr:
            for line in self.process.stderr:
                self.stderr.append(line)
                if "watching from seq" in line:
                    self.lines.put("<ready>")

    def ready(self) -> None:
        assert self.lines.get(timeout=WAIT) == "<ready>"

    def take(self, count: int) -> list[str]:
        return [self.lines.get(timeout=WAIT) for _ in range(count)]

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(WAIT)


def change(server: Server, count: int) -> None:
    with server.client() as http:
        body = {"name": "p", "allowDuplicate": True}  # each call makes a project, as many as asked
        project = http.post("/api/projects", json=body).json()
        for i in range(count - 1):
            http.post("/api/tasks", json={"projectId": project["id"], "title": f"t{i}"})


def seqs(lines: list[str]) -> list[int]:
    messages: list[dict[str, Any]] = [json.loads(line) for line in lines]
    return [m["seq"] for m in messages]


def test_watch_json_killed_and_restarted_prints_exactly_what_it_missed(
    server: Server,
) -> None:
    first = Watcher(server, "--json", "--since", "0")
    change(server, 3)
    seen = first.take(3)  # the ready notice goes to stderr in JSON mode: only events here
    assert seqs(seen) == [1, 2, 3]
    first.kill()

    change(server, 5)  # while nobody watches
    last_seq = seqs(seen)[-1]
    second = Watcher(server, "--json", "--since", str(last_seq))
    missed = second.take(5)
    assert seqs(missed) == [4, 5, 6, 7, 8]
    change(server, 1)
    assert seqs(second.take(1)) == [9]  # and nothing else came in between
    second.kill()


def test_watch_prints_a_readable_line_per_event(server: Server) -> None:
    watcher = Watcher(server)
    watcher.ready()
    change(server, 2)
    project_line, task_line = watcher.take(2)
    assert "#1" in project_line
    assert "project:created" in project_line
    assert "task:created" in task_line
    assert "pending" in task_line
    assert "t0" in task_line
    watcher.kill()


def test_watch_reconnects_after_a_server_restart_and_misses_nothing(database: str) -> None:
    port = free_port()
    first = start_server_process(database, "--port", str(port))
    watcher = Watcher(first, "--json", "--since", "0")
    change(first, 2)
    assert seqs(watcher.take(2)) == [1, 2]
    assert first.terminate() == 0

    # While the server is down, another process writes the database.
    def create_both(service: Service) -> None:
        project = service.create_project(ProjectCreate(name="while down")).value
        service.create_task(TaskCreate(project_id=project.id, title="missed?"))

    write_elsewhere(database, create_both)

    second = start_server_process(database, "--port", str(port))
    assert seqs(watcher.take(2)) == [3, 4]
    watcher.kill()
    assert second.terminate() == 0


def test_the_board_keeps_the_text_an_update_left_out() -> None:
    """``watch --board`` merges events as every client does (docs/protocol.md)."""
    from maestro_mcp.cli.watch import _apply

    task = {"id": "task_1", "title": "Login", "prompt": "p" * 1000, "status": "pending"}
    tasks = {"task_1": dict(task)}
    update = {"id": "task_1", "title": "Login", "status": "in_progress", "omitted": ["prompt"]}
    _apply(tasks, {"event": "task:updated", "data": update})
    assert tasks["task_1"] == {**task, "status": "in_progress"}


def test_an_update_line_says_what_changed() -> None:
    """From the envelope's ``changed``; an event from before it existed says what the
    entity is now, as it always did."""
    from maestro_mcp.cli.show import event_line

    task = {"id": "task_1", "title": "Login", "status": "in_review", "priority": "high"}
    update = {"seq": 7, "event": "task:updated", "data": task, "timestamp": 0, "actor": "bot"}
    line = event_line({**update, "changed": ["status", "priority"]}).plain
    assert "task_1  status → in_review, priority → high  · bot" in line
    assert "task_1  in_review  Login" in event_line(update).plain
    session = {"id": "sess_1", "name": "run", "status": "idle", "lastActivityAt": 0}
    beat = {"seq": 8, "event": "session:updated", "data": session, "changed": ["lastActivityAt"]}
    assert "sess_1  lastActivityAt → " in event_line(beat).plain  # nothing else: it says so
    claim = {"sessionId": "sess_1", "claimedAt": 0, "expiresAt": 0}
    claimed = {**update, "data": {**task, "claim": claim}, "changed": ["claim", "sessionCount"]}
    assert "task_1  claim → sess_1 until " in event_line(claimed).plain  # not the count


def test_lines_of_messages_questions_and_file_reservations(service: Service) -> None:
    """What ``watch`` (and ``task history``) prints of each coordination event, made by the
    service as the server makes it."""
    from maestro_mcp.cli.show import event_line
    from maestro_mcp.core.models import (
        HUMANS,
        MessageSend,
        MessagesRead,
        QuestionAnswer,
        QuestionAsk,
        ReservationRelease,
        ReservationRequest,
    )
    from tests.support.core import log_after, new_session, new_task

    project = service.create_project(ProjectCreate(name="p")).value.id
    task = new_task(service, project)
    session = new_session(service, project, task.id).id
    head = service.head()
    sent = service.send_message(
        MessageSend(from_session_id=session, to=[HUMANS], body="line one\nline two")
    ).value
    service.send_message(MessageSend(reply_to=sent.id, subject="Re", body="ok"))
    service.mark_read(MessagesRead(recipient=HUMANS, message_ids=[sent.id], ack=True))
    asked = service.ask(session, QuestionAsk(text="Go?\nSure?", choices=["yes", "no"])).value
    service.answer(asked.id, QuestionAnswer(answer="yes"))
    service.ask(session, QuestionAsk(text="Why?", task_id=task.id))
    service.reserve(session, ReservationRequest(paths=["src/api/**"], shared=True))
    service.release_reservations(session, ReservationRelease())
    service.update_session(session, SessionPatch(status=SessionStatus.STOPPED))

    lines: dict[str, list[str]] = {}
    for message in log_after(service, head):
        lines.setdefault(message["event"], []).append(event_line(message).plain)
    assert f"{session} → humans: line one…  · maestro" in lines["message:sent"][0]
    assert f"maestro → {session}: Re" in lines["message:sent"][1]  # a person's: its actor
    assert f"{sent.id} acknowledged by humans" in lines["message:read"][0]
    assert f"{session} “Go?…”" in lines["question:asked"][0]
    assert f"{session} on {task.id} “Why?”" in lines["question:asked"][1]
    assert f"{session} “Go?…” → “yes” by maestro" in lines["question:answered"][0]
    assert f"{session} on {task.id} “Why?” cancelled" in lines["question:cancelled"][0]
    assert f"{session} src/api/** (shared) until " in lines["reservation:created"][0]
    assert f"{session} src/api/** (released)" in lines["reservation:released"][0]


def test_a_message_line_shows_others_text_safe_for_the_terminal() -> None:
    """``watch`` prints a message's sender, addresses and subject: none reaches the
    terminal with a control character or a bidi mark."""
    from maestro_mcp.cli.show import event_line

    sent = {
        "seq": 3,
        "event": "message:sent",
        "data": {
            "fromSessionId": None,
            "sender": "lead\x1b]0;owned\x07/cli",
            "to": ["agent:x\x1b[2J\u202e"],
            "subject": "API\x1b[31m red\u202e",
            "body": "",
        },
    }
    line = event_line(sent).plain
    assert "\x1b" not in line
    assert "\u202e" not in line
    assert "\x07" not in line
    assert "lead\ufffd]0;owned\ufffd/cli → agent:x\ufffd[2J\ufffd: API\ufffd[31m red\ufffd" in line
