"""Messages on the board: the people read and write threads with the agents, in the
Messages view, live in every open page; what is addressed to them is unread until one
of them opens the thread."""

from typing import Any

from playwright.sync_api import Route, expect

from maestro_mcp.core.models import MESSAGES_LIMIT_MAX
from maestro_mcp.protocol import AUTHORIZATION_HEADER
from tests.support.board import LIVE, Pages, activity_line, start_session, thread_row
from tests.support.feeds import WsClient
from tests.support.servers import LiveServer
from tests.support.tokens import named_token_headers
from tests.support.waiting import WAIT


def send(server: LiveServer, **message: Any) -> dict[str, Any]:
    response = server.http.post("/api/messages", json=message)
    assert response.status_code == 201, response.text
    sent: dict[str, Any] = response.json()
    return sent


def unread_for_humans(server: LiveServer, project: dict[str, Any]) -> list[str]:
    params = {"projectId": project["id"], "recipient": "humans", "unread": "true"}
    return [m["id"] for m in server.http.get("/api/messages", params=params).json()]


def test_a_message_written_in_one_page_reaches_the_other_and_reading_it_clears_both(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    agent = start_session(server, project, "webhooks", "codex")["id"]
    writing = pages.open(path=f"/?project={project['id']}&view=messages")
    reading = pages.open()  # on the task list
    feed = WsClient(server.ws_url)
    feed.until_ready()

    writing.get_by_role("button", name="New message").click()
    form = writing.locator("#new-message")
    form.get_by_role("checkbox", name="humans").check()
    form.get_by_role("checkbox", name="codex · webhooks").check()
    form.get_by_label("Subject").fill("API changed")
    form.get_by_label("Message (Markdown)").fill("`/v2` is **live**: switch the client over.")
    form.get_by_role("button", name="Send").click()

    # Over the feed, as any client sees it: sent by the person, to what they picked.
    while (message := feed.recv())["event"] != "message:sent":
        pass
    feed.close()
    assert message["actor"] == "local/board"
    sent = message["data"]
    assert (sent["to"], sent["subject"], sent["fromSessionId"]) == (
        ["humans", agent],
        "API changed",
        None,
    )
    # The writer sees the thread it started; the message is news for the other people.
    thread = writing.locator("#thread")
    expect(thread.locator("#thread-title")).to_have_text("API changed")
    expect(thread.locator(".message .message-body strong")).to_have_text("live")
    expect(thread.locator(".message .to")).to_have_text("humans, codex · webhooks")
    assert f"thread={sent['threadId']}" in writing.url
    expect(reading.locator("#unread")).to_have_text("1 unread", timeout=LIVE)
    expect(writing.locator("#unread")).to_have_text("1 unread")
    assert unread_for_humans(server, project) == [sent["id"]]

    reading.locator("#view-switch").get_by_role("button", name="Messages").click()
    row = thread_row(reading, "API changed")
    expect(row).to_contain_text("1 unread")
    expect(row).to_contain_text("you, humans, codex · webhooks")
    row.get_by_role("link").click()
    # Read for the people in every page.
    expect(reading.locator("#unread")).to_be_hidden(timeout=LIVE)
    expect(writing.locator("#unread")).to_be_hidden(timeout=LIVE)
    assert unread_for_humans(server, project) == []
    expect(reading.locator("#thread .message .receipts")).to_have_text("read by humans")

    # A reply goes to the others the thread involves (the agent), and shows in both.
    reply = reading.locator("#reply")
    expect(reply.locator(".reply-to")).to_have_text("To: codex · webhooks")
    reply.get_by_label("Reply (Markdown)").fill("done on my side")
    reply.get_by_role("button", name="Reply").click()
    expect(writing.locator("#thread .message", has_text="done on my side")).to_be_visible(
        timeout=LIVE
    )
    expect(reading.locator("#thread .message")).to_have_count(2)
    # The agent answers the people in the thread they have open: read as it arrives.
    answer = send(server, fromSessionId=agent, replyTo=sent["id"], to=["humans"], body="roger")
    arrived = reading.locator("#thread .message", has_text="roger")
    expect(arrived.locator(".receipts")).to_have_text("read by humans", timeout=LIVE)
    assert answer["id"] not in unread_for_humans(server, project)
    expect(reading.locator("#unread")).to_be_hidden()
    expect(activity_line(writing, "API changed")).to_contain_text(
        "you → humans, webhooks: API changed"
    )
    expect(activity_line(writing, "done on my side")).to_contain_text(
        "you → webhooks: done on my side"
    )


def test_threads_list_newest_activity_first_with_what_the_people_have_not_read(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    oauth = start_session(server, project, "oauth", "claude-code")["id"]
    docs = start_session(server, project, "docs", "gemini")["id"]
    first = send(
        server, fromSessionId=oauth, to=["humans"], subject="Tokens rotate", body="heads-up"
    )
    send(server, fromSessionId=docs, to=[oauth], body="Which **endpoint** changed?")
    page = pages.open(path=f"/?project={project['id']}&view=messages")
    rows = page.locator("#thread-list .thread-item")
    expect(rows).to_have_count(2)
    # A thread with no subject goes by its first words; one between agents is no one's unread.
    expect(rows.nth(0)).to_contain_text("Which endpoint changed?")
    expect(rows.nth(0)).not_to_contain_text("unread")
    expect(rows.nth(1)).to_contain_text("Tokens rotate")
    expect(rows.nth(1)).to_contain_text("1 unread")
    expect(page.locator("#unread")).to_have_text("1 unread")

    # A reply moves its thread to the top, live.
    send(server, fromSessionId=oauth, replyTo=first["id"], to=["humans"], body="and expire")
    expect(rows.nth(0)).to_contain_text("Tokens rotate", timeout=LIVE)
    expect(rows.nth(0)).to_contain_text("2 unread")
    expect(rows.nth(0)).to_contain_text("2 messages")
    expect(page.locator("#unread")).to_have_text("2 unread")

    # A link opens the thread (the URL holds it); back goes to the list.
    other = pages.open(path=f"/?project={project['id']}&view=messages&thread={first['id']}")
    expect(other.locator("#thread .message")).to_have_count(2)
    expect(other.locator("#thread .message").nth(0)).to_contain_text("heads-up")
    expect(other.locator("#thread .message .from").nth(0)).to_have_text("claude-code · oauth")
    expect(page.locator("#unread")).to_be_hidden(timeout=LIVE)
    other.get_by_role("link", name="← All threads").click()
    expect(other.locator("#thread-list .thread-item")).to_have_count(2)
    other.go_back()
    expect(other.locator("#thread .message")).to_have_count(2)
    # "n" writes a new message here (a new task in the other views).
    other.keyboard.press("n")
    expect(other.locator("#new-message")).to_be_visible()
    expect(other.get_by_role("checkbox", name="humans")).to_be_focused()


def test_a_board_with_a_read_token_reads_threads_without_marking_them(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    """A dashboard's token may only read: its person opens threads, and the people's
    unread stays for those who may mark it (no refused write, no error shown)."""
    agent = start_session(server, project, "webhooks", "codex")["id"]
    send(server, fromSessionId=agent, to=["humans"], subject="Flaky test", body="see CI")
    tokens = named_token_headers(server.http, {"dashboard": "read"})
    secret = tokens["dashboard"][AUTHORIZATION_HEADER].removeprefix("Bearer ")
    page = pages.open(
        path=f"/?project={project['id']}&view=messages",
        init_script=f"sessionStorage.setItem('maestro.token', {secret!r})",
    )
    writes: list[str] = []
    page.on(
        "request", lambda request: writes.append(request.url) if request.method == "POST" else None
    )
    thread_row(page, "Flaky test").get_by_role("link").click()
    expect(page.locator("#thread .message")).to_have_count(1)
    expect(page.locator("#thread .message .receipts")).to_have_text("unread by humans")
    expect(page.locator("#unread")).to_have_text("1 unread")
    # Nothing that writes is offered: the board says why once, and each question says so.
    expect(page.locator("#read-only")).to_contain_text("This board's token may only read")
    expect(page.get_by_role("button", name="New message")).to_be_hidden()
    expect(page.locator("#reply")).to_be_hidden()
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    page.keyboard.press("n")  # a new message, elsewhere
    expect(page.locator("#new-message")).to_be_hidden()
    asked = server.http.post(
        f"/api/sessions/{agent}/questions",
        json={"text": "Merge it?", "choices": ["yes"]},
        headers=tokens["lead"],
    )
    assert asked.status_code == 201, asked.text
    reserved = server.http.post(
        f"/api/sessions/{agent}/reservations", json={"paths": ["ci/**"]}, headers=tokens["lead"]
    )
    assert reserved.status_code == 201, reserved.text
    question = page.locator("#question-list .question", has_text="Merge it?")
    expect(question).to_contain_text("This board's token may only read", timeout=LIVE)
    expect(question.get_by_role("button")).to_have_count(0)
    file = page.locator("#file-list .file", has_text="ci/**")
    expect(file).to_be_visible(timeout=LIVE)
    expect(file.get_by_role("button")).to_have_count(0)
    assert writes == []


def test_threads_older_than_a_listing_are_said_to_be_there(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    """The view lists the threads of the project's newest messages (as many as one listing
    returns): past that many, its count says there may be more."""
    agent = start_session(server, project, "webhooks", "codex")["id"]
    send(server, fromSessionId=agent, to=["humans"], subject="Old news", body="long ago")
    busy = send(server, fromSessionId=agent, to=["humans"], subject="Busy", body="0")
    with server.client() as http:
        for n in range(1, MESSAGES_LIMIT_MAX):
            body = {"fromSessionId": agent, "replyTo": busy["id"], "to": ["humans"], "body": f"{n}"}
            assert http.post("/api/messages", json=body).status_code == 201
    page = pages.open(path=f"/?project={project['id']}&view=messages")
    rows = page.locator("#thread-list .thread-item")
    expect(rows).to_have_count(1, timeout=WAIT * 1000)
    expect(rows.first).to_contain_text("Busy")
    expect(page.locator("#message-count")).to_have_text("1+ threads")
    send(server, fromSessionId=agent, to=["humans"], subject="Fresh", body="now")
    expect(rows).to_have_count(2, timeout=LIVE)
    expect(page.locator("#message-count")).to_have_text("2+ threads")


def test_a_persons_own_reply_stays_news_for_the_other_people(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    """The feed may bring a reply to the page that sent it before the answer to its POST
    does: the page must not take it for someone else's message and mark it read."""
    agent = start_session(server, project, "webhooks", "codex")["id"]
    first = send(server, fromSessionId=agent, to=["project"], subject="Deploy", body="go?")
    writing = pages.open(path=f"/?project={project['id']}&view=messages&thread={first['id']}")
    other = pages.open()  # on the task list
    expect(writing.locator("#thread .message .receipts")).to_have_text("read by humans")
    expect(other.locator("#unread")).to_be_hidden(timeout=LIVE)

    # The answer to the reply's POST is held until the page has the reply from the feed.
    # The handler waits for it itself: the handler runs in its own greenlet, which the
    # test's next line would otherwise race.
    mine = writing.locator("#thread .message", has_text="yes, after lunch")
    shown_before_the_answer: list[bool] = []

    def answer_after_the_feed(route: Route) -> None:
        response = route.fetch()
        try:
            expect(mine).to_be_visible(timeout=LIVE)  # from the feed
            shown_before_the_answer.append(True)
        finally:
            route.fulfill(response=response)

    writing.route("**/api/messages", answer_after_the_feed)
    reply = writing.locator("#reply")
    reply.get_by_label("Reply (Markdown)").fill("yes, after lunch")
    reply.get_by_role("button", name="Reply").click()
    # Sent: the box empties on the answer, which left after the handler's verdict.
    expect(reply.get_by_label("Reply (Markdown)")).to_have_value("", timeout=2 * LIVE)
    assert shown_before_the_answer == [True]

    # The agent's next message is read as it arrives (the thread is open): the reply is not.
    later = send(server, fromSessionId=agent, replyTo=first["id"], to=["humans"], body="noted")
    arrived = writing.locator("#thread .message", has_text="noted")
    expect(arrived.locator(".receipts")).to_have_text("read by humans", timeout=LIVE)
    expect(mine.locator(".receipts")).to_contain_text("unread by humans")
    expect(other.locator("#unread")).to_have_text("1 unread", timeout=LIVE)
    [unread] = unread_for_humans(server, project)
    assert unread != later["id"]
    assert writing.locator("#thread .message").nth(1).get_attribute("data-id") == unread


def test_a_person_acknowledges_a_message_for_the_people_in_every_page(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    agent = start_session(server, project, "webhooks", "codex")["id"]
    sent = send(server, fromSessionId=agent, to=["humans"], subject="Rotate keys", body="today")
    path = f"/?project={project['id']}&view=messages&thread={sent['id']}"
    acting, watching = pages.open(path=path), pages.open(path=path)
    for page in (acting, watching):
        expect(page.locator("#thread .message .receipts")).to_have_text("read by humans")
    acting.get_by_role("button", name="Acknowledge").click()
    for page in (acting, watching):
        # The people share one inbox: the one who acknowledged it is named.
        expect(page.locator("#thread .message .receipts")).to_have_text(
            "acknowledged by local/board", timeout=LIVE
        )
        expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    params = {"projectId": project["id"], "recipient": "humans", "unacked": "true"}
    assert server.http.get("/api/messages", params=params).json() == []


def test_another_project_opens_on_its_threads_not_the_thread_open_before(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    agent = start_session(server, project, "webhooks", "codex")["id"]
    sent = send(server, fromSessionId=agent, to=["humans"], subject="Rotate keys", body="today")
    other = server.http.post("/api/projects", json={"name": "Other app"}).json()
    page = pages.open(path=f"/?project={project['id']}&view=messages&thread={sent['id']}")
    expect(page.locator("#thread-title")).to_have_text("Rotate keys")
    page.locator("#project-select").select_option(other["id"])
    # Its own (empty) list of threads, not "Thread not found".
    expect(page.locator("#thread-empty")).to_be_visible(timeout=LIVE)
    expect(page.locator("#thread")).to_be_hidden()
    assert "thread=" not in page.url
