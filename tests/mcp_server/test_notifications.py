import json

import pytest

from maestro_mcp.core.events import EventType, StoredEvent, envelope
from maestro_mcp.mcp_server.notifications import uris_changed_by

SAMPLES: dict[str, dict[str, object]] = {
    "project": {"id": "proj_1", "projectId": "proj_1", "name": "p"},
    "task": {"id": "task_1", "projectId": "proj_1"},
    "session": {"id": "sess_1", "projectId": "proj_1"},
    "link": {"sessionId": "sess_1", "taskId": "task_1"},
    "note": {"sessionId": "sess_1", "projectId": "proj_1", "note": {}},
    "claim": {"taskId": "task_1", "projectId": "proj_1", "sessionId": "sess_1"},
}


def sample(kind: EventType) -> dict[str, object]:
    if kind in (EventType.SESSION_TASK_ADDED, EventType.SESSION_TASK_REMOVED):
        return SAMPLES["link"]
    if kind is EventType.SESSION_NOTE_ADDED:
        return SAMPLES["note"]
    if kind in (EventType.TASK_CLAIMED, EventType.TASK_RELEASED):
        return SAMPLES["claim"]
    return SAMPLES[kind.value.split(":")[0]]


@pytest.mark.parametrize("kind", list(EventType))
def test_every_event_names_the_resources_it_changed(kind: EventType) -> None:
    payload = envelope(1, kind.value, json.dumps(sample(kind)), 0)
    uris = uris_changed_by(StoredEvent(1, kind.value, "proj_1", payload))
    assert uris
    assert all(uri.startswith("maestro://") for uri in uris)
