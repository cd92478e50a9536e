"""The service layer: the one write path, cut by domain.

- ``front.py``: ``Service``, the one public front: one method per operation;
- ``transaction.py``: the unit of work (one transaction, events, idempotency);
- ``rules.py``: lookups, version checks and merging every domain shares;
- ``projects.py``, ``tasks.py``, ``sessions.py`` (links, notes), ``claims.py``,
  ``changes.py`` (the change log): each domain's rules and events;
- ``updates.py``: every ``*:updated`` event (what changed, what a task's leaves out);
- ``history.py``: the log read back, per task and per project, newest first.

No face touches the store or emits events itself: every change is one call here.
"""

from .front import Service
from .history import HistoryPage
from .transaction import IDEMPOTENCY_TTL_MS, Result

__all__ = [
    "IDEMPOTENCY_TTL_MS",
    "HistoryPage",
    "Result",
    "Service",
]
