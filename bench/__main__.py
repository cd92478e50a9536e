"""Run the benchmark suite and print (and record) the table.

    python -m bench                # the full suite, under a minute; updates docs/performance.md
    python -m bench --quick        # a smoke run with tiny numbers (the test suite runs this)
    python -m bench --db postgresql  # the same on PostgreSQL: 1 and 2 instances, the ceiling
    python -m bench --board        # the web board in Chromium: 1,000 tasks, 200 events/s (≈ 1 min)
    python -m bench --board --profile  # where the board's time goes (Chromium traces)
    python -m bench --fanout       # 1,000 / 5,000 / 10,000 live clients, and the floor (≈ 3 min)
    python -m bench --fanout --db postgresql  # the same on PostgreSQL, then over 2 instances

The server runs pinned to core 0, this load generator to core 1 (when there are two);
--fanout's clients live in subscriber processes on the cores the server does not use
(bench/fanout.py).
"""

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
from mcp import Client

from maestro_mcp.core.models import TaskCreate, TaskPatch
from maestro_mcp.core.service import Service
from maestro_mcp.core.storage import Durability
from maestro_mcp.core.storage.location import open_store
from tests.support.core import write_elsewhere
from tests.support.mcp import MCP_ACCEPT
from tests.support.servers import stdio_server

from . import bigdb, board, board_profile, ceiling, depth, fanout, load, postgres, proc, reference
from .report import Row, fmt, machine, record, table


@dataclass(frozen=True)
class Size:
    writes: int
    clients_small: int
    clients_large: int
    clients_idle: int
    reach_writes_idle: int
    mcp_calls: int
    replay_events: int
    projects: int
    sqlite_commits: int


FULL = Size(1000, 10, 100, 1000, 200, 200, 20_000, 100, 2000)
QUICK = Size(20, 2, 4, 20, 5, 5, 200, 2, 50)


async def maestro_phases(size: Size, workdir: Path, rows: list[Row], refs: dict[str, Any]) -> None:
    server = proc.start_server(workdir / "maestro.db")
    try:
        base = server.url
        project, seeded = await load.make_project(base, tasks=50)
        cpu = server.cpu_seconds

        async def run(name: str, clients: int, in_flight: int, **kw: Any) -> load.PhaseResult:
            return await load.phase(
                base, name=name, project_id=project, clients=clients, writes=size.writes,
                in_flight=in_flight, cpu_seconds=cpu, **kw,
            )  # fmt: skip

        creates = await run("c1", size.clients_small, 1)
        small8 = await run("u8", size.clients_small, 8, update_ids=seeded)
        large8 = await run("l8", size.clients_large, 8, update_ids=seeded)
        sse8 = await run("s8", size.clients_small, 8, update_ids=seeded, transport="sse")
        ref10 = refs["broadcast_small_8"]
        ref100 = refs["broadcast_large_8"]
        for result, clients, ref, target in (
            (creates, size.clients_small, refs["broadcast_small_1"], ""),
            (small8, size.clients_small, ref10, "p50 ≤ 5 ms, p99 ≤ 25 ms"),
            (large8, size.clients_large, ref100, "p99 ≤ 40 ms"),
        ):
            rows.append(
                Row(
                    f"write→all {clients} WS clients, {result.name[1:]} in flight "
                    f"({'creates' if result.name == 'c1' else 'updates'})",
                    f"p50 {fmt(result.reach['p50'])} / p99 {fmt(result.reach['p99'])} / "
                    f"max {fmt(result.reach['max'])} ms",
                    target,
                    f"bare relay p50 {fmt(ref['p50'])} / p99 {fmt(ref['p99'])} ms",
                    f"p50 x{result.reach['p50'] / ref['p50']:.1f}",
                )
            )
            rows.append(
                Row(
                    f"durable writes/s, {clients} clients, {result.name[1:]} in flight",
                    f"{fmt(result.writes_per_s)} (REST p50 {fmt(result.rest['p50'])} ms, "
                    f"server CPU {result.server_cpu:.0%}, lost {result.lost})",
                    "≥ 2,500" if result is small8 else ("≥ 1,200" if result is large8 else ""),
                    f"bare SQLite {fmt(refs['sqlite_normal'])} commits/s",
                    f"x{result.writes_per_s / refs['sqlite_normal']:.2f}",
                )
            )
        naive_rows(rows, size, Durability.NORMAL, refs["naive"], {"c1": creates, "u8": small8})
        rows.append(
            Row(
                f"write→all {size.clients_small} SSE clients, 8 in flight",
                f"p50 {fmt(sse8.reach['p50'])} / p99 {fmt(sse8.reach['p99'])} ms, "
                f"{fmt(sse8.writes_per_s)} writes/s",
            )
        )

        # MCP tool calls that update a task, over streamable HTTP and stdio.
        http_ms = await mcp_latency(Client(base + "/mcp"), seeded[0], size.mcp_calls)
        stdio = stdio_server(workdir / "maestro.db")
        stdio_ms = await mcp_latency(Client(stdio), seeded[1], size.mcp_calls)
        rows.append(Row("MCP update_task, streamable HTTP", f"p50 {fmt(http_ms)} ms", "p50 ≤ 5 ms"))
        rows.append(Row("MCP update_task, stdio", f"p50 {fmt(stdio_ms)} ms"))

        # Replay to a reconnecting client.
        # In a thread: it runs a core of its own, as another process would.
        await asyncio.to_thread(fill, workdir / "maestro.db", project, size.replay_events)
        events, seconds = await load.replay_rate(base, 0)
        rows.append(
            Row(
                "reconnect replay",
                f"{fmt(events / seconds)} events/s ({events:,} events)",
                "≥ 20,000",
            )
        )

        # Idle connections: memory, then a write reaching all of them.
        before = server.rss_mb()
        sockets = await load.idle_connections(base, size.clients_idle)
        idle_rss = server.rss_mb()
        for ws in sockets:
            await ws.close()
        crowd = await load.phase(
            base, name="i1", project_id=project, clients=size.clients_idle,
            writes=size.reach_writes_idle, in_flight=1, update_ids=seeded, cpu_seconds=cpu,
        )  # fmt: skip
        rows.append(
            Row(
                f"{size.clients_idle:,} connected WS clients",
                f"RSS {fmt(idle_rss)} MB (was {fmt(before)} MB); write→all p50 "
                f"{fmt(crowd.reach['p50'])} / p99 {fmt(crowd.reach['p99'])} ms",
                "RSS ≤ 200 MB; p99 ≤ 150 ms",
            )
        )
        rows.append(Row("server peak RSS over the run", f"{fmt(server.peak_rss_mb())} MB"))
    finally:
        server.stop()

    full = proc.start_server(workdir / "full.db", durability=Durability.FULL.value)
    try:
        durable = await naive_phases(full, size)
        rows.append(
            Row(
                f"writes/s with --durability full, {size.clients_small} clients, 8 in flight",
                f"{fmt(durable['u8'].writes_per_s)} "
                f"(write→all p50 {fmt(durable['u8'].reach['p50'])} ms)",
                "",
                f"bare SQLite FULL {fmt(refs['sqlite_full'])} commits/s",
                f"x{durable['u8'].writes_per_s / refs['sqlite_full']:.2f}",
            )
        )
        naive_rows(rows, size, Durability.FULL, refs["naive_full"], durable)
    finally:
        full.stop()


async def mcp_latency(client: Client, task_id: str, calls: int) -> float:
    latencies = []
    async with client:
        for n in range(calls):
            began = time.perf_counter()
            result = await client.call_tool("update_task", {"taskId": task_id, "title": f"mcp {n}"})
            latencies.append(time.perf_counter() - began)
            assert not result.is_error, result.content
    return statistics.median(latencies) * 1000


def fill(db_path: Path, project_id: str, events: int) -> None:
    """Many events written by another process (a core of its own on the same file), in
    one transaction: the replay phase measures reading them, not how they were written."""

    def updates(service: Service) -> None:
        task = service.create_task(TaskCreate(project_id=project_id, title="filler")).value
        for n in range(events - 1):
            service.update_task(task.id, TaskPatch(title=f"filler {n}"))

    write_elsewhere(db_path, updates)


async def first_mcp_answer(http: httpx.AsyncClient) -> float:
    """Seconds until the server answers an MCP ``initialize``."""
    began = time.perf_counter()
    response = await http.post("/mcp", headers=MCP_ACCEPT, json=proc.MCP_INITIALIZE)
    assert response.status_code == 200, response.text
    return time.perf_counter() - began


async def big_database(size: Size, workdir: Path, rows: list[Row]) -> None:
    path = workdir / "big.db"
    project = await asyncio.to_thread(bigdb.build, path, size.projects, 1000)
    # The start is what is measured: not waiting for the MCP server to answer.
    await measure_start(proc.start_server(path, steady=False), project, size, rows)


def deep_chains(size: Size, workdir: Path, rows: list[Row]) -> None:
    """Walks over parent links and dependencies at depth 5,000 against 625 (bench/depth.py)."""
    chain = depth.DEPTH if size is FULL else 80
    times = depth.measure(workdir / "deep.db", depth=chain)
    for walk, (shallow, deep) in times.items():
        rows.append(
            Row(
                f"{walk}, {chain:,} deep (vs {chain // 8:,})",
                fmt(deep * 1000, " ms"),
                "linear: ≤ 24 x (8 x is linear)",
                fmt(shallow * 1000, " ms"),
                f"{deep / shallow:.1f} x" if shallow else "n/a",
            )
        )


async def measure_start(
    server: proc.Process, project: str, size: Size, rows: list[Row], where: str = ""
) -> None:
    """Rows for a server just started on a big database: how long it took to listen,
    then to answer MCP, and how fast it lists one 1,000-task project. Stops it."""
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
            # The MCP server loads after the server listens (http_api/mcp_mount.py): this
            # first request waits for it, and the list below is measured once it is done.
            mcp_ready = server.started_in + await first_mcp_answer(http)
            latencies = []
            for _ in range(20):
                began = time.perf_counter()
                response = await http.get("/api/tasks", params={"projectId": project})
                latencies.append(time.perf_counter() - began)
                assert len(response.json()) == 1000
        rows.append(
            Row(
                f"{size.projects * 1000:,} tasks{where}: server start → listening",
                f"{fmt(server.started_in * 1000)} ms",
                "≤ 0.5 s",
            )
        )
        rows.append(
            Row(
                f"{size.projects * 1000:,} tasks{where}: server start → first MCP answer",
                f"{fmt(mcp_ready * 1000)} ms",
            )
        )
        rows.append(
            Row(
                f"list a 1,000-task project{where}",
                f"p50 {fmt(statistics.median(latencies) * 1000)} ms",
                "≤ 50 ms",
            )
        )
    finally:
        server.stop()


async def references(size: Size, workdir: Path) -> dict[str, Any]:
    refs: dict[str, Any] = {
        "sqlite_normal": reference.sqlite_commits(workdir / "ref.db", size.sqlite_commits),
        "sqlite_full": reference.sqlite_commits(
            workdir / "ref-full.db", size.sqlite_commits, "FULL"
        ),
    }
    refs.update(await relay_references(size))
    refs["naive"] = await naive_reference(size, workdir, Durability.NORMAL)
    refs["naive_full"] = await naive_reference(size, workdir, Durability.FULL)
    return refs


async def naive_reference(
    size: Size, workdir: Path, durability: Durability
) -> dict[str, load.PhaseResult]:
    """The naive server (bench/naive_server.py), making the promise of Maestro's
    ``durability``, under the load Maestro gets (``naive_phases``)."""
    naive = proc.start_pinned(
        "bench.naive_server",
        str(workdir / f"naive-{durability.value}.db"),
        "0",
        durability.value.upper(),  # its synchronous pragma
    )
    try:
        return await naive_phases(naive, size)
    finally:
        naive.stop()


async def naive_phases(server: proc.Process, size: Size) -> dict[str, load.PhaseResult]:
    """The phases Maestro and the naive server are compared on: 1 in flight (creates)
    and 8 in flight (updates), with the small number of clients."""
    project, seeded = await load.make_project(server.url, tasks=50)
    found = {}
    for name, in_flight, update_ids in (("c1", 1, None), ("u8", 8, seeded)):
        found[name] = await load.phase(
            server.url, name=name, project_id=project, clients=size.clients_small,
            writes=size.writes, in_flight=in_flight, update_ids=update_ids,
            cpu_seconds=server.cpu_seconds,
        )  # fmt: skip
    return found


def naive_rows(
    rows: list[Row],
    size: Size,
    durability: Durability,
    naive: dict[str, load.PhaseResult],
    maestro: dict[str, load.PhaseResult],
) -> None:
    """Maestro against the naive server making the same promise, phase by phase. The
    target (issue #16: at 8 in flight, ≥ 1.2 x its durable writes/s with write→all p50
    ≤ 1.0 x its p50) is on writes that survive a power loss: an fsync per COMMIT, which
    group commit shares and the naive server pays each time (docs/performance.md)."""
    durable = durability is Durability.FULL
    for key, label in (("c1", "1 in flight (creates)"), ("u8", "8 in flight (updates)")):
        ours, theirs = maestro[key], naive[key]
        eight = durable and key == "u8"
        rows.append(
            Row(
                f"writes/s against the naive server, --durability {durability.value}, "
                f"{size.clients_small} clients, {label}",
                f"Maestro {fmt(ours.writes_per_s)} / naive {fmt(theirs.writes_per_s)} "
                f"(server CPU {ours.server_cpu:.0%} / {theirs.server_cpu:.0%}, "
                f"naive lost {theirs.lost})",
                "≥ 1.2 x" if eight else "",
                "naive: Starlette + SQLite, a commit per write",
                f"x{ours.writes_per_s / theirs.writes_per_s:.2f}",
            )
        )
        rows.append(
            Row(
                f"write→all p50 against the naive server, --durability {durability.value}, "
                f"{size.clients_small} clients, {label}",
                f"Maestro {fmt(ours.reach['p50'])} / naive {fmt(theirs.reach['p50'])} ms "
                f"(naive p99 {fmt(theirs.reach['p99'])} ms)",
                "≤ 1.0 x" if eight else "",
                "naive: Starlette + SQLite, a commit per write",
                f"x{ours.reach['p50'] / theirs.reach['p50']:.2f}",
            )
        )


async def relay_references(size: Size) -> dict[str, Any]:
    """The bare WebSocket relay (bench/broadcast_server.py): what fan-out costs at least."""
    refs: dict[str, Any] = {}
    relay = proc.start_pinned("bench.broadcast_server", "0")
    try:
        url = relay.url.replace("http://", "ws://") + "/"
        refs["broadcast_small_1"] = await reference.bare_broadcast(
            url, size.clients_small, size.writes, 1
        )
        refs["broadcast_small_8"] = await reference.bare_broadcast(
            url, size.clients_small, size.writes, 8
        )
        refs["broadcast_large_8"] = await reference.bare_broadcast(
            url, size.clients_large, size.writes, 8
        )
    finally:
        relay.stop()
    return refs


def run(work: Coroutine[Any, Any, str]) -> str:
    """On uvloop where it installs (as the server does): the load generator has one
    core to drive and watch up to 1,000 connections, and must not be the limit."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(work)
    return uvloop.run(work)


async def postgres_main(size: Size) -> str:
    """The PostgreSQL runs (bench/postgres.py), with references measured in this run."""
    proc.pin_self(proc.LOAD_CORE)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, postgres.durable_cluster() as cluster:
        workdir = Path(tmp)
        relay = await relay_references(size)
        bare_url = postgres.new_database(cluster, "bare")
        bare_1 = await asyncio.to_thread(postgres.bare_commits, bare_url, size.sqlite_commits)
        bare_8 = await asyncio.to_thread(postgres.bare_commits, bare_url, size.sqlite_commits, 8)
        found = await postgres.phases(cluster, size, size.clients_small, size.writes)
        ref8 = relay["broadcast_small_8"]
        for key, label, target in (
            ("c1", "1 instance, 1 in flight (creates)", ""),
            ("u8", "1 instance, 8 in flight (updates)", "p50 ≤ 5 ms, p99 ≤ 25 ms"),
            (
                "two",
                "2 instances, clients and writes split, 8 in flight",
                "p99 ≤ 30 ms, none missed",
            ),
        ):
            result = found[key]
            rows.append(
                Row(
                    f"write→all {size.clients_small} WS clients, {label}",
                    f"p50 {fmt(result.reach['p50'])} / p99 {fmt(result.reach['p99'])} / "
                    f"max {fmt(result.reach['max'])} ms, missed {result.lost}",
                    target,
                    f"bare relay p50 {fmt(ref8['p50'])} / p99 {fmt(ref8['p99'])} ms",
                    f"p50 x{result.reach['p50'] / ref8['p50']:.1f}",
                )
            )
            rows.append(
                Row(
                    f"durable writes/s, {size.clients_small} clients, {label}",
                    f"{fmt(result.writes_per_s)} (REST p50 {fmt(result.rest['p50'])} ms, "
                    f"Maestro CPU {result.server_cpu:.0%})",
                    "≥ 1,500" if key == "u8" else "",
                    f"bare PostgreSQL {fmt(bare_1)} commits/s (8 connections: {fmt(bare_8)})",
                    f"x{result.writes_per_s / bare_1:.2f}",
                )
            )
        sse = found["s8"]
        rows.append(
            Row(
                f"write→all {size.clients_small} SSE clients, 1 instance, 8 in flight",
                f"p50 {fmt(sse.reach['p50'])} / p99 {fmt(sse.reach['p99'])} ms, "
                f"{fmt(sse.writes_per_s)} writes/s",
            )
        )
        ceiling_url = postgres.new_database(cluster, "ceiling")
        pg_ceiling = await asyncio.to_thread(postgres.commit_ceiling, ceiling_url, size.writes)
        sqlite_store = open_store(workdir / "ceiling.db")
        sqlite_store.migrate()
        try:
            sqlite_ceiling = await asyncio.to_thread(
                ceiling.writes_per_second, sqlite_store, size.writes
            )
        finally:
            sqlite_store.close()
        rows.append(
            Row(
                "commit ceiling, one writer, in process (writes/s at batch size "
                + ", ".join(str(b) for b in pg_ceiling)
                + ")",
                "PostgreSQL " + " / ".join(fmt(v) for v in pg_ceiling.values()),
                "",
                "SQLite " + " / ".join(fmt(v) for v in sqlite_ceiling.values()),
                f"x{pg_ceiling[max(pg_ceiling)] / pg_ceiling[min(pg_ceiling)]:.1f} from "
                f"batch {min(pg_ceiling)} to {max(pg_ceiling)}",
            )
        )
        big_url = postgres.new_database(cluster, "big")
        project = await asyncio.to_thread(bigdb.build_postgres, big_url, size.projects, 1000)
        server = proc.start_server_url(big_url, steady=False)
        await measure_start(server, project, size, rows, where=" on PostgreSQL")
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (
        f"Measured {stamp} on {machine()}, PostgreSQL with fsync on; "
        f"{size.writes} writes per phase.\n\n" + table(rows)
    )


async def board_main(size: board.BoardSize) -> str:
    """The web board in Chromium (bench/board.py): first view and 200 events/s. This
    process pins itself once the browser runs: Chromium's processes are not pinned."""
    with tempfile.TemporaryDirectory() as tmp:
        measured = await board.measure(size, Path(tmp))
    return board.report(measured, table(board.rows(measured)))


async def board_profile_main(size: board.BoardSize) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        return await board_profile.run(size, Path(tmp))


def fanout_run(args: argparse.Namespace) -> tuple[str, str]:
    """``--fanout`` (bench/fanout.py): its output and the block it is recorded in."""
    size = fanout.QUICK if args.quick else fanout.FULL
    output = run(fanout.run(size, args.db, args.workers))
    return output, "fanout" if args.db == "sqlite" else "fanout-postgresql"


async def main(size: Size) -> str:
    proc.pin_self(proc.LOAD_CORE)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        refs = await references(size, workdir)
        await maestro_phases(size, workdir, rows, refs)
        await big_database(size, workdir, rows)
        deep_chains(size, workdir, rows)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return f"Measured {stamp} on {machine()}; {size.writes} writes per phase.\n\n" + table(rows)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="tiny numbers: a smoke run")
    parser.add_argument(
        "--no-record", action="store_true", help="do not update docs/performance.md"
    )
    parser.add_argument("--json", dest="json_out", help="also write the rows as JSON here")
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="the store to measure (postgresql: a throwaway cluster with fsync on)",
    )
    parser.add_argument(
        "--board",
        action="store_true",
        help="measure the web board in Chromium instead (bench/board.py; on SQLite)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="with --board: where the page's time goes (bench/board_profile.py); records nothing",
    )
    parser.add_argument(
        "--fanout",
        action="store_true",
        help="measure fan-out to 1,000-10,000 live clients instead (bench/fanout.py)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="with --fanout: subscriber processes (default: one per core the server leaves)",
    )
    args = parser.parse_args()
    if args.fanout and (args.board or args.profile):
        parser.error("--fanout is a run of its own: leave out --board and --profile")
    if args.workers is not None and (not args.fanout or args.workers < 1):
        parser.error("--workers is for --fanout, and at least 1")
    if args.board and args.db != "sqlite":
        parser.error("--board measures the page, on SQLite: leave out --db")
    if args.profile and not args.board:
        parser.error("--profile profiles the board: add --board")
    if args.profile:
        print(run(board_profile_main(board.QUICK if args.quick else board.FULL)))
        raise SystemExit(0)
    if args.fanout:
        output, block = fanout_run(args)
    elif args.board:
        output = run(board_main(board.QUICK if args.quick else board.FULL))
        block = "board"
    else:
        size = QUICK if args.quick else FULL
        output = run(postgres_main(size) if args.db == "postgresql" else main(size))
        block = args.db
    print(output)
    if not args.quick and not args.no_record:
        record(output, block)
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(output))
