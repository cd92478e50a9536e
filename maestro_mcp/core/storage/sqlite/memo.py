"""What one connection's queries remember within a transaction the store opened
(store.py): each is a shortcut that holds only while no other connection can write,
so it is forgotten when a transaction begins and when it ends.

- ``batch_head``: inside a batch, the log's head as its writes left it
  (``HEAD_UNREAD`` until one appends); None outside a batch, where the head is read.
  The batch holds the write lock, so no other connection appends meanwhile.
- ``tasks_read``: each task row as ``get_task`` read it, with the connection's
  ``total_changes`` then. If nothing changed any row since (the count is the same),
  the row in the database is still that one, and ``save_task`` writes only the
  columns whose value differs from it: a task's upsert rewrote every column and its
  indexes (≈ 14 µs), where an UPDATE of the changed ones takes ≈ 3 µs. Anything else
  (a claim written meanwhile, a task not read first) is saved whole.
- ``appended``: the events the transaction appended, as stored; the store hands them
  to its feed's memory once the transaction committed (recent.py).
"""

from typing import Any

from ...events import StoredEvent

# A batch whose writes appended nothing yet: its head is read from the log.
HEAD_UNREAD = -1


class TransactionMemo:
    __slots__ = ("appended", "batch_head", "tasks_read")

    def __init__(self) -> None:
        self.batch_head: int | None = None
        self.tasks_read: dict[str, tuple[int, tuple[Any, ...]]] = {}
        self.appended: list[StoredEvent] = []

    def forget(self) -> None:
        self.batch_head = None
        self.tasks_read.clear()
        self.appended = []  # a new list: the committed one may be remembered
