"""The fan-out benchmark (``python -m bench --fanout``) stays runnable: quick runs end to
end, across real processes (the server, the floor server, the subscriber workers), with
every marker delivered to every client; no timing is asserted."""

import re

from bench import fanout
from tests.support import postgres
from tests.support.bench import quick_run
from tests.support.ci import missing

QUICK = fanout.QUICK


def phases_delivered_everything(table: str, phases: int) -> None:
    assert "not run" not in table, table
    lost = re.findall(r"lost (\d+)", table)
    assert len(lost) >= phases, table
    assert set(lost) == {"0"}, table


def test_quick_fanout_run_prints_the_table() -> None:
    table = quick_run("--fanout")
    for n in QUICK.clients:
        for measure in (
            f"write→last client, {n} WS clients",
            f"server CPU, {n} WS clients",
            f"server memory per idle client, {n} WS clients",
            f"load generator CPU, {n} WS clients",
        ):
            assert measure in table, measure
    for n in QUICK.floor_clients:
        assert f"floor: bare uvloop server, {n} WS clients" in table
    assert f"write→all {QUICK.sse_clients} SSE clients against" in table
    # Each WebSocket phase, the floor's, and the SSE row's two phases.
    phases_delivered_everything(table, len(QUICK.clients) + len(QUICK.floor_clients) + 2)


def test_quick_postgresql_fanout_run_prints_the_table() -> None:
    if postgres.find_pg_bin("initdb") is None:
        missing("the PostgreSQL fan-out starts a cluster of its own: initdb is not installed")
    table = quick_run("--fanout", "--db", "postgresql")
    biggest = max(QUICK.clients)
    for measure in (
        f"write→last client, {QUICK.clients[0]} WS clients",
        f"write→last client, {biggest} WS clients over 2 instances of one database",
        f"2 instances with {biggest} clients against 1 with {biggest // 2}",
        "PostgreSQL (fsync on)",
    ):
        assert measure in table, measure
    phases_delivered_everything(table, len(QUICK.clients) + len(QUICK.floor_clients) + 3)


def test_a_phase_that_could_not_run_says_why() -> None:
    found = fanout.Found(ws={10_000: "each worker needs 10,200 file descriptors"})
    (row,) = [r for r in fanout.rows(found, QUICK) if "10,000" in r.measure]
    assert row.result == "not run: each worker needs 10,200 file descriptors"


def a_phase(workers_cpu: float, others_cpu: float) -> fanout.Fan:
    return fanout.Fan(
        clients=1000, writes=200, reach={"p50": 10.0, "p99": 20.0, "max": 30.0}, lost=0,
        cut_off=0, late=0, wall=10.0, server_cpu=2.4, store_cpu=0.0, rss_before=80.0,
        rss_after=126.0, workers_cpu=[0.2, workers_cpu], coordinator_cpu=0.01,
        others_cpu=others_cpu, event_bytes=304,
    )  # fmt: skip


def test_a_phase_whose_generator_or_machine_was_busy_is_marked() -> None:
    def latency_row(fan: fanout.Fan) -> str:
        found = fanout.Found(ws={1000: fan})
        return fanout.rows(found, QUICK)[0].measure

    assert latency_row(a_phase(0.5, 0.1)) == "write→last client, 1,000 WS clients"
    busy = latency_row(a_phase(0.81, 0.1))
    assert "generator busy: the figure may be the generator's" in busy
    assert "machine shared" not in busy
    assert "machine shared: other processes used 30% of a core" in latency_row(a_phase(0.5, 0.3))
