"""changes_since for a model, over every transport: summaries, no heartbeat noise, a
small page under a byte budget, and nothing skipped from one page to the next."""

import json

import pytest
from mcp import Client

from tests.support.mcp import Answer, call, new_task, read_json, unique

pytestmark = pytest.mark.anyio


async def test_changes_are_summed_up_and_heartbeats_left_out(mcp_client: Client) -> None:
    project = (await call(mcp_client, "create_project", name=unique("Log")))["project"]["id"]
    start = (await call(mcp_client, "changes_since", since=0, limit=1))["head"]
    task = await new_task(
        mcp_client, project, title="login", description="d" * 5000, prompt="p" * 5000
    )
    session = (await call(mcp_client, "start_session", name="agent", project=project))["session"]
    for _ in range(3):  # heartbeats: the session's summary does not change
        await call(mcp_client, "update_session", sessionId=session["id"])
    await call(mcp_client, "update_session", sessionId=session["id"], note="n" * 500)
    changes = await call(mcp_client, "changes_since", since=start, project=project)
    events = [(c["event"], c.get("id") or c.get("sessionId")) for c in changes["events"]]
    assert events == [
        ("task:created", task["id"]),
        ("session:created", session["id"]),
        ("session:note_added", session["id"]),
    ]
    created = changes["events"][0]
    assert created["title"] == "login"
    assert "description" not in created  # summaries, not whole entities
    assert created["at"].endswith("Z")
    note = changes["events"][2]
    assert len(note["note"]) == 201  # cut at 200 characters, and said so
    assert note["cut"] is True
    full = await call(mcp_client, "changes_since", since=start, project=project, full=True)
    assert full["events"][0]["data"]["description"] == "d" * 5000
    assert full["nextSince"] == changes["nextSince"]


async def test_a_page_stays_small_and_pages_miss_nothing(mcp_client: Client) -> None:
    project = (await call(mcp_client, "create_project", name=unique("Big")))["project"]["id"]
    start = (await call(mcp_client, "changes_since", since=0, limit=1))["head"]
    titles = [f"{n:03d} " + "t" * 400 for n in range(60)]
    await call(mcp_client, "create_tasks", tasks=[{"title": t} for t in titles], project=project)
    seen: list[int] = []
    since = start
    while True:
        page = await call(mcp_client, "changes_since", since=since, project=project, limit=500)
        content = await mcp_client.call_tool(
            "changes_since", {"since": since, "project": project, "limit": 500}
        )
        assert len(content.content[0].text.encode()) <= 16 * 1024  # type: ignore[union-attr]
        seen += [c["seq"] for c in page["events"]]
        if page["nextSince"] >= page["head"] or not page["events"]:
            break
        since = page["nextSince"]
    assert seen == list(range(start + 1, start + 61))  # every change once, in order
    assert json.dumps(seen)


async def test_no_real_change_is_hidden_and_each_says_what_changed(mcp_client: Client) -> None:
    project = (await call(mcp_client, "create_project", name=unique("Edits")))["project"]["id"]
    start = (await call(mcp_client, "changes_since", since=0, limit=1))["head"]
    a = await new_task(mcp_client, project, title="a")
    b = await new_task(mcp_client, project, title="b")
    await call(mcp_client, "update_task", taskId=a["id"], description="more detail")
    await call(mcp_client, "update_task", taskId=a["id"], labels=["web"])
    await call(mcp_client, "update_task", taskId=b["id"], dependsOn=[a["id"]])
    await call(mcp_client, "update_task", taskId=b["id"], parentId=a["id"])
    changes = await call(mcp_client, "changes_since", since=start, project=project)
    updates = [(c["id"], c["changed"]) for c in changes["events"] if c["event"] == "task:updated"]
    assert updates == [
        (a["id"], ["description"]),
        (a["id"], ["labels"]),
        (b["id"], ["dependsOn"]),
        (b["id"], ["parentId"]),
    ]


async def test_an_update_at_a_pages_start_says_what_changed(mcp_client: Client) -> None:
    """The envelope says what changed: a page need not hold the entity's state before."""
    project = (await call(mcp_client, "create_project", name=unique("Start")))["project"]["id"]
    task = await new_task(mcp_client, project, title="a")
    session = (await call(mcp_client, "start_session", name="agent", project=project))["session"]
    start = (await call(mcp_client, "changes_since", since=0, limit=1))["head"]
    await call(mcp_client, "update_session", sessionId=session["id"])  # a heartbeat: left out
    await call(mcp_client, "update_task", taskId=task["id"], status="in_review")
    changes = await call(mcp_client, "changes_since", since=start, project=project)
    assert [(c["event"], c.get("changed")) for c in changes["events"]] == [
        ("task:updated", ["status"])
    ]


async def test_messages_questions_and_reservations_are_summed_up(
    mcp_client: Client, a_person_answers: Answer
) -> None:
    project = (await call(mcp_client, "create_project", name=unique("Coord")))["project"]["id"]
    a, b = [
        (await call(mcp_client, "start_session", name=n, agent=n, project=project))["session"]["id"]
        for n in ("codex", "claude")
    ]
    start = (await call(mcp_client, "changes_since", since=0, limit=1))["head"]
    sent = await call(mcp_client, "message", sessionId=a, to=[b], subject="API", body="b" * 300)
    await call(mcp_client, "message", sessionId=b, ack=[sent["sent"]["id"]])
    await call(mcp_client, "update_session", sessionId=a, reserve=["src/api"], ask={"text": "v2?"})
    await call(mcp_client, "update_session", sessionId=a)  # renews the lease: no change shown
    await call(mcp_client, "update_session", sessionId=a, reserve=["src/api"], shared=True)
    question = (await read_json(mcp_client, f"maestro://sessions/{a}"))["questions"][0]["id"]
    await a_person_answers(question, "yes")
    await call(mcp_client, "update_session", sessionId=a, release=["src/api"])
    changes = await call(mcp_client, "changes_since", since=start, project=project)
    shown = [c for c in changes["events"] if not c["event"].startswith("session:")]
    message_id = sent["sent"]["id"]
    assert [{k: v for k, v in c.items() if k not in ("seq", "at", "by", "id")} for c in shown] == [
        {
            "event": "message:sent",
            "from": a,
            "to": [b],
            "subject": "API",
            "body": "b" * 200 + "…",
            "cut": True,
        },
        {"event": "message:read", "recipient": b, "ackedAt": shown[1]["ackedAt"]},
        {"event": "question:asked", "sessionId": a, "text": "v2?", "status": "open"},
        {
            "event": "reservation:created",
            "pattern": "src/api",
            "sessionId": a,
            "until": shown[3]["until"],
            "mode": "exclusive",
        },
        {
            "event": "reservation:updated",
            "pattern": "src/api",
            "sessionId": a,
            "until": shown[4]["until"],
            "mode": "shared",
            "changed": ["exclusive"],
        },
        {
            "event": "question:answered",
            "sessionId": a,
            "text": "v2?",
            "status": "answered",
            "answer": "yes",
        },
        {
            "event": "reservation:released",
            "pattern": "src/api",
            "sessionId": a,
            "reason": "released",
        },
    ]
    assert shown[0]["id"] == shown[1]["id"] == message_id
    assert shown[5]["by"] == "tester"  # the person who answered
