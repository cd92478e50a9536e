"""Where Maestro keeps its data: a per-user directory unless told otherwise."""

import os
import sys
from pathlib import Path

DB_FILENAME = "maestro.db"


def default_data_dir() -> Path:
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "maestro"
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "maestro"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "maestro"


def resolve_db_path(db: Path | None, data_dir: Path | None) -> Path:
    """An explicit database file wins, then a data directory, then the per-user default."""
    if db is not None:
        return db.expanduser().resolve()
    return ((data_dir or default_data_dir()).expanduser() / DB_FILENAME).resolve()
