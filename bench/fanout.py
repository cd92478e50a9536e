"""The fan-out benchmark (``python -m bench --fanout``, issue #16): what it costs the
server to send one event to 1,000, 5,000 and 10,000 live clients, against the floor
of this machine measured in the same run.

- The server (a fresh ``maestro serve`` per phase) is pinned to core 0. The clients
  live in subscriber worker processes (bench/subscribers.py), one per remaining core
  (``--workers`` to choose), each pinned to its core; this coordinator shares the first
  worker's core. It paces the writes at an absolute schedule (200 at 20/s: write n is
  sent at start + n / 20 s, on whichever of a few keep-alive connections is free), each
  one PATCH that makes one event for every client.
- Per phase: write→last client (from sending the PATCH to the event having reached
  every client: the workers report, per marker, the CLOCK_MONOTONIC time their last
  client got it); the server's CPU per write and per client per event (its CPU time
  over the phase / (writes x clients)); its memory per idle client ((RSS with the
  clients - RSS before) / clients); and the CPU each generator process used, as a
  share of the phase's wall time. A phase where one of them was above 80 % is marked:
  the figure may be the generator's.
- The floor (bench/floor_server.py): a bare uvloop server writing one pre-built frame
  of the same size as Maestro's event to every client, measured with the same workers.
  Its CPU per client per event is the reference; the ratio is Maestro's over it.
- SSE: 10 SSE clients and then 10 WebSocket clients on one server, write→all p50 and
  the ratio (target ≤ 1.2).
- ``--db postgresql``: the same on one instance on a throwaway cluster, then with the
  clients spread over two instances of one database (writes alternate between them).

Every wait is bounded (``FanSize.drain``, the connect timeouts): a phase that cannot
run, or whose events do not all arrive, says so in its row.
"""

import asyncio
import contextlib
import functools
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import load, postgres, proc
from .report import Row, fmt, machine, table
from .stats import summary
from .wire import HttpConnection

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class FanSize:
    clients: tuple[int, ...]  # the WebSocket phases
    floor_clients: tuple[int, ...]  # the floor's phases
    sse_clients: int  # the SSE phase and its WebSocket twin
    writes: int
    rate: float  # writes per second
    drain: float  # seconds after the last write for every event to arrive


FULL = FanSize((1000, 5000, 10_000), (1000, 10_000), 10, 200, 20.0, 60.0)
QUICK = FanSize((20, 40), (20,), 3, 10, 20.0, 15.0)  # 20 is half of 40: the 2-instance row

BUSY = 0.8  # a generator process busier than this may be what a phase measured
SHARED = 0.2  # cores' worth of other processes' CPU past which a phase is marked
WRITERS = 8  # keep-alive connections the writes take turns on
LATE = 0.010  # seconds past its time after which a write counts as sent late
HEADROOM = 100  # connections a server admits beyond its clients: the writers, the start's check
SPARE_DESCRIPTORS = 100  # a process's files besides its clients' sockets
SEED_TASKS = 5  # the tasks the writes update in turn
CONNECT_TIMEOUT = 30.0  # seconds, plus one per 50 clients a worker opens
ASK_TIMEOUT = 30.0  # seconds for a worker to answer anything else


class PhaseError(Exception):
    """A phase that could not run on this machine; its row says why."""


# --- the subscriber workers ---------------------------------------------------------------


class Worker:
    """One ``python -m bench.subscribers`` process, pinned to its core."""

    def __init__(self, process: asyncio.subprocess.Process, core: int) -> None:
        self.process = process
        self.core = core
        self.clients = 0
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.on_marker: Callable[[str, float], None] = lambda marker, at: None
        self.reading = asyncio.ensure_future(self._read())

    @classmethod
    async def start(cls, core: int) -> "Worker":
        process = await asyncio.create_subprocess_exec(
            *proc.pin(str(core)), sys.executable, "-m", "bench.subscribers",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=ROOT,
        )  # fmt: skip
        return cls(process, core)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            message = json.loads(line)
            if "marker" in message:
                self.on_marker(message["marker"], message["at"])
            else:
                self.replies.put_nowait(message)
        self.replies.put_nowait({"error": f"worker on core {self.core} exited"})

    async def ask(self, command: dict[str, Any], seconds: float = ASK_TIMEOUT) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command).encode() + b"\n")
        reply = await asyncio.wait_for(self.replies.get(), seconds)
        if "error" in reply:
            raise PhaseError(f"a subscriber worker: {reply['error']}")
        return reply

    async def stop(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self.reading.cancel()


@dataclass
class Marks:
    """Per marker: when each worker's last client got it; reached once all did."""

    workers: int
    expected: int
    times: dict[str, list[float]] = field(default_factory=dict)
    reached: dict[str, float] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, marker: str, at: float) -> None:
        times = self.times.setdefault(marker, [])
        times.append(at)
        if len(times) == self.workers:
            self.reached[marker] = max(times)
            if len(self.reached) == self.expected:
                self.done.set()


class Generator:
    """The workers, and the clients they hold for the current phase."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, cores: list[int], count: int) -> AsyncIterator["Generator"]:
        workers: list[Worker] = []
        try:
            for n in range(count):
                workers.append(await Worker.start(cores[n % len(cores)]))
            yield cls(workers)
        finally:
            await asyncio.gather(*(worker.stop() for worker in workers))

    def fits(self, clients: int) -> None:
        """Raise ``PhaseError`` if a worker's share of the clients needs more file
        descriptors than a process may have here."""
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        share = -(-clients // len(self.workers))
        for who, need in (("the server", clients), ("each worker", share)):
            if need + SPARE_DESCRIPTORS + HEADROOM > hard:
                raise PhaseError(
                    f"{who} needs {need + SPARE_DESCRIPTORS + HEADROOM:,} file descriptors, "
                    f"the hard limit is {hard:,} (ulimit -Hn)"
                )

    async def connect(self, urls: list[str], clients: int) -> list[Worker]:
        """Spread ``clients`` over the workers; returns those that hold some."""
        self.fits(clients)
        base, extra = divmod(clients, len(self.workers))
        busy = []
        for n, worker in enumerate(self.workers):
            worker.clients = base + (n < extra)
            if worker.clients:
                busy.append(worker)
        await asyncio.gather(
            *(
                w.ask(
                    {"op": "connect", "urls": urls, "count": w.clients},
                    CONNECT_TIMEOUT + w.clients / 50,
                )
                for w in busy
            )
        )
        return busy

    async def close(self) -> None:
        await asyncio.gather(*(w.ask({"op": "close"}) for w in self.workers))


# --- what a phase measures -------------------------------------------------------------------


@dataclass
class Target:
    """The server(s) a phase measures: where clients connect, where writes go."""

    processes: list[proc.Process]
    feed_urls: list[str]
    write: Callable[[int, str], tuple[str, str, dict[str, Any]]]  # n, title → request
    store_pid: int | None = None  # PostgreSQL's postmaster, whose backends serve the phase

    def store_cpu_seconds(self) -> float:
        return tree_cpu_seconds(self.store_pid) if self.store_pid else 0.0

    def cpu_seconds(self) -> float:
        return sum(p.cpu_seconds() for p in self.processes)

    def rss_mb(self) -> float:
        return sum(p.rss_mb() for p in self.processes)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()


@dataclass
class Fan:
    """One phase's figures."""

    clients: int
    writes: int
    reach: dict[str, float]
    lost: int
    cut_off: int  # clients the server closed during the phase
    late: int  # writes sent more than LATE after their time
    wall: float
    server_cpu: float  # seconds over the phase
    store_cpu: float  # PostgreSQL's seconds over the phase (0 on SQLite: in the server)
    rss_before: float  # MB
    rss_after: float
    workers_cpu: list[float]  # each worker's share of the wall time
    coordinator_cpu: float
    others_cpu: float  # cores' worth of CPU that other processes used during the phase
    event_bytes: int

    @property
    def per_client_event_us(self) -> float:
        return self.server_cpu / (self.writes * self.clients) * 1e6

    @property
    def per_write_ms(self) -> float:
        return self.server_cpu / self.writes * 1000

    @property
    def rss_per_client_kb(self) -> float:
        return (self.rss_after - self.rss_before) * 1024 / self.clients

    @property
    def busy(self) -> bool:
        return max([self.coordinator_cpu, *self.workers_cpu]) > BUSY


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its live children (PostgreSQL's postmaster and its
    backends: the store's share of a phase)."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(entry.name) == pid or int(fields[1]) == pid:  # itself, or its child
            total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine has spent on anything but idling, steal
    (another VM's) included: this shared machine's other work shows in the difference
    with what the phase's own processes used."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def measure(
    generator: Generator, target: Target, name: str, clients: int, size: FanSize
) -> Fan:
    """Connect ``clients``, then send ``size.writes`` writes at ``size.rate`` on an
    absolute schedule and wait (at most ``size.drain`` after the last) for each to reach
    every client."""
    rss_before = target.rss_mb()
    try:
        busy = await generator.connect(target.feed_urls, clients)
        rss_after = target.rss_mb()
        marks = Marks(workers=len(busy), expected=size.writes)
        for worker in generator.workers:
            worker.on_marker = marks.add
        pool: asyncio.Queue[HttpConnection] = asyncio.Queue()
        hosts = [p.url.removeprefix("http://").split(":") for p in target.processes]
        for n in range(WRITERS):
            host, port = hosts[n % len(hosts)]
            pool.put_nowait(await HttpConnection.open(host, int(port)))
        await asyncio.gather(*(w.ask({"op": "phase"}) for w in generator.workers))

        sent: dict[str, float] = {}
        late = 0
        server_before, mine_before = target.cpu_seconds(), cpu_seconds()
        machine_before, store_before = machine_busy_seconds(), target.store_cpu_seconds()
        start = time.perf_counter()

        async def write(n: int, due: float) -> None:
            nonlocal late
            marker = f"{name}-{n}"
            connection = await pool.get()
            sent[marker] = time.perf_counter()
            late += sent[marker] - due > LATE
            method, path, body = target.write(n, "m" + marker)
            status, answer = await connection.request(method, path, body)
            pool.put_nowait(connection)
            if status >= 300:
                raise PhaseError(f"{method} {path} answered {status}: {answer[:200]!r}")

        writes = []
        for n in range(size.writes):
            due = start + n / size.rate
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            writes.append(asyncio.ensure_future(write(n, due)))
        deadline = time.perf_counter() + size.drain
        await asyncio.wait_for(asyncio.gather(*writes), size.drain)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(marks.done.wait(), max(0.0, deadline - time.perf_counter()))
        wall = time.perf_counter() - start
        server_cpu = target.cpu_seconds() - server_before
        mine = cpu_seconds() - mine_before
        machine = machine_busy_seconds() - machine_before
        store_cpu = target.store_cpu_seconds() - store_before
        while not pool.empty():
            pool.get_nowait().close()
        ends = await asyncio.gather(*(w.ask({"op": "end"}) for w in busy))
    finally:
        await generator.close()
    latencies = [marks.reached[m] - sent[m] for m in marks.reached]
    return Fan(
        clients=clients,
        writes=size.writes,
        reach=summary(latencies),
        lost=size.writes - len(marks.reached),
        cut_off=sum(end["closed"] for end in ends),
        late=late,
        wall=wall,
        server_cpu=server_cpu,
        store_cpu=store_cpu,
        rss_before=rss_before,
        rss_after=rss_after,
        workers_cpu=[end["cpu"] / end["wall"] for end in ends],
        coordinator_cpu=mine / wall,
        others_cpu=(machine - server_cpu - store_cpu - mine - sum(end["cpu"] for end in ends))
        / wall,
        event_bytes=max(end["event_bytes"] for end in ends),
    )


# --- the servers --------------------------------------------------------------------------


@dataclass
class Maestro:
    """How this run starts ``maestro serve``: on SQLite files, or on a PostgreSQL cluster."""

    workdir: Path
    cluster: Any = None  # tests.support.postgres.Cluster, for --db postgresql

    def store_pid(self) -> int | None:
        """The postmaster's pid (the first line of its postmaster.pid), on PostgreSQL."""
        if self.cluster is None:
            return None
        return int((self.cluster.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])

    def start(self, name: str, clients: int, instances: int = 1) -> list[proc.Process]:
        admit = ("--max-connections", str(-(-clients // instances) + HEADROOM))
        if self.cluster is None:
            return [proc.start_server(self.workdir / f"{name}.db", *admit)]
        url = postgres.new_database(self.cluster, name)
        cores = instance_cores(instances)
        return [proc.start_server_url(url, *admit, core=core) for core in cores]


def instance_cores(instances: int) -> list[str]:
    """A core each while the machine leaves one for the generator; else all on core 0."""
    if (os.cpu_count() or 1) > instances:
        return [str(n) for n in range(instances)]
    return [proc.SERVER_CORE] * instances


async def maestro_target(
    maestro: Maestro, name: str, clients: int, transport: str = "ws", instances: int = 1
) -> Target:
    processes = maestro.start(name, clients, instances)
    try:
        project, seeded = await load.make_project(processes[0].url, tasks=SEED_TASKS)
    except BaseException:
        for process in processes:
            process.stop()
        raise
    if transport == "ws":
        urls = [p.url.replace("http://", "ws://") + f"/ws?projectId={project}" for p in processes]
    else:
        urls = [f"{p.url}/api/events?projectId={project}" for p in processes]

    def write(n: int, title: str) -> tuple[str, str, dict[str, Any]]:
        return "PATCH", f"/api/tasks/{seeded[n % len(seeded)]}", {"title": title}

    return Target(processes, urls, write, maestro.store_pid())


def floor_target(payload_bytes: int) -> Target:
    server = proc.start_pinned("bench.floor_server", "0", "--payload-bytes", str(payload_bytes))

    def write(n: int, title: str) -> tuple[str, str, dict[str, Any]]:
        return "POST", "/write", {"title": title}

    return Target([server], [server.url.replace("http://", "ws://") + "/ws"], write)


async def run_phase(
    generator: Generator, start: Callable[[], Any], name: str, clients: int, size: FanSize
) -> "Fan | str":
    """A phase on a server of its own: its figures, or why it could not run."""
    try:
        target = await start()
    except Exception as exc:  # whatever it was, the row says why the phase did not run
        return f"the server did not start: {exc}"
    try:
        return await measure(generator, target, name, clients, size)
    except (PhaseError, TimeoutError, OSError) as exc:
        return str(exc) or type(exc).__name__
    finally:
        target.stop()


# --- the run ------------------------------------------------------------------------------


@dataclass
class Found:
    ws: dict[int, "Fan | str"] = field(default_factory=dict)
    floor: dict[int, "Fan | str"] = field(default_factory=dict)
    sse: "Fan | str" = "not run"
    sse_ws: "Fan | str" = "not run"
    two: dict[int, "Fan | str"] = field(default_factory=dict)


def worker_cores(server_cores: set[int]) -> list[int]:
    available = sorted(os.sched_getaffinity(0))
    return [c for c in available if c not in server_cores] or available


async def run(size: FanSize, db: str = "sqlite", workers: int | None = None) -> str:
    """The whole fan-out run; returns its block (a line saying how, and the table)."""
    two_instances = db == "postgresql"
    servers = {int(c) for c in instance_cores(2 if two_instances else 1)}
    cores = worker_cores(servers)
    os.sched_setaffinity(0, {cores[0]})
    count = workers or len(cores)
    found = Found()
    with tempfile.TemporaryDirectory() as tmp, cluster_for(db) as cluster:
        maestro = Maestro(Path(tmp), cluster)
        async with Generator.start(cores, count) as generator:
            for n in size.clients:
                found.ws[n] = await run_phase(
                    generator, functools.partial(maestro_target, maestro, f"w{n}", n),
                    f"w{n}", n, size,
                )  # fmt: skip
            measured = [f for f in found.ws.values() if isinstance(f, Fan) and f.event_bytes]
            payload = measured[0].event_bytes if measured else 300
            for n in size.floor_clients:

                async def floor() -> Target:
                    return floor_target(payload)

                found.floor[n] = await run_phase(generator, floor, f"f{n}", n, size)
            k = size.sse_clients
            found.sse = await run_phase(
                generator, lambda: maestro_target(maestro, "sse", k, "sse"), "s", k, size
            )
            found.sse_ws = await run_phase(
                generator, lambda: maestro_target(maestro, "ssews", k), "sw", k, size
            )
            if two_instances:
                n = max(size.clients)
                found.two[n] = await run_phase(
                    generator,
                    lambda: maestro_target(maestro, f"two{n}", n, instances=2),
                    f"t{n}",
                    n,
                    size,
                )
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    store = "PostgreSQL (fsync on)" if db == "postgresql" else "SQLite"
    return (
        f"Measured {stamp} on {machine()}, {store}; server on core "
        f"{', '.join(sorted({str(c) for c in servers}))}, {count} subscriber worker(s) on core "
        f"{', '.join(str(cores[n % len(cores)]) for n in range(count))}; {size.writes} writes "
        f"per phase at {size.rate:g}/s, each one event to every client.\n\n"
        + table(rows(found, size))
    )


@contextlib.contextmanager
def cluster_for(db: str) -> Iterator[Any]:
    if db != "postgresql":
        yield None
        return
    with postgres.durable_cluster() as cluster:
        yield cluster


# --- the table ----------------------------------------------------------------------------


def generator_note(fan: Fan) -> str:
    workers = ", ".join(f"{share:.0%}" for share in fan.workers_cpu)
    return (
        f"worker(s) {workers}, coordinator {fan.coordinator_cpu:.0%}; "
        f"other processes {max(0.0, fan.others_cpu):.0%} of a core"
    )


def busy_mark(fan: Fan) -> str:
    marks = []
    if fan.busy:
        marks.append("generator busy: the figure may be the generator's")
    if fan.others_cpu > SHARED:
        marks.append(f"machine shared: other processes used {fan.others_cpu:.0%} of a core")
    return f" ({'; '.join(marks)})" if marks else ""


def reach_text(fan: Fan) -> str:
    text = (
        f"p50 {fmt(fan.reach['p50'])} / p99 {fmt(fan.reach['p99'])} / "
        f"max {fmt(fan.reach['max'])} ms, lost {fan.lost}"
    )
    if fan.cut_off:
        text += f", {fan.cut_off:,} clients cut off"
    if fan.late:
        text += f", {fan.late} writes sent late"
    return text


def nearest_floor(found: Found, clients: int) -> Fan | None:
    floors = {n: f for n, f in found.floor.items() if isinstance(f, Fan)}
    if not floors:
        return None
    return floors[min(floors, key=lambda n: abs(n - clients))]


def ratio(value: float, reference: float, digits: int = 1) -> str:
    """``x value / reference``; n/a when the reference measured nothing (a quick run's CPU
    time can be below the clock's tick)."""
    if not reference or reference != reference:
        return "n/a"
    return f"x{value / reference:.{digits}f}"


def not_run(label: str, why: str) -> Row:
    return Row(label, f"not run: {why}")


def fan_rows(label: str, fan: Fan, floor: Fan | None, target_p99: str, note: str = "") -> list[Row]:
    found = [
        Row(
            f"write→last client, {label}{note}{busy_mark(fan)}",
            reach_text(fan),
            target_p99,
        ),
        Row(
            f"server CPU, {label}",
            f"{fan.per_client_event_us:.1f} µs per client per event "
            f"({fmt(fan.per_write_ms)} ms per write, {fan.server_cpu / fan.wall:.0%} of a core"
            + (f"; PostgreSQL {fan.store_cpu / fan.wall:.0%} of a core" if fan.store_cpu else "")
            + ")",
            "≤ 4 µs per client per event",
            (
                f"floor {floor.per_client_event_us:.1f} µs ({floor.clients:,} clients)"
                if floor
                else ""
            ),
            ratio(fan.per_client_event_us, floor.per_client_event_us) if floor else "",
        ),
        Row(
            f"server memory per idle client, {label}",
            f"{fan.rss_per_client_kb:.1f} KB (RSS {fmt(fan.rss_before)} → {fmt(fan.rss_after)} MB)",
            "≤ 30 KB",
        ),
        Row(f"load generator CPU, {label}", generator_note(fan), "each ≤ 80 %"),
    ]
    return found


def rows(found: Found, size: FanSize) -> list[Row]:
    out: list[Row] = []
    biggest = max(size.clients)
    for n, fan in found.ws.items():
        label = f"{n:,} WS clients"
        if isinstance(fan, str):
            out.append(not_run(f"write→last client, {label}", fan))
            continue
        target = "p99 ≤ 100 ms" if n == biggest else ""
        out += fan_rows(label, fan, nearest_floor(found, n), target)
    for n, fan in found.two.items():
        label = f"{n:,} WS clients over 2 instances of one database"
        cores = instance_cores(2)
        note = ""
        if cores[0] == cores[1]:
            note = " (both instances on core 0: this machine has no core to spare for each)"
        if isinstance(fan, str):
            out.append(not_run(f"write→last client, {label}{note}", fan))
            continue
        out += fan_rows(label, fan, nearest_floor(found, n), "", note)
        half = found.ws.get(n // 2)
        if isinstance(half, Fan):
            out.append(
                Row(
                    f"2 instances with {n:,} clients against 1 with {n // 2:,}",
                    f"p99 {fmt(fan.reach['p99'])} ms",
                    "the same p99",
                    f"1 instance p99 {fmt(half.reach['p99'])} ms",
                    ratio(fan.reach["p99"], half.reach["p99"], 2),
                )
            )
    for n, fan in found.floor.items():
        label = f"floor: bare uvloop server, {n:,} WS clients"
        if isinstance(fan, str):
            out.append(not_run(label, fan))
            continue
        out.append(
            Row(
                label + busy_mark(fan),
                f"{fan.per_client_event_us:.1f} µs of its CPU per client per event "
                f"({fan.server_cpu / fan.wall:.0%} of a core, {fan.event_bytes}-byte events "
                "as Maestro's); write→last client " + reach_text(fan),
                "",
                f"load generator: {generator_note(fan)}",
            )
        )
    sse, ws = found.sse, found.sse_ws
    label = f"write→all {size.sse_clients} SSE clients against {size.sse_clients} WS clients"
    if isinstance(sse, str) or isinstance(ws, str):
        out.append(not_run(label, sse if isinstance(sse, str) else str(ws)))
    else:
        out.append(
            Row(
                label + busy_mark(sse if sse.busy else ws),
                f"SSE {reach_text(sse)}; load generator: {generator_note(sse)}",
                "SSE p50 ≤ 1.2 x WS",
                f"WS {reach_text(ws)}; load generator: {generator_note(ws)}",
                "p50 " + ratio(sse.reach["p50"], ws.reach["p50"], 2),
            )
        )
    return out
