"""Where a database is: a SQLite file path or a ``postgresql://`` URL, told apart here,
shown to people without a password, and opened as the matching ``Store``.

Importing this module is cheap (the CLI reads it at start): a backend's driver is
imported only when a store of that kind is opened.
"""

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .contract import Durability, Store

POSTGRES_SCHEMES = ("postgresql", "postgres")
POSTGRES_EXTRA = "maestro-mcp[postgresql]"


class MissingDriver(RuntimeError):
    """The database's driver is not installed."""


def is_postgres_url(location: str | Path) -> bool:
    text = str(location)
    return "://" in text and urlsplit(text).scheme in POSTGRES_SCHEMES


def masked(url: str) -> str:
    """The URL with its password (in the netloc or as ``?password=``) replaced by ***."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        user, colon, _password = credentials.partition(":")
        netloc = f"{user}:***@{host}" if colon else f"{user}@{host}"
    query = "&".join(
        "password=***" if pair.split("=", 1)[0] == "password" else pair
        for pair in parts.query.split("&")
        if pair
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def shown(location: str | Path) -> str:
    """``location`` as people may see it: a URL without its password, or the path."""
    return masked(str(location)) if is_postgres_url(location) else str(location)


def open_store(location: str | Path, *, durability: Durability = Durability.NORMAL) -> Store:
    """The store for ``location`` (not yet connected: ``migrate()`` is the first use)."""
    if is_postgres_url(location):
        try:
            from .postgres import PgStore
        except ImportError as exc:
            raise MissingDriver(
                f"PostgreSQL needs psycopg 3 and psycopg_pool: pip install '{POSTGRES_EXTRA}' "
                f"({exc})"
            ) from exc
        return PgStore(str(location), durability=durability)
    from .sqlite import SqliteStore

    return SqliteStore(Path(location), durability=durability)
