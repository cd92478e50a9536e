"""Advisory-lock keys: one per project (the per-project single writer across
instances), one for the list of projects (names are unique across it), and the
roles one instance at a time plays (migrations, the pruner)."""

import hashlib

CATALOG = "maestro:projects"
MIGRATIONS = "maestro:migrations"
PRUNER = "maestro:pruner"


def lock_key(name: str) -> int:
    """A stable 64-bit key for a name (a project id, a role)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), signed=True)
