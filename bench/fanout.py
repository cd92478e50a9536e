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
  over the phase / (writes x clients)), the latter split into the kernel's part
  (stime) and the process's own; its memory per idle client ((RSS with the
  clients - RSS before) / clients, KiB); and the CPU each generator process used, as a
  share of the phase's wall time. A phase where one of them was above 80 % is marked:
  the figure may be the generator's. So is one where a core of the generator's was
  above 80 % busy (``/proc/stat``'s cpuN lines: the machine is shared), or a server's
  core was, more than a fifth of a core of it not the server's. When writes went out
  late, write→last client is also given from each write's due time.
- The floor (bench/floor_server.py): a bare uvloop server writing one pre-built frame
  of the same size as Maestro's event to every client, measured with the same workers.
  Its CPU per client per event is the reference; the ratio is Maestro's over it.
- SSE: 10 SSE clients, then 10 WebSocket clients, each on a fresh server, write→all
  p50 and the ratio (target ≤ 1.2).
- ``--db postgresql``: the same on one instance on a throwaway cluster, then with the
  clients spread over two instances of one database (writes alternate between them).
  The cluster starts before this process pins itself: it is not pinned.

Every wait is bounded (``FanSize.drain``, the connect timeouts, ``ASK_TIMEOUT``): a
phase that cannot run, or whose events do not all arrive, says so in its row. A worker
that does not answer in time is killed and out of the run (``Worker``).
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

from . import load, postgres, proc, subscribers
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

BUSY = 0.8  # a generator process or core, or a server's core, busier than this is marked
SHARED = 0.2  # cores' worth of other processes' CPU past which a phase is marked
WRITERS = 8  # keep-alive connections the writes take turns on
LATE = 0.010  # seconds past its time after which a write counts as sent late
HEADROOM = 100  # connections a server admits beyond its clients: the writers, the start's check
SPARE_DESCRIPTORS = 100  # a process's files besides its clients' sockets
SEED_TASKS = 5  # the tasks the writes update in turn
ASK_TIMEOUT = 30.0  # seconds for a worker to answer a command (past a connect's own time)


class PhaseError(Exception):
    """A phase that could not run on this machine; its row says why."""


# --- the subscriber workers ---------------------------------------------------------------


class Worker:
    """One ``python -m bench.subscribers`` process, pinned to its core.

    Each command carries a number its answer repeats: an answer that comes after its
    question timed out is dropped, not taken for the next question's. A worker that did
    not answer in time is killed and out for the rest of the run (its state is unknown:
    clients half open, a phase half started); asking it anything fails at once, saying
    why."""

    def __init__(self, process: asyncio.subprocess.Process, core: int) -> None:
        self.process = process
        self.core = core
        self.clients = 0
        self.asked = 0  # the last command's number
        self.waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.out: str | None = None  # why the worker is out, once it is
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
            elif (answer := self.waiting.pop(message.get("id"), None)) and not answer.done():
                answer.set_result(message)
            # else: the answer to a question given up on (the worker is out by then)
        self.give_up(f"exited (code {await self.process.wait()})")

    def give_up(self, why: str) -> None:
        """Take the worker out of the run: kill it, fail what waits on it."""
        if self.out is None:
            self.out = why
        if self.process.returncode is None:
            self.process.kill()
        for answer in self.waiting.values():
            if not answer.done():
                answer.set_exception(self.error(self.out))
        self.waiting.clear()

    def error(self, why: str) -> PhaseError:
        return PhaseError(f"the subscriber worker on core {self.core} {why}")

    async def ask(self, command: dict[str, Any], seconds: float = ASK_TIMEOUT) -> dict[str, Any]:
        if self.out is not None:
            raise self.error(f"is out of the run: it {self.out}")
        assert self.process.stdin is not None
        self.asked += 1
        number = self.asked
        answer: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiting[number] = answer
        self.process.stdin.write(json.dumps({**command, "id": number}).encode() + b"\n")
        try:
            reply = await asyncio.wait_for(answer, seconds)
        except TimeoutError:
            self.give_up(f"did not answer {command['op']!r} within {seconds:g} s (killed)")
            raise self.error(
                f"did not answer {command['op']!r} within {seconds:g} s: killed, it is out "
                "of the run"
            ) from None
        finally:
            self.waiting.pop(number, None)
        if "error" in reply:
            raise self.error(f"says: {reply['error']}")
        return reply

    async def connect(self, urls: list[str]) -> None:
        """Open this worker's share of the clients. The worker bounds its connect by
        ``connect_seconds`` and answers; waiting ASK_TIMEOUT longer, the coordinator never
        gives up on a connect still in its time."""
        seconds = subscribers.connect_seconds(self.clients)
        command = {"op": "connect", "urls": urls, "count": self.clients, "seconds": seconds}
        await self.ask(command, seconds + ASK_TIMEOUT)

    async def stop(self) -> None:
        if self.process.stdin is not None and self.process.returncode is None:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self.reading.cancel()


@dataclass
class Marks:
    """Per marker of the phase: when each worker's last client got it; reached, at the
    latest of those times, once every worker holding clients reported it. A worker
    counts once per marker, and a marker not of this phase (a late one of an earlier
    phase's) is not counted."""

    workers: int
    markers: frozenset[str]
    times: dict[str, dict[int, float]] = field(default_factory=dict)  # marker → worker → at
    reached: dict[str, float] = field(default_factory=dict)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, worker: int, marker: str, at: float) -> None:
        if marker not in self.markers:
            return
        times = self.times.setdefault(marker, {})
        times.setdefault(worker, at)
        if len(times) == self.workers and marker not in self.reached:
            self.reached[marker] = max(times.values())
            if len(self.reached) == len(self.markers):
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

    def fits(self, clients: int, servers: int = 1) -> None:
        """Raise ``PhaseError`` if a server's or a worker's share of the clients needs more
        file descriptors than a process may have here."""
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        share = -(-clients // len(self.workers))
        per_server = -(-clients // servers)
        who_server = "the server" if servers == 1 else "each server"
        for who, need in ((who_server, per_server), ("each worker", share)):
            if need + SPARE_DESCRIPTORS + HEADROOM > hard:
                raise PhaseError(
                    f"{who} needs {need + SPARE_DESCRIPTORS + HEADROOM:,} file descriptors, "
                    f"the hard limit is {hard:,} (ulimit -Hn)"
                )

    async def connect(self, urls: list[str], clients: int, servers: int = 1) -> list[Worker]:
        """Spread ``clients`` over the workers (and so over ``servers``, the URLs taken in
        turn); returns the workers that hold some."""
        self.fits(clients, servers)
        base, extra = divmod(clients, len(self.workers))
        busy = []
        for n, worker in enumerate(self.workers):
            worker.clients = base + (n < extra)
            if worker.clients:
                busy.append(worker)
        await asyncio.gather(*(w.connect(urls) for w in busy))
        return busy

    async def close(self) -> None:
        """Close every worker's clients. A worker that fails to is out of the run (``ask``),
        which the next phase reports; this one ends with what it measured."""
        await asyncio.gather(
            *(w.ask({"op": "close"}) for w in self.workers if w.out is None),
            return_exceptions=True,
        )


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

    def cpu_reading(self) -> tuple[dict[int, float], float]:
        """The servers' CPU seconds by the core they ran on (all of a pinned server's on
        its core; an unpinned one's spread evenly over the cores it may use: its split
        is not known), and how many of them were in the kernel."""
        seconds: dict[int, float] = {}
        kernel = 0.0
        for process in self.processes:
            cores = os.sched_getaffinity(process.server.pid)
            spent, in_kernel = process.cpu_and_kernel_seconds()
            kernel += in_kernel
            for core in cores:
                seconds[core] = seconds.get(core, 0.0) + spent / len(cores)
        return seconds, kernel

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
    server_kernel_cpu: float  # the part of server_cpu in the kernel (stime)
    store_cpu: float  # PostgreSQL's seconds over the phase (0 on SQLite: in the server)
    rss_before: float  # MiB
    rss_after: float
    workers_cpu: list[float]  # each worker's share of the wall time
    coordinator_cpu: float
    others_cpu: float  # cores' worth of CPU that other processes used during the phase
    event_bytes: int
    reach_due: dict[str, float] | None  # write→last client from each write's due time, if late
    cores_busy: dict[int, float]  # each core's busy share of the phase (/proc/stat cpuN)
    generator_cores: list[int]  # the cores the workers holding clients and the coordinator use
    server_cores: dict[int, float]  # the servers' cores: the share of each the servers used

    @property
    def per_client_event_us(self) -> float:
        # From per_write_ms, so that at 1,000 clients the two print alike.
        return self.per_write_ms * 1000 / self.clients

    @property
    def split_text(self) -> str:
        """The CPU per client per event as the kernel's part and the process's own."""
        # The parts as shown add up to the total as shown.
        total = round(self.per_client_event_us, 1)
        kernel = round(self.server_kernel_cpu / (self.writes * self.clients) * 1e6, 1)
        return f"kernel {kernel:.1f} + user space {total - kernel:.1f}"

    @property
    def per_write_ms(self) -> float:
        return self.server_cpu / self.writes * 1000

    @property
    def rss_per_client_kib(self) -> float:
        return (self.rss_after - self.rss_before) * 1024 / self.clients

    @property
    def busy(self) -> bool:
        return max([self.coordinator_cpu, *self.workers_cpu]) > BUSY

    @property
    def busy_generator_cores(self) -> dict[int, float]:
        """The generator's cores above BUSY, whatever kept them busy: its clients may have
        read their events late."""
        shares = {c: self.cores_busy.get(c, 0.0) for c in self.generator_cores}
        return {c: share for c, share in shares.items() if share > BUSY}

    @property
    def shared_server_cores(self) -> dict[int, float]:
        """The servers' cores that were above BUSY, more than SHARED of a core of it not
        the servers' own: the server waited for its core. Core → the share others took."""
        shared = {}
        for core, mine in self.server_cores.items():
            busy = self.cores_busy.get(core, 0.0)
            if busy > BUSY and busy - mine > SHARED:
                shared[core] = busy - mine
        return shared


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its live children (PostgreSQL's postmaster and its
    backends: the store's share of a phase)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = proc.stat_fields(int(entry.name))
        except OSError:
            continue  # gone meanwhile
        if int(entry.name) == pid or int(fields[1]) == pid:  # itself, or its child
            total += proc.cpu_of(fields)
    return total


def core_ticks() -> dict[int, tuple[int, int]]:
    """Per core (the ``cpuN`` lines of /proc/stat): clock ticks busy (steal included) and
    in all, since boot."""
    ticks = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, _, rest = line.partition(" ")
        if name.startswith("cpu") and name[3:].isdigit():
            fields = [int(v) for v in rest.split()[:8]]
            ticks[int(name[3:])] = (sum(fields) - fields[3] - fields[4], sum(fields))
    return ticks


def core_busy(
    before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]]
) -> dict[int, float]:
    """Each core's busy share between two ``core_ticks``."""
    shares = {}
    for core, (busy, total) in after.items():
        busy_before, total_before = before.get(core, (0, 0))
        elapsed = total - total_before
        shares[core] = (busy - busy_before) / elapsed if elapsed > 0 else 0.0
    return shares


def busy_seconds(before: dict[int, tuple[int, int]], after: dict[int, tuple[int, int]]) -> float:
    """CPU seconds every core of the machine spent on anything but idling between two
    ``core_ticks``, steal (another VM's) included: this shared machine's other work shows
    in the difference with what the phase's own processes used."""
    busy = sum(ticks[0] - before.get(core, (0, 0))[0] for core, ticks in after.items())
    return busy / os.sysconf("SC_CLK_TCK")


async def measure(
    generator: Generator, target: Target, name: str, clients: int, size: FanSize
) -> Fan:
    """Connect ``clients``, then send ``size.writes`` writes at ``size.rate`` on an
    absolute schedule and wait (at most ``size.drain`` after the last) for each to reach
    every client."""
    rss_before = target.rss_mb()
    pool: asyncio.Queue[HttpConnection] = asyncio.Queue()
    writes: list[asyncio.Future[None]] = []
    try:
        busy = await generator.connect(target.feed_urls, clients, len(target.processes))
        rss_after = target.rss_mb()
        markers = [f"{name}-{n}" for n in range(size.writes)]
        marks = Marks(workers=len(busy), markers=frozenset(markers))
        for number, worker in enumerate(generator.workers):
            worker.on_marker = functools.partial(marks.add, number)
        hosts = [p.url.removeprefix("http://").split(":") for p in target.processes]
        for n in range(WRITERS):
            host, port = hosts[n % len(hosts)]
            pool.put_nowait(await HttpConnection.open(host, int(port)))
        await asyncio.gather(*(w.ask({"op": "phase"}) for w in generator.workers))
        generator_cores = set(os.sched_getaffinity(0)).union(
            *(os.sched_getaffinity(w.process.pid) for w in busy)
        )

        due: dict[str, float] = {}
        sent: dict[str, float] = {}
        late = 0
        server_before, kernel_before = target.cpu_reading()
        mine_before, cores_before = subscribers.cpu_seconds(), core_ticks()
        store_before = target.store_cpu_seconds()
        start = time.perf_counter()

        async def write(n: int) -> None:
            nonlocal late
            marker = markers[n]
            connection = await pool.get()
            sent[marker] = time.perf_counter()
            late += sent[marker] - due[marker] > LATE
            method, path, body = target.write(n, "m" + marker)
            status, answer = await connection.request(method, path, body)
            pool.put_nowait(connection)
            if status >= 300:
                raise PhaseError(f"{method} {path} answered {status}: {answer[:200]!r}")

        for n in range(size.writes):
            due[markers[n]] = start + n / size.rate
            if (delay := due[markers[n]] - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            writes.append(asyncio.ensure_future(write(n)))
        deadline = time.perf_counter() + size.drain
        await asyncio.wait_for(asyncio.gather(*writes), size.drain)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(marks.done.wait(), max(0.0, deadline - time.perf_counter()))
        wall = time.perf_counter() - start
        server_after, kernel_after = target.cpu_reading()
        mine = subscribers.cpu_seconds() - mine_before
        cores_after = core_ticks()
        cores = core_busy(cores_before, cores_after)
        machine = busy_seconds(cores_before, cores_after)
        store_cpu = target.store_cpu_seconds() - store_before
        ends = await asyncio.gather(*(w.ask({"op": "end"}) for w in busy))
    finally:
        # However the phase ended: no write of it goes on into the next, no connection stays.
        for task in writes:
            task.cancel()
        await asyncio.gather(*writes, return_exceptions=True)
        while not pool.empty():
            pool.get_nowait().close()
        await generator.close()
    server_cores = {
        core: (server_after[core] - server_before.get(core, 0.0)) / wall for core in server_after
    }
    server_cpu = sum(server_after.values()) - sum(server_before.values())
    reached = list(marks.reached)
    return Fan(
        clients=clients,
        writes=size.writes,
        reach=summary([marks.reached[m] - sent[m] for m in reached]),
        reach_due=summary([marks.reached[m] - due[m] for m in reached]) if late else None,
        lost=size.writes - len(reached),
        cut_off=sum(end["closed"] for end in ends),
        late=late,
        wall=wall,
        server_cpu=server_cpu,
        server_kernel_cpu=kernel_after - kernel_before,
        store_cpu=store_cpu,
        rss_before=rss_before,
        rss_after=rss_after,
        workers_cpu=[end["cpu"] / end["wall"] for end in ends],
        coordinator_cpu=mine / wall,
        others_cpu=(machine - server_cpu - store_cpu - mine - sum(end["cpu"] for end in ends))
        / wall,
        event_bytes=max(end["event_bytes"] for end in ends),
        cores_busy=cores,
        generator_cores=sorted(generator_cores),
        server_cores=server_cores,
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
        started: list[proc.Process] = []
        try:
            for core in instance_cores(instances):
                started.append(proc.start_server_url(url, *admit, core=core))
        except BaseException:
            for process in started:  # a later instance failed: none outlives the phase
                process.stop()
            raise
        return started


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
    count = workers or len(cores)
    found = Found()
    # PostgreSQL's cluster starts before the coordinator pins itself to the first worker's
    # core: it inherits the coordinator's affinity, and is to run where the machine has
    # room (as a database server does), not on a core of the generator's.
    with tempfile.TemporaryDirectory() as tmp, cluster_for(db) as cluster:
        os.sched_setaffinity(0, {cores[0]})
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
        postmaster = maestro.store_pid()
        store = f"PostgreSQL (fsync on) on core {cores_of(postmaster)}" if postmaster else "SQLite"
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (
        f"Measured {stamp} on {machine()}, {store}; server on core "
        f"{', '.join(sorted({str(c) for c in servers}))}, {count} subscriber worker(s) on core "
        f"{', '.join(str(cores[n % len(cores)]) for n in range(count))}; {size.writes} writes "
        f"per phase at {size.rate:g}/s, each one event to every client.\n\n"
        + table(rows(found, size))
    )


def cores_of(pid: int) -> str:
    """The cores a process may run on, as a list (``0, 1``)."""
    return ", ".join(str(c) for c in sorted(os.sched_getaffinity(pid)))


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


def cores_text(shares: dict[int, float]) -> str:
    return ", ".join(f"core {core} {share:.0%}" for core, share in sorted(shares.items()))


def phase_marks(fan: Fan) -> list[str]:
    """What may have made the phase's figures other than the server's alone."""
    marks = []
    if fan.busy:
        marks.append("generator busy: the figure may be the generator's")
    if busy := fan.busy_generator_cores:
        marks.append(f"generator's core busy: {cores_text(busy)}")
    if shared := fan.shared_server_cores:
        marks.append(f"server's core shared: others took {cores_text(shared)}")
    if fan.others_cpu > SHARED:
        marks.append(f"machine shared: other processes used {fan.others_cpu:.0%} of a core")
    return marks


def busy_mark(*phases: tuple[str, Fan]) -> str:
    """The marks of a row's phases, each named by its label when the row has several."""
    marks = []
    for label, fan in phases:
        named = f"{label}: " if len(phases) > 1 else ""
        marks += [named + mark for mark in phase_marks(fan)]
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
        if fan.reach_due is not None:
            text += (
                f" (from their due time: p50 {fmt(fan.reach_due['p50'])} / "
                f"p99 {fmt(fan.reach_due['p99'])} / max {fmt(fan.reach_due['max'])} ms)"
            )
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
            f"write→last client, {label}{note}{busy_mark((label, fan))}",
            reach_text(fan),
            target_p99,
        ),
        Row(
            f"server CPU, {label}",
            f"{fan.per_client_event_us:.1f} µs per client per event ({fan.split_text}; "
            f"{fmt(fan.per_write_ms)} ms per write, {fan.server_cpu / fan.wall:.0%} of a core"
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
            f"{fan.rss_per_client_kib:.1f} KiB "
            f"(RSS {fmt(fan.rss_before)} → {fmt(fan.rss_after)} MiB)",
            f"≤ 30 KB ({30_000 / 1024:.1f} KiB)",
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
                label + busy_mark((label, fan)),
                f"{fan.per_client_event_us:.1f} µs of its CPU per client per event "
                f"({fan.split_text}; {fan.server_cpu / fan.wall:.0%} of a core, "
                f"{fan.event_bytes}-byte events "
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
                label + busy_mark(("SSE phase", sse), ("WS phase", ws)),
                f"SSE {reach_text(sse)}; load generator: {generator_note(sse)}",
                "SSE p50 ≤ 1.2 x WS",
                f"WS {reach_text(ws)}; load generator: {generator_note(ws)}",
                "p50 " + ratio(sse.reach["p50"], ws.reach["p50"], 2),
            )
        )
    return out
