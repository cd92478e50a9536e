"""``task:updated`` as the log carries it.

Rule (docs/protocol.md, "What each event carries"): the task after the change,
except the bulky text fields (``BULKY_TASK_FIELDS``: ``description``, ``prompt``)
that this change left as they were; those are listed under ``omitted``, and a
client keeps its copy of them (``events.merged_data``). So an operation that
touches many tasks without editing their text — a session linking a hundred tasks,
a claim, a release, a session deleted — adds a few hundred bytes per task to the
log, never each task's prompt again. A change that edits a bulky field carries it;
``task:created`` and snapshots (GET) carry every field.

Every ``task:updated`` of the service is emitted here.
"""

import json

from ..events import BULKY_TASK_FIELDS, OMITTED, EventType
from ..models import Task
from .transaction import Write


def emit_updated(w: Write, task: Task, before: Task) -> None:
    """``task:updated`` for ``task``, which was ``before`` ahead of this change (as this
    operation first read it)."""
    # The JSON names of these fields are their Python names (no alias changes them).
    omitted = [name for name in BULKY_TASK_FIELDS if getattr(task, name) == getattr(before, name)]
    data = task.model_dump_json(by_alias=True, exclude=set(omitted))
    if omitted:
        # Appended to the object pydantic encoded (it ends with "}"): no second encoding.
        data = f'{data[:-1]},"{OMITTED}":{json.dumps(omitted, separators=(",", ":"))}}}'
    w.emit_json(EventType.TASK_UPDATED, task.project_id, data)
