"""The domain core, transport-free. Assembled in one place: ``runtime.Core``.

- ``runtime.py``: ``Core``, built from one ``Settings``: the store, the feed, the
  service and the group-commit writer, started and stopped in one order, with the
  lease reaper and the pruner; ``core.read(fn)`` / ``core.write(fn)``.
- ``vocabulary.py`` (statuses, priorities, limits, defaults: light, the CLI reads it),
  ``models.py`` (entities, inputs, results), ``events.py`` (event names, the
  envelope), ``errors.py``, ``ids.py``, ``names.py`` (the one name-matching rule),
  ``clock.py``.
- ``service/``: the one write path, cut by domain (see its docstring).
- ``storage/``: the storage contract and its backends (SQLite); docs/storage.md.
- ``feed.py``: tails the event log and fans events out to live subscribers.
- ``group_commit.py``: one writer thread, one COMMIT per batch of writes.
"""
