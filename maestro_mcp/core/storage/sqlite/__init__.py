"""The embedded SQLite backend: one file, WAL, writers serialised by ``BEGIN IMMEDIATE``."""

from .store import BatchAborted, SqliteStore

__all__ = ["BatchAborted", "SqliteStore"]
