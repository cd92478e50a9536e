"""Who holds which files, on the board: each session lists the patterns it reserved
(exclusive or shared, until when), the Files section lists them by pattern with a
person's "Release", live as they are made, renewed, released and expire."""

from datetime import UTC, datetime
from typing import Any

from playwright.sync_api import Dialog, expect

from tests.support.board import LIVE, Pages, activity_line, session_card, start_session
from tests.support.servers import LiveServer
from tests.support.waiting import WAIT


def reserve(server: LiveServer, session_id: str, *paths: str, **fields: Any) -> list[Any]:
    response = server.http.post(
        f"/api/sessions/{session_id}/reservations", json={"paths": list(paths), **fields}
    )
    assert response.status_code == 201, response.text
    made: list[Any] = response.json()
    return made


def test_a_reservation_shows_on_its_session_and_goes_when_released(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    session = start_session(server, project, "api work")
    reserve(server, session["id"], "docs/api.md", shared=True)  # before the page: a snapshot
    page = pages.open()
    held = session_card(page, "api work").locator(".session-files li")
    expect(held).to_have_count(1)
    expect(held).to_contain_text("docs/api.md shared until")

    reserve(server, session["id"], "src/api/**")
    expect(held).to_have_count(2, timeout=LIVE)
    expect(held.filter(has_text="src/api/**")).to_contain_text("exclusive until")
    files = page.locator("#file-list .file")
    expect(files).to_have_count(2)  # by pattern
    expect(files.nth(0)).to_contain_text("docs/api.md")
    expect(files.nth(1)).to_contain_text("src/api/**")
    expect(files.nth(1)).to_contain_text("codex · api work exclusive")
    expect(files.nth(1).get_by_role("link", name="codex · api work")).to_be_visible()
    expect(page.locator("#file-count")).to_have_text("2")
    expect(activity_line(page, "reserved src/api/**")).to_contain_text(
        "codex reserved src/api/** (exclusive)"
    )

    # A heartbeat renews both: the lease moves, and nothing is said about it.
    server.http.post(f"/api/sessions/{session['id']}/heartbeat", json={})
    server.http.post(f"/api/sessions/{session['id']}/notes", json={"message": "renewed"})
    expect(activity_line(page, "renewed")).to_be_visible(timeout=LIVE)
    expect(activity_line(page, "reserved")).to_have_count(2)

    server.http.post(
        f"/api/sessions/{session['id']}/reservations/release", json={"paths": ["src/api/**"]}
    )
    expect(held).to_have_count(1, timeout=LIVE)
    expect(files).to_have_count(1)
    expect(activity_line(page, "released src/api/**")).to_contain_text("codex released src/api/**")


def test_a_reservation_whose_lease_runs_out_leaves_the_page(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    session = start_session(server, project, "short lease")
    page = pages.open()
    # Long enough for a loaded machine to show it before the reaper releases it.
    reserve(server, session["id"], "src/cache.py", leaseSeconds=3)
    held = session_card(page, "short lease").locator(".session-files li")
    expect(held).to_have_count(1, timeout=LIVE)
    # No heartbeat: the reaper releases it once its lease is up.
    expect(held).to_have_count(0, timeout=WAIT * 1000)
    expect(page.locator("#file-list .file")).to_have_count(0)
    expect(page.locator("#file-empty")).to_be_visible()
    expect(activity_line(page, "released src/cache.py")).to_contain_text("(lease expired)")


def test_files_reserved_with_a_claim_go_when_the_claim_ends(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    session = start_session(server, project, "migrations")
    task = server.http.post(
        "/api/tasks", json={"projectId": project["id"], "title": "Migrate orders"}
    ).json()
    page = pages.open()
    grant = server.http.post(
        f"/api/tasks/{task['id']}/claim",
        json={"sessionId": session["id"], "paths": ["db/migrations/**"]},
    ).json()
    file = page.locator("#file-list .file", has_text="db/migrations/**")
    expect(file).to_be_visible(timeout=LIVE)
    expect(file.get_by_role("link", name="Migrate orders")).to_be_visible()  # taken for it
    expect(activity_line(page, "reserved db/migrations/**")).to_contain_text(
        "reserved db/migrations/** (exclusive) for Migrate orders"
    )

    released = server.http.post(
        f"/api/tasks/{task['id']}/release", json={"claimToken": grant["claimToken"]}
    )
    assert released.status_code == 200, released.text
    expect(file).to_have_count(0, timeout=LIVE)
    expect(activity_line(page, "released db/migrations/**")).to_contain_text(
        "codex released db/migrations/** (claim ended)"
    )


def test_a_person_releases_an_agents_files_after_confirming(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    session = start_session(server, project, "stuck")
    [reservation] = reserve(server, session["id"], "src/payments/**")
    acting = pages.open()
    watching = pages.open()
    release = acting.get_by_role("button", name="Release src/payments/** held by codex")
    asked: list[str] = []

    def answer(dialog: Dialog, accept: bool) -> None:
        asked.append(dialog.message)
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    acting.once("dialog", lambda dialog: answer(dialog, accept=False))
    release.click()
    assert asked == [
        "Release src/payments/**, held by codex, “stuck”? Its agent may still be editing "
        "these files."
    ]
    expect(acting.locator("#file-list .file")).to_have_count(1)  # said no: still held

    acting.once("dialog", lambda dialog: answer(dialog, accept=True))
    release.click()
    for page in (acting, watching):
        expect(page.locator("#file-list .file")).to_have_count(0, timeout=LIVE)
        expect(session_card(page, "stuck").locator(".session-files li")).to_have_count(0)
    expect(activity_line(watching, "released src/payments/**")).to_contain_text(
        "you released src/payments/**, held by stuck"
    )
    live = server.http.get("/api/reservations", params={"projectId": project["id"]}).json()
    assert reservation["id"] not in [r["id"] for r in live]


def test_a_session_holding_many_patterns_lists_a_few_until_opened(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    session = start_session(server, project, "wide")
    reserve(server, session["id"], *(f"pkg{i}/**" for i in range(7)))
    page = pages.open()
    card = session_card(page, "wide")
    held = card.locator(".session-files li")
    expect(held).to_have_count(6)
    expect(held.last).to_have_text("and 2 more")
    card.locator(".expand").click()
    expect(held).to_have_count(7)
    expect(held.last).to_contain_text("pkg6/**")
    expect(page.locator("#file-list .file")).to_have_count(7)  # the Files section: all


def iso(ms: int) -> str:
    """A time as the page's datetime attributes write it (Date.toISOString)."""
    at = datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_a_heartbeat_moves_the_times_on_in_place_and_the_focus_stays(
    pages: Pages, server: LiveServer, project: dict[str, Any]
) -> None:
    session = start_session(server, project, "focused")
    [reservation] = reserve(server, session["id"], "src/ui/**")
    page = pages.open()
    release = page.get_by_role("button", name="Release src/ui/** held by codex")
    release.focus()
    times = [
        page.locator("#file-list .file .until"),
        session_card(page, "focused").locator(".session-files .until"),
    ]
    for time in times:
        expect(time).to_have_attribute("datetime", iso(reservation["expiresAt"]))

    beat = server.http.post(f"/api/sessions/{session['id']}/heartbeat", json={})
    assert beat.status_code == 200, beat.text
    [renewed] = server.http.get("/api/reservations", params={"projectId": project["id"]}).json()
    assert renewed["expiresAt"] > reservation["expiresAt"]
    for time in times:
        expect(time).to_have_attribute("datetime", iso(renewed["expiresAt"]), timeout=LIVE)
    expect(release).to_be_focused()  # the item was not rebuilt under the person's hands
    expect(activity_line(page, "src/ui/**")).to_have_count(1)  # reserved; the renewal: no line
