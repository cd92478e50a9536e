"""File reservations on the service layer: conflicts refused with who and until when,
leases renewed by the heartbeat, released with the session or the claim, claims that
reserve atomically, and what the pre-commit guard asks."""

import pytest

from maestro_mcp.core.clock import iso
from maestro_mcp.core.errors import InvalidInput, NotFound, ReservationConflict, TooLarge
from maestro_mcp.core.globs import matches
from maestro_mcp.core.models import (
    ClaimNextRequest,
    ClaimRequest,
    PathCheck,
    PathCheckResult,
    ReleaseRequest,
    ReservationFilter,
    ReservationRelease,
    ReservationRequest,
    SessionPatch,
    SessionReport,
    SessionStatus,
    TaskPatch,
    TaskStatus,
)
from maestro_mcp.core.service import Service, reservations
from maestro_mcp.core.vocabulary import PATTERNS_PER_CALL_MAX, RESERVATIONS_PER_SESSION_MAX
from tests.support.core import Clock, log_after, new_session, new_task

# Every test here runs on a clock it moves itself (leases and deadlines are about time).
pytestmark = pytest.mark.usefixtures("clock")


def live(service: Service, project_id: str) -> list[tuple[str, str, bool]]:
    found = service.list_reservations(ReservationFilter(project_id=project_id)).value
    return [(r.session_id, r.pattern, r.exclusive) for r in found]


def test_an_overlapping_exclusive_reservation_is_refused_with_who_and_until_when(
    service: Service, project_id: str
) -> None:
    a = new_session(service, project_id, name="api work")
    b = new_session(service, project_id, name="web work")
    head = service.head()
    [held] = service.reserve(a.id, ReservationRequest(paths=["./src/api/"])).value
    assert held.pattern == "src/api/**"  # normalized: a trailing "/" is the directory
    [event] = log_after(service, head)
    assert event["event"] == "reservation:created"
    assert event["data"]["pattern"] == "src/api/**"
    head = service.head()
    with pytest.raises(ReservationConflict) as refused:
        service.reserve(b.id, ReservationRequest(paths=["docs/**", "src/**/*.py"]))
    message = refused.value.message
    assert f"held exclusively by session {a.id} ('api work') until" in message
    assert "src/**/*.py overlaps src/api/**" in message
    [conflict] = refused.value.details["conflicts"]
    assert conflict["heldBy"]["id"] == held.id
    # All or nothing: docs/** was not reserved either.
    assert service.head() == head
    assert live(service, project_id) == [(a.id, "src/api/**", True)]
    # Files that do not overlap are b's to reserve.
    service.reserve(b.id, ReservationRequest(paths=["src/web/**"]))


def test_a_pattern_reserves_what_it_matches_and_a_directory_ends_with_a_slash(
    service: Service, project_id: str
) -> None:
    docs = new_session(service, project_id, name="docs sweep")
    main = new_session(service, project_id, name="main")
    service.reserve(docs.id, ReservationRequest(paths=["**/*.md"]))
    # Not a conflict: src/main.py is a file, not a directory that could hold x.md.
    service.reserve(main.id, ReservationRequest(paths=["src/main.py", "src/api"]))
    # src/api (no "/") is that one name: the files under a directory of that name are
    # free; written src/api/, the directory is everything under it.
    service.reserve(docs.id, ReservationRequest(paths=["src/api/x.py"]))
    with pytest.raises(ReservationConflict, match=r"src/api/\*\* overlaps src/api/x.py"):
        service.reserve(main.id, ReservationRequest(paths=["src/api/"]))
    with pytest.raises(ReservationConflict, match=r"docs/a.md overlaps \*\*/\*.md"):
        service.reserve(main.id, ReservationRequest(paths=["docs/a.md"]))
    # A directory and a file in it conflict, whichever comes first.
    service.release_reservations(docs.id, ReservationRelease())
    service.reserve(docs.id, ReservationRequest(paths=["docs/"]))
    with pytest.raises(ReservationConflict, match=r"docs/a.md overlaps docs/\*\*"):
        service.reserve(main.id, ReservationRequest(paths=["docs/a.md"]))
    service.release_reservations(docs.id, ReservationRelease())
    service.reserve(main.id, ReservationRequest(paths=["docs/a.md"]))
    with pytest.raises(ReservationConflict, match=r"docs/\*\* overlaps docs/a.md"):
        service.reserve(docs.id, ReservationRequest(paths=["docs/"]))
    assert sorted(live(service, project_id)) == sorted(
        [(main.id, "src/main.py", True), (main.id, "src/api", True), (main.id, "docs/a.md", True)]
    )
    # The guard asks the same question of files.
    paths = ["src/main.py", "src/api", "src/api/x.py", "README.md"]
    held = service.check_paths(project_id, PathCheck(paths=paths, session_id=docs.id)).value
    assert [c.path for c in held.conflicts] == ["src/main.py", "src/api"]


def test_shared_reservations_share_and_exclude_exclusive_ones(
    service: Service, project_id: str
) -> None:
    a = new_session(service, project_id)
    b = new_session(service, project_id)
    c = new_session(service, project_id)
    service.reserve(a.id, ReservationRequest(paths=["schema.sql"], shared=True))
    service.reserve(b.id, ReservationRequest(paths=["*.sql"], shared=True))
    with pytest.raises(ReservationConflict, match="held shared by"):
        service.reserve(c.id, ReservationRequest(paths=["schema.sql"]))
    # The same session may hold overlapping patterns; reserving one again renews it
    # and may change it.
    service.reserve(a.id, ReservationRequest(paths=["**"], shared=True))
    head = service.head()
    service.reserve(a.id, ReservationRequest(paths=["schema.sql"], shared=True, lease_seconds=900))
    [updated] = log_after(service, head)
    assert updated["event"] == "reservation:updated"
    assert updated["changed"] == ["expiresAt", "leaseSeconds"]


def test_a_lease_runs_out_without_a_heartbeat_and_is_renewed_by_one(
    service: Service, project_id: str, clock: Clock
) -> None:
    a = new_session(service, project_id)
    b = new_session(service, project_id)
    [held] = service.reserve(a.id, ReservationRequest(paths=["x.py"], lease_seconds=60)).value
    clock.now += 50_000
    head = service.head()
    service.report(a.id, SessionReport(note="still here"))  # a heartbeat
    [renewed] = [e for e in log_after(service, head) if e["event"] == "reservation:renewed"]
    assert renewed["data"]["reservations"] == [{"id": held.id, "expiresAt": clock.now + 60_000}]
    clock.now += 59_999
    with pytest.raises(ReservationConflict):
        service.reserve(b.id, ReservationRequest(paths=["x.py"]))
    clock.now += 1
    # Run out: no longer live, whether or not the reaper released it yet.
    assert live(service, project_id) == []
    assert service.overdue().value.reservations == [held.id]
    head = service.head()
    assert service.expire_reservations().value == [held.id]
    [released] = log_after(service, head)
    assert (released["event"], released["data"]["reason"]) == ("reservation:released", "expired")
    service.reserve(b.id, ReservationRequest(paths=["x.py"]))


def test_an_expired_reservation_is_no_conflict_even_before_the_reaper(
    service: Service, project_id: str, clock: Clock
) -> None:
    a = new_session(service, project_id)
    b = new_session(service, project_id)
    service.reserve(a.id, ReservationRequest(paths=["x.py"], lease_seconds=1))
    clock.now += 1000
    head = service.head()
    service.reserve(b.id, ReservationRequest(paths=["x.py"]))
    # Left to the reaper, whose act its release is (a request releases no one else's).
    assert [e["event"] for e in log_after(service, head)] == ["reservation:created"]
    service.expire_reservations()
    assert [r[0] for r in live(service, project_id)] == [b.id]


def test_a_session_that_ends_releases_its_files(service: Service, project_id: str) -> None:
    a = new_session(service, project_id)
    service.reserve(a.id, ReservationRequest(paths=["a", "b"]))
    head = service.head()
    service.update_session(a.id, SessionPatch(status=SessionStatus.COMPLETED))
    released = [e for e in log_after(service, head) if e["event"] == "reservation:released"]
    assert [e["data"]["reason"] for e in released] == ["session_ended"] * 2
    assert live(service, project_id) == []
    with pytest.raises(InvalidInput, match="has ended"):
        service.reserve(a.id, ReservationRequest(paths=["c"]))


def test_a_deleted_session_releases_its_files(service: Service, project_id: str) -> None:
    a = new_session(service, project_id)
    service.reserve(a.id, ReservationRequest(paths=["a"]))
    head = service.head()
    service.delete_session(a.id)
    kinds = [(e["event"], e["data"].get("reason")) for e in log_after(service, head)]
    assert kinds[:2] == [("reservation:released", "session_deleted"), ("session:deleted", None)]


def test_a_claim_reserves_its_files_atomically_and_releases_them_when_it_ends(
    service: Service, project_id: str
) -> None:
    first = new_task(service, project_id, "api")
    second = new_task(service, project_id, "web")
    a = new_session(service, project_id)
    b = new_session(service, project_id)
    grant = service.claim_task(first.id, ClaimRequest(session_id=a.id, paths=["src/api/**"])).value
    [held] = service.list_reservations(ReservationFilter(session_id=a.id)).value
    assert (held.pattern, held.task_id) == ("src/api/**", first.id)
    assert held.expires_at == grant.expires_at
    # A claim whose files conflict is refused whole: the task is not claimed either.
    head = service.head()
    with pytest.raises(ReservationConflict):
        service.claim_task(second.id, ClaimRequest(session_id=b.id, paths=["src/**"]))
    assert service.head() == head
    assert service.get_task(second.id).value.claim is None
    # Completing the task ends the claim, and the files go with it.
    service.update_task(
        first.id, TaskPatch(status=TaskStatus.COMPLETED), claim_token=grant.claim_token
    )
    assert live(service, project_id) == []
    service.claim_task(second.id, ClaimRequest(session_id=b.id, paths=["src/**"]))


def test_claim_next_reserves_with_what_it_claims_and_nothing_when_nothing_is_ready(
    service: Service, project_id: str
) -> None:
    a = new_session(service, project_id)
    none = service.claim_next(a.id, ClaimNextRequest(paths=["x"])).value
    assert none.claims == []
    assert live(service, project_id) == []
    task = new_task(service, project_id)
    got = service.claim_next(a.id, ClaimNextRequest(paths=["x"])).value
    [held] = service.list_reservations(ReservationFilter(session_id=a.id)).value
    assert held.task_id == task.id
    service.release_task(task.id, ReleaseRequest(claim_token=got.claims[0].claim_token))
    assert live(service, project_id) == []


def test_released_by_pattern_or_all_and_by_a_person(service: Service, project_id: str) -> None:
    a = new_session(service, project_id)
    service.reserve(a.id, ReservationRequest(paths=["a", "b", "c"]))
    released = service.release_reservations(a.id, ReservationRelease(paths=["./b", "zzz"]))
    assert [r.pattern for r in released.value] == ["b"]
    [first, _] = service.list_reservations(ReservationFilter(session_id=a.id)).value
    head = service.head()
    service.release_reservation(first.id)
    [event] = log_after(service, head)
    assert event["data"]["reason"] == "override"
    service.release_reservations(a.id, ReservationRelease())
    assert live(service, project_id) == []


def test_a_person_releasing_a_run_out_reservation_is_told_it_expired(
    service: Service, project_id: str, clock: Clock
) -> None:
    """Its lease ran out but the reaper has not released it yet: it is gone for every
    read, so a person's release is NotFound saying when it expired, and writes nothing
    (no ``override``); the reaper then releases it as ``expired``."""
    a = new_session(service, project_id)
    [held] = service.reserve(a.id, ReservationRequest(paths=["src/"], lease_seconds=60)).value
    clock.now = held.expires_at
    head = service.head()
    with pytest.raises(NotFound, match="expired at") as refused:
        service.release_reservation(held.id)
    assert refused.value.details == {"id": held.id, "expiredAt": iso(held.expires_at)}
    assert log_after(service, head) == []
    assert service.expire_reservations().value == [held.id]
    [event] = log_after(service, head)
    assert (event["event"], event["data"]["reason"]) == ("reservation:released", "expired")
    with pytest.raises(NotFound, match="not found"):
        service.release_reservation(held.id)


def test_a_bad_pattern_is_refused_with_what_to_write(service: Service, project_id: str) -> None:
    a = new_session(service, project_id)
    with pytest.raises(InvalidInput, match=r"'\.\./etc'"):
        service.reserve(a.id, ReservationRequest(paths=["../etc"]))
    with pytest.raises(InvalidInput, match="'/abs'"):
        service.reserve(a.id, ReservationRequest(paths=["/abs"]))


def test_a_session_holds_a_bounded_number(service: Service, project_id: str) -> None:
    a = new_session(service, project_id)
    for start in range(0, RESERVATIONS_PER_SESSION_MAX, 50):
        paths = [f"f{i}" for i in range(start, start + 50)]
        service.reserve(a.id, ReservationRequest(paths=paths))
    with pytest.raises(InvalidInput, match="at most"):
        service.reserve(a.id, ReservationRequest(paths=["one-more"]))
    service.reserve(a.id, ReservationRequest(paths=["f0"]))  # held already: a renewal


def test_the_guard_asks_which_files_others_hold(service: Service, project_id: str) -> None:
    a = new_session(service, project_id, name="api")
    b = new_session(service, project_id, name="docs")
    service.reserve(a.id, ReservationRequest(paths=["src/api/**"]))
    service.reserve(b.id, ReservationRequest(paths=["docs/*.md"], shared=True))
    paths = ["src/api/routes.py", "docs/x.md", "README.md", "./src/api/x.py"]
    mine = service.check_paths(project_id, PathCheck(paths=paths, session_id=a.id)).value
    assert [c.path for c in mine.conflicts] == []
    assert [c.path for c in mine.shared] == ["docs/x.md"]
    anyone = service.check_paths(project_id, PathCheck(paths=paths)).value
    assert [c.path for c in anyone.conflicts] == ["src/api/routes.py", "src/api/x.py"]
    assert anyone.conflicts[0].held_by[0].session_id == a.id


def test_reserving_with_a_task_needs_a_claim_of_yours_and_ends_with_it(
    service: Service, project_id: str
) -> None:
    a = new_session(service, project_id)
    b = new_session(service, project_id)
    with pytest.raises(NotFound):
        service.reserve(a.id, ReservationRequest(paths=["x"], task_id="task_nope"))
    task = new_task(service, project_id)
    with pytest.raises(InvalidInput, match="holds no claim on task"):
        service.reserve(a.id, ReservationRequest(paths=["x"], task_id=task.id))
    grant = service.claim_task(task.id, ClaimRequest(session_id=a.id)).value
    with pytest.raises(InvalidInput, match="holds no claim on task"):  # a's claim, not b's
        service.reserve(b.id, ReservationRequest(paths=["y"], task_id=task.id))
    [held] = service.reserve(a.id, ReservationRequest(paths=["x"], task_id=task.id)).value
    assert held.task_id == task.id
    service.reserve(b.id, ReservationRequest(paths=["y"]))  # b's own, with no task
    head = service.head()
    service.release_task(task.id, ReleaseRequest(claim_token=grant.claim_token))
    released = [e for e in log_after(service, head) if e["event"] == "reservation:released"]
    assert [(e["data"]["pattern"], e["data"]["reason"]) for e in released] == [("x", "claim_ended")]
    assert live(service, project_id) == [(b.id, "y", True)]  # only the holder's went


def test_a_deleted_task_releases_the_files_reserved_with_its_claim(
    service: Service, project_id: str
) -> None:
    a = new_session(service, project_id)
    task = new_task(service, project_id)
    service.claim_task(task.id, ClaimRequest(session_id=a.id, paths=["x"]))
    head = service.head()
    service.delete_task(task.id)
    released = [e for e in log_after(service, head) if e["event"] == "reservation:released"]
    assert [e["data"]["reason"] for e in released] == ["task_deleted"]


def test_a_heartbeat_renews_every_file_in_one_event(
    service: Service, project_id: str, clock: Clock
) -> None:
    a = new_session(service, project_id)
    paths = [f"f{i}" for i in range(50)]
    service.reserve(a.id, ReservationRequest(paths=paths, lease_seconds=60))
    clock.now += 10_000
    head = service.head()
    service.heartbeat(a.id)
    events = log_after(service, head)
    assert [e["event"] for e in events] == ["session:updated", "reservation:renewed"]
    renewed = events[1]["data"]
    assert renewed["sessionId"] == a.id
    assert {r["expiresAt"] for r in renewed["reservations"]} == {clock.now + 60_000}
    assert len(renewed["reservations"]) == 50


@pytest.mark.parametrize("path", ["/etc/passwd", "../x", "a/../../b", "."])
def test_the_guard_asking_about_a_path_outside_the_repository_is_refused(
    service: Service, project_id: str, path: str
) -> None:
    """Refused as invalid input (422 over REST), whether or not anything is reserved: a
    path that names no file of the repository is never a server error."""
    with pytest.raises(InvalidInput, match="repository"):
        service.check_paths(project_id, PathCheck(paths=["ok.py", path]))
    a = new_session(service, project_id)
    service.reserve(a.id, ReservationRequest(paths=["**"]))
    with pytest.raises(InvalidInput) as refused:
        service.check_paths(project_id, PathCheck(paths=[path]))
    assert refused.value.details == {"field": "paths", "path": path}


def test_a_file_name_posix_allows_is_checked_like_any_other(
    service: Service, project_id: str
) -> None:
    """A backslash or a drive-like ``C:`` is part of a POSIX file name (git lists such
    files): covered by the patterns that match it, never a refusal of the whole check."""
    odd = ["\\notes.txt", "a:/b", "C:/x", "C:\\x", "src/a\\b.py"]
    assert service.check_paths(project_id, PathCheck(paths=["ok.py", *odd])).value == (
        PathCheckResult(conflicts=[], shared=[])
    )
    a = new_session(service, project_id)
    service.reserve(a.id, ReservationRequest(paths=["*.txt", "src/**"]))
    service.reserve(a.id, ReservationRequest(paths=["[C]:/"], shared=True))
    checked = service.check_paths(project_id, PathCheck(paths=["ok.py", *odd])).value
    assert [(c.path, [r.pattern for r in c.held_by]) for c in checked.conflicts] == [
        ("\\notes.txt", ["*.txt"]),
        ("src/a\\b.py", ["src/**"]),
    ]
    assert [(c.path, [r.pattern for r in c.held_by]) for c in checked.shared] == [
        ("C:/x", ["[C]:/**"])
    ]


def test_the_guard_matches_a_path_only_against_the_patterns_that_may_cover_it(
    service: Service, project_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The live reservations are indexed by their literal leading names and by the
    extension their last name must have: asking about a file costs a few matches, not one
    per reservation; each covering reservation is still found, in the order made."""
    sessions = [new_session(service, project_id, name=f"s{n}") for n in range(4)]
    for n, session in enumerate(sessions):
        paths = [f"pkg{n}x{i}/*.rs" for i in range(PATTERNS_PER_CALL_MAX)]
        service.reserve(session.id, ReservationRequest(paths=paths, shared=True))
    service.reserve(sessions[0].id, ReservationRequest(paths=["docs/*.md", "src/*.py"]))
    service.reserve(sessions[1].id, ReservationRequest(paths=["tests/*.py"], shared=True))
    service.reserve(sessions[0].id, ReservationRequest(paths=["**/*.md"]))
    made: list[tuple[str, str]] = []

    def counted(pattern: str, path: str) -> bool:
        made.append((pattern, path))
        return matches(pattern, path)

    monkeypatch.setattr(reservations, "matches", counted)
    paths = ["src/a.py", "docs/x.md", "pkg1x7/file.rs", "tests/a.py", "README"]
    checked = service.check_paths(project_id, PathCheck(paths=paths)).value
    assert sorted(made) == [
        ("**/*.md", "docs/x.md"),
        ("docs/*.md", "docs/x.md"),
        ("pkg1x7/*.rs", "pkg1x7/file.rs"),
        ("src/*.py", "src/a.py"),
        ("tests/*.py", "tests/a.py"),
    ]
    held = {c.path: [(r.session_id, r.pattern) for r in c.held_by] for c in checked.conflicts}
    assert held == {
        "src/a.py": [(sessions[0].id, "src/*.py")],
        "docs/x.md": [(sessions[0].id, "docs/*.md"), (sessions[0].id, "**/*.md")],
    }
    shared = {c.path: [(r.session_id, r.pattern) for r in c.held_by] for c in checked.shared}
    assert shared == {
        "pkg1x7/file.rs": [(sessions[1].id, "pkg1x7/*.rs")],
        "tests/a.py": [(sessions[1].id, "tests/*.py")],
    }


def test_a_check_that_would_take_too_many_matches_is_refused_as_a_whole(
    service: Service, project_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Paths times the reservations that may cover them is bounded
    (``PATH_CHECK_MATCHES_MAX``): more is 413 ``payload_too_large``, before any match."""
    monkeypatch.setattr(reservations, "PATH_CHECK_MATCHES_MAX", 4)
    a = new_session(service, project_id)
    service.reserve(a.id, ReservationRequest(paths=["**/*.py", "src/**", "docs/**"]))
    asked = ["src/a.py", "src/b.py"]  # two patterns may cover each: 4 matches
    assert len(service.check_paths(project_id, PathCheck(paths=asked)).value.conflicts) == 2
    with pytest.raises(TooLarge, match="ask about fewer paths") as refused:
        service.check_paths(project_id, PathCheck(paths=[*asked, "src/c.py"]))
    assert refused.value.details == {"paths": 3, "matches": 6, "limit": 4}
    # Reservations that cannot cover a path cost nothing: docs/** is never tried on src/.
    assert service.check_paths(project_id, PathCheck(paths=["src/d", "x.py"])).value
