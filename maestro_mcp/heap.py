"""The cycle collector of a process Maestro runs as a server (``maestro serve``,
``maestro mcp``): when it collects, and what it never needs to look at again.

CPython's collector runs a young collection every 700 allocations of containers
(lists, dicts, objects) not yet freed, a middle one after eleven of those, and now and
then a full one over every object the process holds. A loaded server holds ≈ 100,000
objects that live as long as it does (modules, routes, pydantic's schemas, the MCP
SDK), and every request allocates short-lived containers that reference counting
frees; at the default threshold the server spent a tenth to a third more CPU a write
(docs/performance.md, "The cycle collector"), and a full collection held the event
loop ≈ 50 ms. So:

- ``tune()``, as the process starts: a young collection every ``YOUNG_COLLECTION``
  allocations, a middle one after ``MIDDLE_COLLECTION`` + 1 young ones (short
  pauses), and a look at a full one after ``FULL_COLLECTION`` + 1 middle ones. Garbage
  in reference cycles lives a little longer; nothing else changes.
- ``settle()``, once the process has imported its modules and built its app, before
  it runs an event loop or serves anything: one full collection (≈ 20 ms on the
  ≈ 47,000 objects ``maestro serve`` holds then), then ``gc.freeze()``: no collection
  walks those objects again. Not later: reference counting still frees a frozen
  object, but the collector never frees a cycle of them, so freezing while
  connections are open would keep, for good, what their cycles leave behind when they
  close (≈ 10 KB a WebSocket, measured). ``maestro serve`` builds its MCP server after
  it starts listening (http_api/mcp_mount.py): what that loads is not frozen.

Only Maestro's own commands call these: a program that imports Maestro's modules
keeps its collector as it set it.
"""

import gc

# Measured on `python -m bench`'s write phase (10 clients, 8 writes in flight): 5,000
# took most of the gain, past 20,000 nothing more was measurable (docs/performance.md).
YOUNG_COLLECTION = 20_000
# CPython collects a generation once its count *passes* its threshold: a middle
# collection comes after MIDDLE_COLLECTION + 1 young ones, and a full one is looked at
# after FULL_COLLECTION + 1 middle ones.
#
# A middle collection walks what the young ones kept since the last one: every 4th
# collection, not every 22nd, it walks about a fifth as much at a time for the same
# work in all. Where many objects come to stay at once (5,000 WebSockets connecting)
# one held the event loop ≈ 85 ms; now ≈ 15 ms (docs/performance.md, "The cycle
# collector").
MIDDLE_COLLECTION = 2
# A full collection is first looked at ≈ 460 collections after the last one, as with
# (20, 20) ((2 + 2) x (115 + 1) against (20 + 2) x (20 + 1)), and runs only once the
# old objects have grown by a quarter (CPython's own rule; turned down, it is looked
# at again after the next middle collections).
FULL_COLLECTION = 115


def tune() -> None:
    """Collect young objects every ``YOUNG_COLLECTION`` allocations (module docstring)."""
    gc.set_threshold(YOUNG_COLLECTION, MIDDLE_COLLECTION, FULL_COLLECTION)


def settle() -> None:
    """Collect once, then leave everything alive now out of every later collection."""
    gc.collect()
    gc.freeze()
