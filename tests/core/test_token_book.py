"""TokenBook alone: what it keeps, and a lookup that races a change of the tokens."""

import asyncio

import pytest

from maestro_mcp.core.access import new_secret, secret_hash
from maestro_mcp.core.runtime import Core
from maestro_mcp.core.storage import TokenRecord
from maestro_mcp.core.token_book import LOOKUPS

pytestmark = pytest.mark.anyio


async def test_a_lookup_that_races_a_revocation_is_never_served(core: Core) -> None:
    """The database answered from before the revocation; the book heard of it while the
    answer was on its way: it looks again, and serves nothing it cannot trust."""
    book = core.tokens
    secret = new_secret()
    record = TokenRecord("bot", "write", secret_hash(secret), 0, "local")
    asked = 0

    async def racing(digest: str) -> TokenRecord | None:
        nonlocal asked
        asked += 1
        await asyncio.sleep(0)
        book.revoked()  # a change of the tokens lands during every lookup
        return record

    book._by_hash = racing
    assert await book.find(secret) is None
    assert asked == LOOKUPS
    assert book._known == {}


async def test_a_lookup_after_the_change_is_kept(core: Core) -> None:
    book = core.tokens
    secret = new_secret()
    record = TokenRecord("bot", "write", secret_hash(secret), 0, "local")
    asked = 0

    async def once_racing(digest: str) -> TokenRecord | None:
        nonlocal asked
        asked += 1
        if asked == 1:
            book.revoked()
        return record

    book._by_hash = once_racing
    found = await book.find(secret)
    assert found is not None
    assert found.name == "bot"
    assert asked == 2
    assert await book.find(secret) == found
    assert asked == 2  # kept


async def test_the_feed_saying_it_missed_events_forgets_every_token(core: Core) -> None:
    book = core.tokens
    secret = new_secret()
    record = TokenRecord("bot", "write", secret_hash(secret), 0, "local")

    async def found(digest: str) -> TokenRecord | None:
        return record

    book._by_hash = found
    assert await book.find(secret) is not None
    assert book._known
    book._saw(None)  # what the feed says after an outage or a new history
    assert book._known == {}
