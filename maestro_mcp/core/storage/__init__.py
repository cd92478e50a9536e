"""Where the core keeps its state: the storage contract and its backends.

``contract.py`` is the boundary (``Store``, ``Rows``, ``LogReader``); ``sqlite/`` is
the embedded backend, ``postgres/`` the shared one; ``transfer.py`` is the format a
whole database is moved or backed up in. Only the runtime (core/runtime.py) and the
commands that move a database (cli/transfer.py) build a store.
"""

from .contract import (
    BatchUndone,
    ClaimOutlook,
    Contended,
    Durability,
    EndedClaim,
    EventPage,
    LogFilter,
    LogPosition,
    LogReader,
    NotEmpty,
    OutcomeUnknown,
    Rows,
    SchemaTooNew,
    Store,
    StoredResult,
    StoreUnavailable,
    TokenRecord,
    Unloadable,
    UnstorableText,
)

__all__ = [
    "BatchUndone",
    "ClaimOutlook",
    "Contended",
    "Durability",
    "EndedClaim",
    "EventPage",
    "LogFilter",
    "LogPosition",
    "LogReader",
    "NotEmpty",
    "OutcomeUnknown",
    "Rows",
    "SchemaTooNew",
    "Store",
    "StoreUnavailable",
    "StoredResult",
    "TokenRecord",
    "Unloadable",
    "UnstorableText",
]
