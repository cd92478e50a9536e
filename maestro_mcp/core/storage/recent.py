"""What this process committed to the event log lately, for its own feed: the feed
reads its process's commits from memory rather than asking the database for what it
just wrote (both backends' log readers; docs/storage.md).

A reader takes a run from memory only where it starts right after what the feed read,
and still reads from the table whatever follows it there (another process's or
instance's commits), so the log is read in seq order as before. A store forgets
everything (``clear``) when the database may no longer be the one the runs came from:
its history changed (a restore), or it went away. A backup restored in place keeps
the database and its epoch and uses seqs again: SQLite's reader checks that each run
it takes is still in the log as remembered (``runs_after``), and forgets everything
when one is not. PostgreSQL's reader does not check (a statement there is the round
trip the memory saves): a backup restored in place into the same PostgreSQL database
while an instance's feed is behind its own commits could be served a dead run.
"""

import threading
from collections import deque
from typing import NamedTuple

from ..events import StoredEvent

# This process's newest transactions the feed reads from memory: it reads each at
# once, so a few suffice; older ones are read from the table.
RECENT_COMMITS = 64
RECENT_BYTES = 4 * 1024 * 1024


class Rest(NamedTuple):
    """What a read still wants from the table after the events memory gave it."""

    after: int
    limit: int
    max_bytes: int | None


def rest_of_read(found: list[StoredEvent], limit: int, max_bytes: int | None) -> Rest | None:
    """What a read of ``limit`` events and ``max_bytes`` of payload still wants from the
    table after ``found`` (what memory gave it, not empty), or None when ``found`` fills
    it. Whether the table has anything after ``found`` is the reader's to ask."""
    size = sum(len(event.payload) for event in found)
    if len(found) >= limit or (max_bytes is not None and size >= max_bytes):
        return None
    return Rest(found[-1].seq, limit - len(found), None if max_bytes is None else max_bytes - size)


class RecentCommits:
    """The events of this process's newest transactions, as committed, so that the
    feed reads them from memory instead of asking the database for what it just wrote.

    Seqs are the database's, so a run of them starting at the seq the feed wants next
    is exactly the log's next part, whatever other processes or instances commit;
    anything else (another's transaction in between, a run forgotten already) is read
    from the table.
    """

    def __init__(self, size: int = RECENT_COMMITS, max_bytes: int = RECENT_BYTES) -> None:
        self._lock = threading.Lock()
        self._size = size
        self._max_bytes = max_bytes
        self._runs: deque[tuple[list[StoredEvent], int]] = deque()  # (events, bytes)
        self._by_first: dict[int, list[StoredEvent]] = {}
        self._bytes = 0
        # Bumped by clear(): a transaction that began before it (on the database that
        # went away) is not remembered when it ends.
        self.generation = 0

    def add(self, events: list[StoredEvent], generation: int) -> None:
        """Remember one committed transaction's events (consecutive seqs), forgetting
        the oldest past ``size`` transactions or ``max_bytes`` of payload; not if
        everything was forgotten since ``generation`` was read (its transaction began)."""
        if not events or not self._size:
            return
        size = sum(len(e.payload) for e in events)
        with self._lock:
            if generation != self.generation:
                return
            self._runs.append((events, size))
            self._by_first[events[0].seq] = events
            self._bytes += size
            while len(self._runs) > self._size or self._bytes > self._max_bytes:
                forgotten, forgotten_size = self._runs.popleft()
                if self._by_first.get(forgotten[0].seq) is forgotten:
                    del self._by_first[forgotten[0].seq]
                self._bytes -= forgotten_size

    def clear(self) -> None:
        """Forget everything: the database may no longer be the one these came from
        (it went away; its history changed)."""
        with self._lock:
            self._runs.clear()
            self._by_first.clear()
            self._bytes = 0
            self.generation += 1

    def after(self, after: int, limit: int, max_bytes: int | None) -> list[StoredEvent]:
        """The events right after ``after`` that are remembered (maybe none), within
        ``limit`` events and, past the first, ``max_bytes`` of payload."""
        return [event for run in self.runs_after(after, limit, max_bytes) for event in run]

    def runs_after(self, after: int, limit: int, max_bytes: int | None) -> list[list[StoredEvent]]:
        """``after``'s events as the transactions that committed them (the last one
        maybe cut short by the bounds). A transaction is in the log whole or not at all
        (but for pruning, which only takes the oldest events): a reader that finds one
        of its events there as remembered knows the others belong to the log's history
        (a backup restored in place rewinds the log, and its seqs are used again)."""
        runs: list[list[StoredEvent]] = []
        taken = size = 0
        with self._lock:
            while taken < limit:
                run = self._by_first.get(after + 1)
                if run is None:
                    break
                for n, event in enumerate(run, 1):
                    taken += 1
                    size += len(event.payload)
                    if taken >= limit or (max_bytes is not None and size >= max_bytes):
                        runs.append(run[:n])
                        return runs
                runs.append(run)
                after = run[-1].seq
        return runs
