"""Where the core keeps its state: the storage contract and its backends.

``contract.py`` is the boundary (``Store``, ``Rows``, ``LogReader``); ``sqlite/`` is
the embedded backend. Only the runtime (core/runtime.py) picks and builds a store.
"""

from .contract import (
    ClaimOutlook,
    Contended,
    Durability,
    EndedClaim,
    LogPosition,
    LogReader,
    Rows,
    SchemaTooNew,
    Store,
    StoredResult,
    StoreUnavailable,
)

__all__ = [
    "ClaimOutlook",
    "Contended",
    "Durability",
    "EndedClaim",
    "LogPosition",
    "LogReader",
    "Rows",
    "SchemaTooNew",
    "Store",
    "StoreUnavailable",
    "StoredResult",
]
