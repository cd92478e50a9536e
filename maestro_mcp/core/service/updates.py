"""``*:updated``: what an update of a project, a task, a session or a file reservation
puts in the log.

Every ``project:updated``, ``task:updated``, ``session:updated`` and
``reservation:updated`` of the service is
emitted here, by ``emit_updated``, given the entity before and after the change (as
the operation first read it, and as it saved it). Rules (docs/protocol.md, "Events"):

- The envelope names the fields whose value the change made differ (``changed``:
  camelCase, in the entity's field order), ``version`` and ``updatedAt`` aside, which
  every change moves (``events.ALWAYS_CHANGED``). So a client, the board, ``maestro
  task history`` can say "status → in_review" without holding the version before.
- ``task:updated`` leaves out the bulky text fields (``BULKY_TASK_FIELDS``:
  ``description``, ``prompt``) that this change left as they were; they are listed
  under ``omitted`` in its data, and a client keeps its copy of them
  (``events.merged_data``). So an operation that touches many tasks without editing
  their text — a session linking a hundred tasks, a claim, a release, a session
  deleted — adds a few hundred bytes per task to the log, never each task's prompt
  again. A change that edits a bulky field carries it; ``task:created`` and snapshots
  (GET) carry every field.
"""

from functools import cache
from typing import TypeVar

from ..events import ALWAYS_CHANGED, BULKY_TASK_FIELDS, OMITTED, EventType
from ..models import Project, Reservation, Session, Task
from .transaction import Write, fields_of

_UPDATED = {
    Project: EventType.PROJECT_UPDATED,
    Task: EventType.TASK_UPDATED,
    Session: EventType.SESSION_UPDATED,
    Reservation: EventType.RESERVATION_UPDATED,
}
E = TypeVar("E", Project, Task, Session, Reservation)


@cache
def _compared(kind: type[Project | Task | Session | Reservation]) -> tuple[tuple[str, str], ...]:
    """The fields of ``kind`` a change may leave as they were: (Python name, JSON name)."""
    return tuple(
        (name, field.alias or name)
        for name, field in kind.model_fields.items()
        if (field.alias or name) not in ALWAYS_CHANGED
    )


def changed_fields(before: E, after: E) -> list[str]:
    """The JSON names of the fields whose value differs from ``before`` to ``after``."""
    now, then = after.__dict__, before.__dict__  # a model's field values, by name
    return [alias for name, alias in _compared(type(after)) if now[name] != then[name]]


def emit_updated(w: Write, entity: E, before: E) -> None:
    """The ``*:updated`` event of ``entity``, which was ``before`` ahead of this change."""
    changed = changed_fields(before, entity)
    if isinstance(entity, Task):
        # The JSON names of these fields are their Python names (no alias changes them).
        omitted = [n for n in BULKY_TASK_FIELDS if getattr(entity, n) == getattr(before, n)]
        data = entity.model_dump_json(by_alias=True, exclude=set(omitted))
        if omitted:
            # Appended to the object pydantic encoded (it ends with "}"): no second encoding.
            # Field names are ASCII identifiers: the list needs no escaping (nor json.dumps,
            # whose compact separators build an encoder per call).
            listed = ",".join(f'"{name}"' for name in omitted)
            data = f'{data[:-1]},"{OMITTED}":[{listed}]}}'
        w.emit_json(
            EventType.TASK_UPDATED, entity.project_id, data, fields_of(entity), changed=changed
        )
        return
    project_id = entity.id if isinstance(entity, Project) else entity.project_id
    w.emit(_UPDATED[type(entity)], project_id, entity, changed=changed)
