"""Named tokens: made (the secret returned once, stored as a hash), listed, revoked.

Their events (``token:created``, ``token:revoked``) carry the name, the scope and who
acted, never the secret or its hash: they tell every instance's ``TokenBook`` (and any
watcher) that the tokens changed.
"""

from ..access import Scope, new_secret, secret_hash
from ..errors import NameTaken, NotFound
from ..events import EventType
from ..models import NewToken, TokenCreate, TokenInfo
from ..storage import Rows, TokenRecord
from .transaction import Write


def info(record: TokenRecord) -> TokenInfo:
    return TokenInfo(
        name=record.name,
        scope=Scope(record.scope),
        created_at=record.created_at,
        created_by=record.created_by,
    )


def create(w: Write, data: TokenCreate) -> NewToken:
    secret = new_secret()
    record = TokenRecord(data.name, data.scope.value, secret_hash(secret), w.now, w.actor)
    if not w.rows.add_token(record):
        raise NameTaken(
            f"a token named {data.name!r} exists already; revoke it first, or choose another name",
            {"name": data.name},
        )
    made = info(record)
    w.emit(EventType.TOKEN_CREATED, None, made)
    return NewToken(**made.model_dump(), secret=secret)


def revoke(w: Write, name: str) -> TokenInfo:
    record = w.rows.remove_token(name)
    if record is None:
        raise NotFound(f"there is no token named {name!r}", {"name": name})
    gone = info(record)
    w.emit(EventType.TOKEN_REVOKED, None, gone)
    return gone


def listed(rows: Rows) -> list[TokenInfo]:
    return [info(record) for record in rows.tokens()]
