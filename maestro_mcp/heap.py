"""The cycle collector of a process Maestro runs as a server (``maestro serve``,
``maestro mcp``): when it collects, and what it never needs to look at again.

CPython's collector runs a young collection every 700 allocations of containers
(lists, dicts, objects) not yet freed, and now and then a full one over every object
the process holds. A server holds ≈ 100,000 objects that live as long as it does
(modules, routes, pydantic's schemas, the MCP SDK), and every request allocates
short-lived containers that reference counting frees; at the default threshold the
collections cost a third of a write's CPU (docs/performance.md, "Against the naive
server"), and a full collection held the event loop ≈ 50 ms. So:

- ``tune()``, as the process starts: a young collection every ``YOUNG_COLLECTION``
  allocations, and the older generations after ``OLDER_COLLECTIONS`` of the younger.
  Garbage in reference cycles lives a little longer; nothing else changes.
- ``settle()``, once the server has loaded everything it loads (the MCP server is
  built in the background after the app starts): one full collection, then
  ``gc.freeze()``: what the process loaded is never walked by a collection again.

Only Maestro's own commands call these: a program that imports Maestro's modules
keeps its collector as it set it.
"""

import gc

# Measured with `python -m bench`'s write phases: 5,000 took most of the gain, past
# 20,000 nothing more was measurable (docs/performance.md).
YOUNG_COLLECTION = 20_000
OLDER_COLLECTIONS = 20


def tune() -> None:
    """Collect young objects every ``YOUNG_COLLECTION`` allocations (module docstring)."""
    gc.set_threshold(YOUNG_COLLECTION, OLDER_COLLECTIONS, OLDER_COLLECTIONS)


def settle() -> None:
    """Collect once, then leave everything alive now out of every later collection."""
    gc.collect()
    gc.freeze()
