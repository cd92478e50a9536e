"""Entity identifiers: a readable prefix and a random, URL-safe suffix.

Rule: the prefixes are defined here only; code that tells ids apart uses these.
"""

import secrets

PROJECT_PREFIX = "proj_"
TASK_PREFIX = "task_"
SESSION_PREFIX = "sess_"
MESSAGE_PREFIX = "msg_"
QUESTION_PREFIX = "ques_"
RESERVATION_PREFIX = "resv_"
# Claim tokens are secrets, not ids, but carry a prefix too so people can tell them apart.
CLAIM_TOKEN_PREFIX = "clm_"


def new_id(prefix: str) -> str:
    # 64 random bits: collisions are not a practical concern even for
    # ids minted concurrently by several processes sharing one database.
    return prefix + secrets.token_hex(8)
