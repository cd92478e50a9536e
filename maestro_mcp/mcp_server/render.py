"""What a tool's result looks like to the model: one compact JSON text.

Hosts put every result into the model's context, so each byte is paid for again on
every later turn. A result is therefore:
- compact JSON (no indentation), its only content (no second, structured copy);
- without empty fields: ``null``, ``""``, ``[]`` and ``{}`` are left out, except the
  result's own required fields (an empty ``tasks`` still says "none", while a task's
  ``notes: []`` or ``session: null`` says nothing);
- with times as ISO 8601 UTC (``"2026-11-26T14:05:10Z"``), which a model reads,
  instead of epoch milliseconds, which it must convert.
"""

import json
from typing import Any

from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

from maestro_mcp.core.clock import iso

# Fields holding epoch milliseconds: every ``…At`` of the entities, and an event's time.
_TIME_FIELDS = frozenset({"timestamp", "at", "until"})


def render(result: BaseModel) -> CallToolResult:
    data = result.model_dump(mode="json", by_alias=True)
    required = {
        field.alias or name
        for name, field in type(result).model_fields.items()
        if field.is_required()
    }
    slim = {
        key: _slim(value, key)
        for key, value in data.items()
        if value is not None and (key in required or not _empty(value))
    }
    text = json.dumps(slim, separators=(",", ":"), ensure_ascii=False)
    return CallToolResult(content=[TextContent(type="text", text=text)])


def shortened(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut at ``limit`` characters (an ellipsis says where), and whether it was:
    a result that cuts a text marks it ``cut``, and says where the whole text is."""
    if len(text) <= limit:
        return text, False
    return text[:limit] + "…", True


def _slim(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        kept = {k: _slim(v, k) for k, v in value.items()}
        return {k: v for k, v in kept.items() if not _empty(v)}
    if isinstance(value, list):
        return [_slim(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and _is_time(key):
        return iso(value)
    return value


def _is_time(key: str) -> bool:
    return key.endswith("At") or key in _TIME_FIELDS


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}
