"""Advisory-lock keys: one per project (the per-project single writer across
instances), one for the list of projects (names are unique across it), one for
migrations, and one per role a transaction leads (``Rows.lead``: pruning)."""

import hashlib

CATALOG = "maestro:projects"
MIGRATIONS = "maestro:migrations"


def lock_key(name: str) -> int:
    """A stable 64-bit key for a name (a project id, a role)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), signed=True)
