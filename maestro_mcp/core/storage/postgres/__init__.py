"""The PostgreSQL backend: one database shared by any number of Maestro instances.

Importing it needs psycopg 3 and psycopg_pool (``pip install 'maestro-mcp[postgresql]'``);
only ``location.open_store`` imports it, and only for a ``postgresql://`` location.
"""

from .store import PgStore

__all__ = ["PgStore"]
