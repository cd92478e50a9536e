"""File reservations: a session's hold on the files of its project it means to edit.

The rules (docs/protocol.md, "File reservations"):
- A reservation is a pattern (a path or a glob: core/globs.py) a session holds
  exclusively, or ``shared``, until its lease ends. Two reservations of different
  sessions conflict when their patterns cover a common file and either is exclusive.
  A conflicting request is refused as a whole (``reservation_conflict``), saying who
  holds which pattern and until when; nothing of it is kept.
- A session reserving a pattern it holds renews it (and takes the new mode, lease and
  task); a lease is renewed by the session's heartbeat (its reports and heartbeats:
  MCP ``update_session``, REST ``heartbeat``), each by its own lease, like its claims.
- A reservation taken with a task (``claim_tasks`` with ``paths``, or ``taskId``: a task
  whose claim the session holds) is released when that claim ends; every reservation of
  a session is released when the session ends or is deleted; the reaper releases those
  whose lease ran out (a request never releases another session's: its actor would be
  the request's, not the server's).
- Reads count only live reservations (lease not run out), whether or not the reaper
  has released the others yet.
"""

from ..clock import iso
from ..errors import InvalidInput, NotFound, ReservationConflict, TooLarge
from ..events import EventType
from ..globs import BadPattern, PatternIndex, matches, normalize, overlaps
from ..ids import RESERVATION_PREFIX, new_id
from ..models import (
    RESERVATIONS_PER_SESSION_MAX,
    PathCheck,
    PathCheckResult,
    PathConflict,
    Reservation,
    ReservationRelease,
    ReservationRequest,
    Session,
)
from ..storage import Rows
from ..vocabulary import PATH_CHECK_MATCHES_MAX, ReservationEnd
from . import updates
from .rules import require_active_session, require_session, require_task, unique
from .transaction import Write

CONFLICTS_SHOWN = 5


def reserve(w: Write, session_id: str, request: ReservationRequest) -> list[Reservation]:
    """Events: ``reservation:created`` per new pattern, ``reservation:updated`` per
    pattern the session held already (renewed, and changed if asked)."""
    session = require_active_session(w.rows, session_id, "reserve files")
    if request.task_id is not None:
        task = require_task(w.rows, request.task_id)
        claim = task.claim
        if claim is None or claim.session_id != session.id or claim.expires_at <= w.now:
            # Released when the claim ends: only a claim of this session's says when.
            raise InvalidInput(
                f"session {session.id} holds no claim on task {task.id}: taskId ties files "
                "to a claim of yours (claim the task, or reserve without taskId)",
                {"field": "taskId"},
            )
    return take(
        w,
        session,
        normalized(request.paths),
        exclusive=not request.shared,
        lease_ms=request.lease_seconds * 1000,
        task_id=request.task_id,
    )


def take(
    w: Write,
    session: Session,
    patterns: list[str],
    *,
    exclusive: bool,
    lease_ms: int,
    task_id: str | None,
) -> list[Reservation]:
    """Reserve normalized ``patterns`` for ``session`` (checked: active, of the project),
    all or none (see ``reserve``)."""
    # One that ran out is no conflict (the reaper releases it, as the server's act).
    found = w.rows.list_reservations(project_id=session.project_id)
    live = [r for r in found if r.expires_at > w.now]
    # Its own, run out or not: a pattern it held is renewed in place (held once).
    held = {r.pattern: r for r in found if r.session_id == session.id}
    clashes = [
        (pattern, other)
        for pattern in patterns
        for other in live
        if other.session_id != session.id
        and (exclusive or other.exclusive)
        and overlaps(pattern, other.pattern)
    ]
    if clashes:
        raise _conflict(w.rows, clashes)
    new_count = len([p for p in patterns if p not in held])
    if len(held) + new_count > RESERVATIONS_PER_SESSION_MAX:
        raise InvalidInput(
            f"a session holds at most {RESERVATIONS_PER_SESSION_MAX} reservations; "
            f"session {session.id} holds {len(held)}: release some, or reserve a directory",
            {"field": "paths"},
        )
    result = []
    for pattern in patterns:
        before = held.get(pattern)
        reservation = Reservation(
            id=before.id if before is not None else new_id(RESERVATION_PREFIX),
            project_id=session.project_id,
            session_id=session.id,
            task_id=task_id,
            pattern=pattern,
            exclusive=exclusive,
            created_at=before.created_at if before is not None else w.now,
            expires_at=w.now + lease_ms,
            lease_seconds=lease_ms // 1000,
        )
        w.rows.save_reservation(reservation)
        if before is None:
            w.emit(EventType.RESERVATION_CREATED, reservation.project_id, reservation)
        elif reservation != before:
            updates.emit_updated(w, reservation, before)
        result.append(reservation)
    return result


def release(w: Write, session_id: str, request: ReservationRelease) -> list[Reservation]:
    """Release the session's reservations of these patterns (all, if none given); a
    pattern it does not hold is no error. Events: ``reservation:released`` each."""
    session = require_session(w.rows, session_id)
    held = w.rows.list_reservations(session_id=session.id)
    if request.paths is not None:
        wanted = set(normalized(request.paths))
        held = [r for r in held if r.pattern in wanted]
    end(w, held, ReservationEnd.RELEASED)
    return held


def release_by_id(w: Write, reservation_id: str) -> Reservation:
    """A person releases one reservation (``override``): whoever holds it. One whose
    lease ran out is gone already, as for every read (``live``), even before the reaper
    releases it (as ``expired``): NotFound, saying when it expired, and nothing written:
    an override would tell of a hold that had ended."""
    found = w.rows.get_reservation(reservation_id)
    if found is None:
        raise NotFound(f"reservation {reservation_id} not found", {"id": reservation_id})
    if found.expires_at <= w.now:
        raise NotFound(
            f"reservation {reservation_id} ({found.pattern}) expired at "
            f"{iso(found.expires_at)}: its lease ran out, nothing to release",
            {"id": reservation_id, "expiredAt": iso(found.expires_at)},
        )
    end(w, [found], ReservationEnd.OVERRIDE)
    return found


def renew(w: Write, session_id: str) -> None:
    """The session's heartbeat: every live reservation's lease starts again.
    Events: ONE ``reservation:renewed {projectId, sessionId, reservations: [{id,
    expiresAt}]}`` when it holds any: a heartbeat adds one event however many files the
    session holds (a session holds up to ``RESERVATIONS_PER_SESSION_MAX``)."""
    renewed = []
    for reservation in w.rows.list_reservations(session_id=session_id):
        if reservation.expires_at <= w.now:
            continue  # ran out: the files may be someone else's now
        extended = reservation.model_copy(
            update={"expires_at": w.now + reservation.lease_seconds * 1000}
        )
        w.rows.save_reservation(extended)
        renewed.append(extended)
    if renewed:
        w.emit(
            EventType.RESERVATION_RENEWED,
            renewed[0].project_id,
            {
                "projectId": renewed[0].project_id,
                "sessionId": session_id,
                "reservations": [{"id": r.id, "expiresAt": r.expires_at} for r in renewed],
            },
        )


def release_of_session(w: Write, session_id: str, reason: ReservationEnd) -> None:
    end(w, w.rows.list_reservations(session_id=session_id), reason)


def release_of_task(w: Write, task_id: str, holder: str, reason: ReservationEnd) -> None:
    """The claim of session ``holder`` on the task ended: the files it reserved with it go."""
    end(w, w.rows.list_reservations(task_id=task_id, session_id=holder), reason)


def expire(w: Write, reservations: list[Reservation]) -> list[str]:
    """Release those of ``reservations`` whose lease ran out (checked again, here);
    returns their ids."""
    ran_out = [r for r in reservations if r.expires_at <= w.now]
    end(w, ran_out, ReservationEnd.EXPIRED)
    return [r.id for r in ran_out]


def end(w: Write, reservations: list[Reservation], reason: ReservationEnd) -> None:
    """Delete ``reservations``. Events: ``reservation:released {id, projectId,
    sessionId, taskId, pattern, reason}`` each."""
    if not reservations:
        return
    w.rows.delete_reservations([r.id for r in reservations])
    for r in reservations:
        w.emit(
            EventType.RESERVATION_RELEASED,
            r.project_id,
            {
                "id": r.id,
                "projectId": r.project_id,
                "sessionId": r.session_id,
                "taskId": r.task_id,
                "pattern": r.pattern,
                "reason": reason.value,
            },
        )


def live(
    rows: Rows, now: int, project_id: str | None, session_id: str | None = None
) -> list[Reservation]:
    """The reservations of a project, of one session, or of both, whose lease runs, in
    the order they were made."""
    found = rows.list_reservations(project_id=project_id, session_id=session_id)
    return [r for r in found if r.expires_at > now]


def check(rows: Rows, now: int, project_id: str, request: PathCheck) -> PathCheckResult:
    """Which of the paths other sessions hold (a read: what the pre-commit guard asks).

    The live reservations are indexed by their literal leading segments (globs.py,
    ``PatternIndex``), so a path is matched only against the patterns that may cover it;
    the matches that leaves (one per distinct pattern) are counted before any is made,
    and a request that would need more than ``PATH_CHECK_MATCHES_MAX`` is refused
    (``TooLarge``) as a whole: however many paths and reservations, a check costs
    bounded work."""
    others = [r for r in live(rows, now, project_id) if r.session_id != request.session_id]
    index = PatternIndex((r.pattern, (order, r)) for order, r in enumerate(others))
    asked = [
        (path, _candidates(index, path)) for path in unique([_file_path(p) for p in request.paths])
    ]
    work = sum(len(candidates) for _, candidates in asked)
    if work > PATH_CHECK_MATCHES_MAX:
        raise TooLarge(
            f"checking these {len(asked)} paths against the {len(others)} reservations that "
            f"may cover them takes {work} matches, more than {PATH_CHECK_MATCHES_MAX}: "
            "ask about fewer paths at a time",
            {"paths": len(asked), "matches": work, "limit": PATH_CHECK_MATCHES_MAX},
        )
    conflicts, shared = [], []
    for path, candidates in asked:
        matched = [item for p, items in candidates if matches(p, path) for item in items]
        covering = [r for _, r in sorted(matched, key=lambda item: item[0])]  # as made
        exclusive = [r for r in covering if r.exclusive]
        if exclusive:
            conflicts.append(PathConflict(path=path, held_by=exclusive))
        elif covering:
            shared.append(PathConflict(path=path, held_by=covering))
    return PathCheckResult(conflicts=conflicts, shared=shared)


def _file_path(path: str) -> str:
    """A path the guard asks about, as asked: without a leading ``./``, never trimmed (a
    file name may begin or end with a space)."""
    return path.removeprefix("./")


def _candidates(
    index: PatternIndex[tuple[int, Reservation]], path: str
) -> list[tuple[str, list[tuple[int, Reservation]]]]:
    """The reservations that may cover ``path``, or InvalidInput if it names no file of
    the repository: empty, absolute (``/x``), a ``..`` segment, which git never lists;
    refused whether or not anything is reserved, never a server error. A name is read as
    POSIX reads it: ``\\notes.txt`` or ``C:/x`` are files like any other, covered by the
    patterns that match them (``**``, ``*.txt``), never a refusal."""
    try:
        return index.candidates(path)
    except ValueError as exc:
        raise InvalidInput(str(exc), {"field": "paths", "path": path}) from None  # names it


def normalized(paths: list[str]) -> list[str]:
    result = []
    for path in paths:
        try:
            result.append(normalize(path))
        except BadPattern as exc:
            raise InvalidInput(f"{path!r}: {exc}", {"field": "paths", "path": path}) from None
    return unique(result)


def _conflict(rows: Rows, clashes: list[tuple[str, Reservation]]) -> ReservationConflict:
    sessions = {s.id: s for s in rows.get_sessions({o.session_id for _, o in clashes})}
    described = []
    for pattern, other in clashes[:CONFLICTS_SHOWN]:
        holder = sessions.get(other.session_id)
        who = f"session {other.session_id}"
        if holder is not None:
            who += f" ({holder.agent + ', ' if holder.agent else ''}{holder.name!r})"
        mode = "exclusively" if other.exclusive else "shared"
        described.append(
            f"{pattern} overlaps {other.pattern}, held {mode} by {who} until "
            f"{iso(other.expires_at)}"
        )
    more = f" (and {len(clashes) - CONFLICTS_SHOWN} more)" if len(clashes) > CONFLICTS_SHOWN else ""
    return ReservationConflict(
        "files reserved by another session: "
        + "; ".join(described)
        + more
        + "; wait for them to be released, or work on other files",
        {
            "conflicts": [
                {"pattern": p, "heldBy": o.model_dump(mode="json", by_alias=True)}
                for p, o in clashes
            ]
        },
    )
