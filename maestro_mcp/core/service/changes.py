"""The change log as clients read it: what happened after a seq, and retention."""

import json
from typing import Any

from ..events import READ_BATCH
from ..models import Changes
from ..storage import Rows


def since(rows: Rows, after: int, project_id: str | None, limit: int) -> Changes:
    """Up to ``limit`` events after ``after`` (of one project, if given), oldest first."""
    head = rows.head()
    if after > head:  # a seq from another database, or made up: say so, go on from the head
        note = f"seq {after} is past the newest ({head}): nothing came after it; go on from {head}"
        return Changes(events=[], head=head, next_since=head, expired=False, note=note)
    oldest = rows.oldest()
    expired = after < head and (oldest is None or after + 1 < oldest)
    found: list[dict[str, Any]] = []
    cursor = after
    while len(found) < limit and cursor < head:
        batch = rows.read_events_after(cursor, READ_BATCH)
        if not batch:
            break
        for event in batch:
            cursor = event.seq
            if project_id is None or event.project_id == project_id:
                found.append(json.loads(event.payload))
                if len(found) == limit:
                    break
    return Changes(events=found, head=head, next_since=max(cursor, after), expired=expired)
