"""Dependencies, readiness and claims with leases, on the service layer."""

import json

import pytest

from maestro_mcp.core.errors import ClaimConflict, ClaimLost, InvalidInput, NotReady
from maestro_mcp.core.models import (
    ClaimNextRequest,
    ClaimRequest,
    HeartbeatRequest,
    ProjectCreate,
    ReleaseRequest,
    SessionPatch,
    SessionStatus,
    TaskFilter,
    TaskPatch,
    TaskPriority,
    TaskStatus,
)
from maestro_mcp.core.service import Service
from tests.support.core import Clock, log_after, new_session, new_task

# Every test here runs on a clock it moves itself (leases and deadlines are about time).
pytestmark = pytest.mark.usefixtures("clock")


def ready_ids(service: Service, project_id: str) -> list[str]:
    return [t.id for t in service.list_tasks(TaskFilter(project_id=project_id, ready=True)).value]


# --- dependencies ---------------------------------------------------------------------------


def test_dependencies_gate_readiness(service: Service, project_id: str) -> None:
    schema = new_task(service, project_id, "schema")
    api = new_task(service, project_id, "api", depends_on=[schema.id, schema.id])
    assert api.depends_on == [schema.id]
    assert ready_ids(service, project_id) == [schema.id]
    blocked = service.list_tasks(TaskFilter(project_id=project_id, blocked=True)).value
    assert [t.id for t in blocked] == [api.id]
    service.update_task(schema.id, TaskPatch(status=TaskStatus.COMPLETED))
    assert ready_ids(service, project_id) == [api.id]


def test_cycles_and_foreign_dependencies_are_refused(service: Service, project_id: str) -> None:
    a = new_task(service, project_id, "a")
    b = new_task(service, project_id, "b", depends_on=[a.id])
    c = new_task(service, project_id, "c", depends_on=[b.id])
    with pytest.raises(InvalidInput, match="cycle"):
        service.update_task(a.id, TaskPatch(depends_on=[c.id]))
    with pytest.raises(InvalidInput, match="cycle"):
        service.update_task(a.id, TaskPatch(depends_on=[a.id]))
    other = service.create_project(ProjectCreate(name="other")).value
    foreign = new_task(service, other.id)
    with pytest.raises(InvalidInput, match="belongs to project"):
        service.update_task(a.id, TaskPatch(depends_on=[foreign.id]))
    with pytest.raises(InvalidInput, match="not found"):
        new_task(service, project_id, "d", depends_on=["task_nope"])
    assert service.get_task(a.id).value.depends_on == []


def test_deleting_a_dependency_updates_its_dependents(service: Service, project_id: str) -> None:
    a = new_task(service, project_id, "a")
    b = new_task(service, project_id, "b", depends_on=[a.id])
    head = service.head()
    service.delete_task(a.id)
    log = log_after(service, head)
    assert [m["event"] for m in log] == ["task:updated", "task:deleted"]
    assert log[0]["data"]["id"] == b.id
    assert log[0]["data"]["dependsOn"] == []
    assert ready_ids(service, project_id) == [b.id]


def test_labels_filter(service: Service, project_id: str) -> None:
    ui = new_task(service, project_id, "ui", labels=["frontend", "frontend", " css "])
    assert ui.labels == ["frontend", "css"]
    new_task(service, project_id, "db", labels=["backend"])
    found = service.list_tasks(TaskFilter(project_id=project_id, label="frontend")).value
    assert [t.id for t in found] == [ui.id]


# --- claims ---------------------------------------------------------------------------------


def test_claim_gives_a_token_and_is_exclusive(service: Service, project_id: str) -> None:
    t = new_task(service, project_id)
    alice, bob = (
        new_session(service, project_id, name="alice").id,
        new_session(service, project_id, name="bob").id,
    )
    head = service.head()
    grant = service.claim_task(t.id, ClaimRequest(session_id=alice, lease_seconds=60)).value
    assert grant.claim_token.startswith("clm_")
    assert grant.task.status is TaskStatus.IN_PROGRESS
    assert grant.task.claim is not None
    assert grant.task.claim.session_id == alice
    log = log_after(service, head)
    # Claiming links the task to the session: "my tasks" is the session's task list.
    assert [m["event"] for m in log] == [
        "session:updated",
        "task:updated",
        "session:task_added",
        "task:claimed",
    ]
    assert log[0]["data"]["taskIds"] == [t.id]
    assert log[1]["data"]["sessionIds"] == [alice]
    assert grant.claim_token not in json.dumps(log)  # the token never goes out in events
    with pytest.raises(ClaimConflict, match=f"claimed by session {alice}"):
        service.claim_task(t.id, ClaimRequest(session_id=bob))
    assert ready_ids(service, project_id) == []


def test_only_the_holder_completes(service: Service, project_id: str) -> None:
    t = new_task(service, project_id)
    alice = new_session(service, project_id, name="alice").id
    grant = service.claim_task(t.id, ClaimRequest(session_id=alice)).value
    done = TaskPatch(status=TaskStatus.COMPLETED)
    with pytest.raises(ClaimConflict, match="pass its claim token"):
        service.update_task(t.id, done)
    with pytest.raises(ClaimConflict, match="not the current one"):
        service.update_task(t.id, done, claim_token="clm_forged")
    # Other fields are not the claim's business: a human may still edit the title.
    service.update_task(t.id, TaskPatch(title="renamed"))
    head = service.head()
    completed = service.update_task(t.id, done, claim_token=grant.claim_token).value
    assert completed.status is TaskStatus.COMPLETED
    assert completed.claim is None
    log = log_after(service, head)
    assert [m["event"] for m in log] == ["task:updated", "task:released"]
    assert log[1]["data"]["reason"] == "completed"


def test_a_stale_token_is_refused_after_the_claim_moved_on(
    service: Service, project_id: str, clock: Clock
) -> None:
    t = new_task(service, project_id)
    alice, bob = (
        new_session(service, project_id, name="alice").id,
        new_session(service, project_id, name="bob").id,
    )
    old = service.claim_task(t.id, ClaimRequest(session_id=alice, lease_seconds=10)).value
    clock.now += 11_000
    new = service.claim_task(t.id, ClaimRequest(session_id=bob, lease_seconds=10)).value
    lost = f"your claim on task {t.id} ended at .*: its lease expired; session {bob} holds it now"
    with pytest.raises(ClaimLost, match=lost):
        service.update_task(
            t.id, TaskPatch(status=TaskStatus.COMPLETED), claim_token=old.claim_token
        )
    with pytest.raises(ClaimLost, match=lost):
        service.release_task(t.id, ReleaseRequest(claim_token=old.claim_token))
    service.release_task(t.id, ReleaseRequest(claim_token=new.claim_token))
    assert ready_ids(service, project_id) == [t.id]


# --- fencing: a token presented is always checked --------------------------------------------


def test_an_expired_token_cannot_complete_the_task_even_when_nobody_holds_it(
    service: Service, project_id: str, clock: Clock
) -> None:
    t = new_task(service, project_id)
    alice = new_session(service, project_id, name="alice").id
    grant = service.claim_task(t.id, ClaimRequest(session_id=alice, lease_seconds=10)).value
    clock.now += 10_000  # the lease ends now, at 1970-01-01T00:16:50Z on this clock
    done = TaskPatch(status=TaskStatus.COMPLETED)
    with pytest.raises(ClaimLost, match=r"ended at 1970-01-01T00:16:50Z: its lease expired") as e:
        service.update_task(t.id, done, claim_token=grant.claim_token)
    assert e.value.code == "claim_lost"
    service.expire_claims()  # reaped: the task is nobody's, and still the token is refused
    with pytest.raises(ClaimLost, match="its lease expired"):
        service.update_task(t.id, done, claim_token=grant.claim_token)
    assert service.get_task(t.id).value.status is TaskStatus.PENDING


@pytest.mark.parametrize(
    ("how", "said"),
    [
        ("override", "a person overrode it"),
        ("session ended", "its session ended"),
        ("set back", "the task was set back to pending"),
    ],
)
def test_a_token_whose_claim_ended_is_told_what_happened(
    service: Service, project_id: str, how: str, said: str
) -> None:
    t = new_task(service, project_id)
    alice = new_session(service, project_id, name="alice").id
    grant = service.claim_task(t.id, ClaimRequest(session_id=alice)).value
    if how == "override":
        service.release_task(t.id, ReleaseRequest(override=True))
    elif how == "session ended":
        service.update_session(alice, SessionPatch(status=SessionStatus.COMPLETED))
    else:  # by its holder, which ends the claim as well
        pending = TaskPatch(status=TaskStatus.PENDING)
        service.update_task(t.id, pending, claim_token=grant.claim_token)
    with pytest.raises(ClaimLost, match=f"{said}; claim the task again"):
        service.update_task(t.id, TaskPatch(title="mine"), claim_token=grant.claim_token)
    with pytest.raises(ClaimLost, match="does not hold task"):
        service.update_task(t.id, TaskPatch(title="mine"), claim_token="clm_never_issued")


def test_retrying_a_change_already_made_is_answered_without_error(
    service: Service, project_id: str
) -> None:
    t = new_task(service, project_id)
    alice = new_session(service, project_id).id
    grant = service.claim_task(t.id, ClaimRequest(session_id=alice)).value
    done = TaskPatch(status=TaskStatus.COMPLETED)
    first = service.update_task(t.id, done, claim_token=grant.claim_token)
    head = service.head()
    again = service.update_task(t.id, done, claim_token=grant.claim_token)  # e.g. a lost reply
    assert again.value == first.value
    assert service.head() == head
    released = service.release_task(t.id, ReleaseRequest(claim_token=grant.claim_token))
    assert released.value.claim is None


def test_a_session_gets_its_own_claim_back(service: Service, project_id: str, clock: Clock) -> None:
    t = new_task(service, project_id)
    alice = new_session(service, project_id).id
    first = service.claim_task(t.id, ClaimRequest(session_id=alice, lease_seconds=60)).value
    clock.now += 30_000
    head = service.head()
    again = service.claim_task(t.id, ClaimRequest(session_id=alice, lease_seconds=60)).value
    assert again.claim_token == first.claim_token  # the same claim: the same token
    assert again.expires_at == first.expires_at + 30_000  # its lease renewed
    assert again.task.claim is not None
    assert first.task.claim is not None
    assert again.task.claim.claimed_at == first.task.claim.claimed_at
    # Already linked: no second link, just the claim's events.
    assert [m["event"] for m in log_after(service, head)] == ["task:updated", "task:claimed"]


# --- dependencies hold on every path -----------------------------------------------------------


def test_work_waits_for_its_dependencies_unless_a_person_overrides(
    service: Service, project_id: str
) -> None:
    first = new_task(service, project_id, "first")
    second = new_task(service, project_id, "second", depends_on=[first.id])
    for status in (TaskStatus.IN_PROGRESS, TaskStatus.COMPLETED):
        with pytest.raises(NotReady, match=f"waits for {first.id} to be completed") as e:
            service.update_task(second.id, TaskPatch(status=status))
        assert e.value.details == {"waitingFor": [first.id]}
        with pytest.raises(NotReady):
            new_task(service, project_id, "born started", status=status, depends_on=[first.id])
    # Other statuses are not work: a task may be blocked or reviewed meanwhile.
    service.update_task(second.id, TaskPatch(status=TaskStatus.BLOCKED))
    forced = service.update_task(second.id, TaskPatch(status=TaskStatus.IN_PROGRESS), override=True)
    assert forced.value.status is TaskStatus.IN_PROGRESS
    service.update_task(first.id, TaskPatch(status=TaskStatus.COMPLETED))
    done = service.update_task(second.id, TaskPatch(status=TaskStatus.COMPLETED))
    assert done.value.status is TaskStatus.COMPLETED


def test_claim_next_says_why_it_found_nothing(service: Service, project_id: str) -> None:
    agent = new_session(service, project_id, name="agent").id
    empty = service.claim_next(agent, ClaimNextRequest()).value
    assert empty.claims == []
    assert empty.nothing_ready is not None
    assert empty.nothing_ready.message == "nothing ready to claim: no task is pending"
    base = new_task(service, project_id, "base")
    new_task(service, project_id, "later", depends_on=[base.id])
    other = new_session(service, project_id, name="other").id
    service.claim_task(base.id, ClaimRequest(session_id=other))
    why = service.claim_next(agent, ClaimNextRequest()).value.nothing_ready
    assert why is not None
    assert (why.pending, why.waiting, why.claimed, why.blockers) == (1, 1, 1, [base.id])
    assert why.message == (
        f"nothing ready to claim: 1 pending task waits on {base.id} (“base”); "
        "1 task held by other sessions"
    )


def test_human_override(service: Service, project_id: str) -> None:
    t = new_task(service, project_id)
    alice = new_session(service, project_id, name="alice").id
    service.claim_task(t.id, ClaimRequest(session_id=alice))
    head = service.head()
    released = service.release_task(t.id, ReleaseRequest(override=True)).value
    assert released.claim is None
    assert released.status is TaskStatus.PENDING
    assert log_after(service, head)[-1]["data"]["reason"] == "override"
    service.claim_task(t.id, ClaimRequest(session_id=alice))
    cancelled = service.update_task(
        t.id, TaskPatch(status=TaskStatus.CANCELLED), override=True
    ).value
    assert cancelled.claim is None


def test_leases_expire_and_heartbeats_renew(
    service: Service, project_id: str, clock: Clock
) -> None:
    kept, lost = new_task(service, project_id, "kept"), new_task(service, project_id, "lost")
    alive, dead = (
        new_session(service, project_id, name="alive").id,
        new_session(service, project_id, name="dead").id,
    )
    service.claim_task(kept.id, ClaimRequest(session_id=alive, lease_seconds=30))
    service.claim_task(lost.id, ClaimRequest(session_id=dead, lease_seconds=30))
    clock.now += 20_000
    beat = service.heartbeat(alive).value
    assert [t.id for t in beat.renewed] == [kept.id]
    assert beat.renewed[0].claim is not None
    assert beat.renewed[0].claim.expires_at == clock.now + 30_000
    clock.now += 15_000  # past the dead session's lease, within the renewed one
    assert ready_ids(service, project_id) == [lost.id]  # readiness does not wait for the reaper
    head = service.head()
    assert service.expire_claims().value == [lost.id]
    log = log_after(service, head)
    assert [m["event"] for m in log] == ["task:updated", "task:released"]
    assert log[1]["data"] == {
        "taskId": lost.id,
        "projectId": project_id,
        "sessionId": dead,
        "reason": "expired",
    }
    assert log[0]["data"]["status"] == "pending"
    assert service.get_task(kept.id).value.claim is not None
    longer = service.heartbeat(alive, HeartbeatRequest(lease_seconds=600)).value
    assert longer.renewed[0].claim is not None
    assert longer.renewed[0].claim.expires_at == clock.now + 600_000


def test_claim_next_orders_by_priority_then_age_and_filters(
    service: Service, project_id: str
) -> None:
    low = new_task(service, project_id, "low", priority=TaskPriority.LOW)
    high_old = new_task(service, project_id, "high old", priority=TaskPriority.HIGH, labels=["api"])
    urgent = new_task(service, project_id, "urgent", priority=TaskPriority.URGENT)
    high_new = new_task(service, project_id, "high new", priority=TaskPriority.HIGH, labels=["api"])
    waiting = new_task(
        service, project_id, "waiting", priority=TaskPriority.URGENT, depends_on=[low.id]
    )
    agent = new_session(service, project_id).id
    grants = service.claim_next(agent, ClaimNextRequest(count=3)).value.claims
    assert [g.task.id for g in grants] == [urgent.id, high_old.id, high_new.id]
    assert len({g.claim_token for g in grants}) == 3
    assert [
        g.task.id for g in service.claim_next(agent, ClaimNextRequest(count=5)).value.claims
    ] == [low.id]
    nothing = service.claim_next(agent, ClaimNextRequest()).value
    assert nothing.claims == []
    assert nothing.nothing_ready is not None
    # The four it holds itself are not 'held by others'.
    assert (nothing.nothing_ready.waiting, nothing.nothing_ready.claimed) == (1, 0)
    assert nothing.nothing_ready.blockers == [low.id]
    assert f"1 pending task waits on {low.id} (“low”)" in nothing.nothing_ready.message
    assert waiting.id not in ready_ids(service, project_id)

    other = new_session(service, project_id, name="other").id
    fresh = new_task(service, project_id, "fresh", labels=["api", "db"])
    new_task(service, project_id, "plain")
    only_api_db = service.claim_next(other, ClaimNextRequest(labels=["api", "db"])).value.claims
    assert [g.task.id for g in only_api_db] == [fresh.id]


def test_not_ready_and_ended_sessions_cannot_claim(service: Service, project_id: str) -> None:
    first = new_task(service, project_id, "first")
    second = new_task(service, project_id, "second", depends_on=[first.id])
    agent = new_session(service, project_id).id
    with pytest.raises(NotReady, match=f"waits for {first.id}"):
        service.claim_task(second.id, ClaimRequest(session_id=agent))
    done = new_task(service, project_id, "done", status=TaskStatus.COMPLETED)
    with pytest.raises(NotReady, match="completed, not pending"):
        service.claim_task(done.id, ClaimRequest(session_id=agent))
    service.update_session(agent, SessionPatch(status=SessionStatus.STOPPED))
    with pytest.raises(InvalidInput, match="has ended"):
        service.claim_task(first.id, ClaimRequest(session_id=agent))


def test_deleting_a_session_releases_its_claims(service: Service, project_id: str) -> None:
    t = new_task(service, project_id)
    agent = new_session(service, project_id).id
    service.claim_task(t.id, ClaimRequest(session_id=agent))
    head = service.head()
    service.delete_session(agent)
    log = log_after(service, head)
    assert [m["event"] for m in log] == ["session:deleted", "task:updated", "task:released"]
    assert log[1]["data"]["claim"] is None
    assert log[1]["data"]["status"] == "pending"
    assert log[2]["data"]["reason"] == "session_deleted"
    assert ready_ids(service, project_id) == [t.id]


def test_claim_retry_with_the_same_key_returns_the_same_token(
    service: Service, project_id: str
) -> None:
    new_task(service, project_id)
    agent = new_session(service, project_id).id
    first = service.claim_next(agent, ClaimNextRequest(), idempotency_key="k").value.claims
    again = service.claim_next(agent, ClaimNextRequest(), idempotency_key="k").value.claims
    assert [g.claim_token for g in again] == [g.claim_token for g in first]


def test_ending_a_session_releases_its_claims_and_heartbeats_renew_none(
    service: Service, project_id: str
) -> None:
    t = new_task(service, project_id)
    agent = new_session(service, project_id).id
    service.claim_task(t.id, ClaimRequest(session_id=agent))
    head = service.head()
    service.update_session(agent, SessionPatch(status=SessionStatus.COMPLETED))
    log = log_after(service, head)
    assert [m["event"] for m in log] == ["session:updated", "task:updated", "task:released"]
    assert log[2]["data"]["reason"] == "session_ended"
    assert service.heartbeat(agent).value.renewed == []
    assert ready_ids(service, project_id) == [t.id]


def test_releasing_an_expired_claim_says_expired(
    service: Service, project_id: str, clock: Clock
) -> None:
    t = new_task(service, project_id)
    agent = new_session(service, project_id).id
    grant = service.claim_task(t.id, ClaimRequest(session_id=agent, lease_seconds=1)).value
    clock.now += 2_000
    with pytest.raises(ClaimLost, match="does not hold task"):  # a token is always checked
        service.release_task(t.id, ReleaseRequest(claim_token="anything"))
    head = service.head()
    service.release_task(t.id, ReleaseRequest(claim_token=grant.claim_token))
    assert log_after(service, head)[-1]["data"]["reason"] == "expired"


def test_non_ascii_claim_token_is_refused_not_a_crash(service: Service, project_id: str) -> None:
    t = new_task(service, project_id)
    agent = new_session(service, project_id).id
    service.claim_task(t.id, ClaimRequest(session_id=agent))
    with pytest.raises(ClaimConflict):
        service.release_task(t.id, ReleaseRequest(claim_token="é"))


def test_dependency_order_is_canonical(service: Service, project_id: str) -> None:
    a, b = new_task(service, project_id, "a"), new_task(service, project_id, "b")
    c = new_task(service, project_id, "c")
    first, second = sorted([a.id, b.id])
    updated = service.update_task(c.id, TaskPatch(depends_on=[second, first])).value
    assert updated.depends_on == [first, second]
    assert service.get_task(c.id).value.depends_on == [first, second]
    again = service.update_task(c.id, TaskPatch(depends_on=[second, first]))
    assert again.value.version == updated.version  # the same set again is no change


def test_a_stale_token_is_refused_even_for_a_change_already_made(
    service: Service, project_id: str, clock: Clock
) -> None:
    t = new_task(service, project_id)
    alice = new_session(service, project_id, name="alice").id
    bob = new_session(service, project_id, name="bob").id
    old = service.claim_task(t.id, ClaimRequest(session_id=alice, lease_seconds=10)).value
    clock.now += 11_000
    new = service.claim_task(t.id, ClaimRequest(session_id=bob)).value
    # In progress already (bob's): alice's no-op is still refused, she must not go on.
    with pytest.raises(ClaimLost, match=f"session {bob} holds it now"):
        service.update_task(
            t.id, TaskPatch(status=TaskStatus.IN_PROGRESS), claim_token=old.claim_token
        )
    done = TaskPatch(status=TaskStatus.COMPLETED)
    service.update_task(t.id, done, claim_token=new.claim_token)
    # Completed already (by bob): alice's late completion is refused all the same...
    with pytest.raises(ClaimLost, match="its lease expired"):
        service.update_task(t.id, done, claim_token=old.claim_token)
    with pytest.raises(ClaimLost, match="does not hold task"):
        service.update_task(t.id, done, claim_token="clm_made_up")
    # ... while bob's retry of his own completion is answered as it is.
    completed = service.get_task(t.id).value
    assert service.update_task(t.id, done, claim_token=new.claim_token).value == completed
    with pytest.raises(ClaimLost, match="the task was completed; nothing is left to do on it"):
        service.update_task(t.id, TaskPatch(title="more"), claim_token=new.claim_token)


def test_a_token_for_another_task_and_reasons_at_session_end(
    service: Service, project_id: str, clock: Clock
) -> None:
    a, b = new_task(service, project_id, "a"), new_task(service, project_id, "b")
    alice = new_session(service, project_id, name="alice").id
    grant = service.claim_task(a.id, ClaimRequest(session_id=alice, lease_seconds=10)).value
    with pytest.raises(ClaimLost, match=f"does not hold task {b.id}"):
        service.update_task(b.id, TaskPatch(title="x"), claim_token=grant.claim_token)
    clock.now += 20_000  # the lease ran out before the session was deleted
    head = service.head()
    service.delete_session(alice)
    released = [m for m in log_after(service, head) if m["event"] == "task:released"]
    assert [m["data"]["reason"] for m in released] == ["expired"]
    with pytest.raises(ClaimLost, match="ended at 1970-01-01T00:16:50Z: its lease expired"):
        service.update_task(a.id, TaskPatch(title="x"), claim_token=grant.claim_token)


def test_recovering_a_claim_keeps_its_status_and_its_longer_lease(
    service: Service, project_id: str
) -> None:
    t = new_task(service, project_id)
    alice = new_session(service, project_id).id
    first = service.claim_task(t.id, ClaimRequest(session_id=alice, lease_seconds=3600)).value
    review = TaskPatch(status=TaskStatus.IN_REVIEW)
    service.update_task(t.id, review, claim_token=first.claim_token)
    again = service.claim_task(t.id, ClaimRequest(session_id=alice)).value  # default lease
    assert again.claim_token == first.claim_token
    assert again.task.status is TaskStatus.IN_REVIEW
    assert again.expires_at >= first.expires_at  # not shortened to the default 300 s


def test_a_session_cannot_unlink_a_task_it_holds(service: Service, project_id: str) -> None:
    t = new_task(service, project_id)
    alice = new_session(service, project_id).id
    grant = service.claim_task(t.id, ClaimRequest(session_id=alice)).value
    with pytest.raises(InvalidInput, match="release the claim first"):
        service.remove_task_from_session(alice, t.id)
    service.release_task(t.id, ReleaseRequest(claim_token=grant.claim_token))
    assert service.remove_task_from_session(alice, t.id).value.changed
    # Releasing again with the same token gives up nothing more: no error.
    again = service.release_task(t.id, ReleaseRequest(claim_token=grant.claim_token))
    assert again.value.claim is None
