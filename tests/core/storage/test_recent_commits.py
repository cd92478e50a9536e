"""``RecentCommits``: the feed's memory of its process's own commits (both stores)."""

from maestro_mcp.core.events import StoredEvent
from maestro_mcp.core.storage.recent import RecentCommits, Rest, rest_of_read


def run(first: int, count: int, size: int = 10) -> list[StoredEvent]:
    return [StoredEvent(seq, "t", None, "x" * size) for seq in range(first, first + count)]


def seqs(events: list[StoredEvent]) -> list[int]:
    return [e.seq for e in events]


def test_runs_that_follow_each_other_are_read_as_one() -> None:
    recent = RecentCommits()
    recent.add(run(1, 2), recent.generation)
    recent.add(run(3, 2), recent.generation)
    recent.add(run(7, 1), recent.generation)  # 5 and 6 were another instance's
    assert seqs(recent.after(0, 100, None)) == [1, 2, 3, 4]
    assert recent.after(4, 100, None) == []  # the gap is read from the table
    assert recent.after(1, 100, None) == []  # not the start of a run
    assert seqs(recent.after(6, 100, None)) == [7]


def test_a_read_stops_at_its_limit_and_its_bytes() -> None:
    recent = RecentCommits()
    recent.add(run(1, 5, size=10), recent.generation)
    assert seqs(recent.after(0, 3, None)) == [1, 2, 3]
    assert seqs(recent.after(0, 100, 25)) == [1, 2, 3]  # the one past the bound ends it
    assert seqs(recent.after(0, 100, 20)) == [1, 2]  # as does the one reaching it
    assert seqs(recent.after(0, 100, 1)) == [1]  # at least one, however large


def test_the_oldest_runs_are_forgotten_past_the_count_or_the_bytes() -> None:
    recent = RecentCommits(size=2, max_bytes=1000)
    recent.add(run(1, 1), recent.generation)
    recent.add(run(2, 1), recent.generation)
    recent.add(run(3, 1), recent.generation)
    assert recent.after(0, 100, None) == []
    assert seqs(recent.after(1, 100, None)) == [2, 3]
    recent.add(run(4, 1, size=995), recent.generation)  # 10 + 995 bytes: the run of 2 and 3 go
    assert recent.after(1, 100, None) == []
    assert seqs(recent.after(3, 100, None)) == [4]


def test_clear_forgets_everything() -> None:
    recent = RecentCommits()
    recent.add(run(1, 3), recent.generation)
    recent.clear()
    assert recent.after(0, 100, None) == []
    recent.add(run(4, 1), recent.generation)
    assert seqs(recent.after(3, 100, None)) == [4]


def test_a_memory_of_size_zero_remembers_nothing() -> None:
    recent = RecentCommits(size=0)
    recent.add(run(1, 1), recent.generation)
    assert recent.after(0, 100, None) == []


def test_runs_after_gives_each_transaction_apart_the_last_one_cut_by_the_bounds() -> None:
    recent = RecentCommits()
    recent.add(run(1, 2), recent.generation)
    recent.add(run(3, 3), recent.generation)
    assert [seqs(r) for r in recent.runs_after(0, 100, None)] == [[1, 2], [3, 4, 5]]
    assert [seqs(r) for r in recent.runs_after(0, 3, None)] == [[1, 2], [3]]
    assert [seqs(r) for r in recent.runs_after(2, 100, 15)] == [[3, 4]]


def test_a_run_replaced_under_its_first_seq_is_not_forgotten_with_the_old_one() -> None:
    recent = RecentCommits(size=2)
    recent.add(run(1, 1, size=1), recent.generation)  # a history then rewound...
    recent.add(run(1, 1, size=2), recent.generation)  # ...and seq 1 used again
    recent.add(run(2, 1), recent.generation)  # the first run goes: not the second's entry
    assert [len(e.payload) for e in recent.after(0, 100, None)] == [2, 10]


def test_the_rest_of_a_read_is_what_memory_left_of_its_bounds() -> None:
    found = run(4, 3, size=10)  # seqs 4-6, 30 bytes
    assert rest_of_read(found, 10, None) == Rest(after=6, limit=7, max_bytes=None)
    assert rest_of_read(found, 10, 100) == Rest(after=6, limit=7, max_bytes=70)
    assert rest_of_read(found, 3, None) is None  # the limit is reached
    assert rest_of_read(found, 10, 30) is None  # the bytes are reached
    assert rest_of_read(found, 10, 25) is None  # and passed
    assert rest_of_read(found, 4, None) == Rest(after=6, limit=1, max_bytes=None)  # one short
    assert rest_of_read(found, 10, 31) == Rest(after=6, limit=7, max_bytes=1)  # a byte short
