"""A subscriber worker of the fan-out benchmark (bench/subscribers.py): its tally of
markers per client, and its connect bounded by the time it is given."""

import asyncio
import re
import sys

import pytest

from bench import fanout
from bench.subscribers import Tally

pytestmark = pytest.mark.anyio


def event(marker: str) -> bytes:
    return f'{{"seq":4,"event":"task:updated","data":{{"title":"m{marker}"}}}}'.encode()


class Reports:
    def __init__(self) -> None:
        self.got: list[tuple[bytes, float]] = []

    def __call__(self, marker: bytes, at: float) -> None:
        self.got.append((marker, at))

    @property
    def markers(self) -> list[bytes]:
        return [marker for marker, _ in self.got]


def a_tally(clients: int) -> tuple[Tally, Reports, list[int]]:
    reports = Reports()
    tally = Tally(reports)
    return tally, reports, [tally.join() for _ in range(clients)]


def test_a_marker_is_reported_once_every_client_has_it() -> None:
    tally, reports, (a, b) = a_tally(2)
    tally.message(a, event("w-1"))
    assert reports.got == []
    tally.message(b, event("w-1"))
    assert reports.markers == [b"w-1"]
    tally.message(b, event("w-1"))  # a late duplicate: already reported
    assert reports.markers == [b"w-1"]


def test_a_one_client_worker_reports_a_marker_once_however_often_it_comes() -> None:
    tally, reports, (a,) = a_tally(1)
    tally.message(a, event("w-1"))
    tally.message(a, event("w-1"))
    assert reports.markers == [b"w-1"]


def test_a_duplicate_delivery_does_not_stand_in_for_another_client() -> None:
    tally, reports, (a, b) = a_tally(2)
    tally.message(a, event("w-1"))
    tally.message(a, event("w-1"))  # client A twice (a replayed event), B not yet
    assert reports.got == []
    tally.message(b, event("w-1"))
    assert reports.markers == [b"w-1"]


def test_a_client_cut_off_is_not_waited_for() -> None:
    tally, reports, (a, b, c) = a_tally(3)
    tally.message(a, event("w-1"))
    tally.message(b, event("w-1"))
    tally.leave(c)  # cut off: w-1 reached every client still there
    assert reports.markers == [b"w-1"]
    tally.message(a, event("w-2"))
    tally.message(b, event("w-2"))  # and every later marker reaches the two left
    assert reports.markers == [b"w-1", b"w-2"]


def test_the_time_reported_is_when_the_last_client_got_it_not_when_one_left() -> None:
    tally, reports, (a, b) = a_tally(2)
    tally.message(a, event("w-1"))
    at = tally.seen[b"w-1"][1]
    tally.leave(b)
    assert reports.got == [(b"w-1", at)]


def test_a_new_phase_forgets_the_markers_of_the_last() -> None:
    tally, reports, (a, b) = a_tally(2)
    tally.message(a, event("w-1"))
    tally.message(a, event("w-2"))
    tally.message(b, event("w-2"))
    tally.phase()
    tally.message(b, event("w-1"))  # late news of a marker of the last phase
    assert reports.markers == [b"w-2"]
    assert tally.seen.keys() == {b"w-1"}  # counted afresh, not completed by A's old copy


async def test_a_connect_past_its_time_is_answered_by_the_worker_which_stays_usable() -> None:
    accepted: list[asyncio.StreamWriter] = []

    def accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # and never answer

    silent = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.subscribers",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=fanout.ROOT,
    )  # fmt: skip
    worker = fanout.Worker(process, 0)
    try:
        command = {"op": "connect", "urls": [f"ws://127.0.0.1:{port}/ws"], "count": 3}
        with pytest.raises(fanout.PhaseError, match=re.escape("0 of 3 clients ready within 0.5 s")):
            await worker.ask({**command, "seconds": 0.5}, 0.5 + fanout.ASK_TIMEOUT)
        assert await worker.ask({"op": "close"}) == {"closed": 0, "id": 2}
        assert (await worker.ask({"op": "phase"}))["started"]
    finally:
        await worker.stop()
        for writer in accepted:
            writer.close()
        silent.close()
        await silent.wait_closed()
