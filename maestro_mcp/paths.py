"""Where Maestro keeps its data: a per-user directory unless told otherwise."""

import os
import sys
from pathlib import Path

from .core.storage.location import is_postgres_url

DB_FILENAME = "maestro.db"


def default_data_dir() -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "maestro"
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "maestro"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "maestro"


def data_directory(db: str | None, data_dir: Path | None) -> Path | None:
    """The directory Maestro keeps its database in and owns (made and kept 0700,
    maestro_mcp/private_files.py): ``data_dir``, else the per-user default; None when
    ``db`` names the database (a file in a directory of the user's, or a URL)."""
    if db is not None:
        return None
    return _chosen(data_dir).resolve()


def resolve_database(db: str | None, data_dir: Path | None) -> str:
    """An explicit database (a file, or a postgresql:// URL, kept as given) wins, then a
    data directory, then the per-user default."""
    if db is not None:
        if is_postgres_url(db):
            return db
        return str(Path(db).expanduser().resolve())
    return str((_chosen(data_dir) / DB_FILENAME).resolve())


def _chosen(data_dir: Path | None) -> Path:
    return (data_dir or default_data_dir()).expanduser()
