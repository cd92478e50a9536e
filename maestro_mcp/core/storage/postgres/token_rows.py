"""PostgreSQL queries for named tokens (stored as hashes; core/access.py). Used by ``PgRows``."""

from typing import Any

import psycopg

from ..contract import TokenRecord

_COLUMNS = "name, scope, secret_hash, created_at, created_by"


class TokenQueries:
    __slots__ = ()
    conn: "psycopg.Connection[tuple[Any, ...]]"

    def add_token(self, token: TokenRecord) -> bool:
        made = self.conn.execute(
            f"INSERT INTO tokens ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            (token.name, token.scope, token.secret_hash, token.created_at, token.created_by),
        ).fetchone()
        return made is not None

    def remove_token(self, name: str) -> TokenRecord | None:
        row = self.conn.execute(
            f"DELETE FROM tokens WHERE name = %s RETURNING {_COLUMNS}", (name,)
        ).fetchone()
        return None if row is None else TokenRecord(*row)

    def tokens(self) -> list[TokenRecord]:
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM tokens ORDER BY name")
        return [TokenRecord(*row) for row in rows]

    def any_tokens(self) -> bool:
        # LIMIT 1: it stops at the first row, whatever the table holds.
        return self.conn.execute("SELECT 1 FROM tokens LIMIT 1").fetchone() is not None

    def token_by_hash(self, secret_hash: str) -> TokenRecord | None:
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM tokens WHERE secret_hash = %s", (secret_hash,)
        ).fetchone()
        return None if row is None else TokenRecord(*row)
