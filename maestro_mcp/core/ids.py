"""Entity identifiers: a readable prefix and a random, URL-safe suffix."""

import secrets

PROJECT_PREFIX = "proj_"
TASK_PREFIX = "task_"
SESSION_PREFIX = "sess_"


def new_id(prefix: str) -> str:
    # 64 random bits: collisions are not a practical concern even for
    # ids minted concurrently by several processes sharing one database.
    return prefix + secrets.token_hex(8)
