"""``TokenBook``: the named tokens an instance has seen, in memory, so that checking a
token costs no query after its first use.

Rules:

- The book looks a secret up in the database by its hash (an index) the first time
  it is presented, and keeps the principal it names. A secret that names no token is
  not kept: the next request asks again (made on another instance meanwhile, it is
  found). The start reads no more than whether any token exists.
- It forgets what it kept, and asks again whether any token exists, whenever the
  log says the tokens changed (``token:created``, ``token:revoked``): it is a
  watcher of the feed (``Feed.watch``), so a token revoked on another instance (or
  by another process on the same database) is refused here as soon as the feed reads
  its event (the feed's latency: milliseconds; the poll interval at worst).
- The instance that makes or revokes a token forgets before it answers (``forget``),
  so there the change holds from that answer on: a revoked token is refused, and the
  first token made closes a token-less server to requests without one.
- A revoked token's live streams (WebSocket, SSE) on this instance are ended when its
  event is read; their clients reconnect, and are refused.
- If the log's history changed (a restored database), the book forgets everything.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

from .access import Principal, Scope, secret_hash
from .events import EventType, StoredEvent
from .feed import Feed
from .storage import TokenRecord

log = logging.getLogger(__name__)

TOKEN_EVENTS = frozenset({EventType.TOKEN_CREATED.value, EventType.TOKEN_REVOKED.value})
# How long the book waits to ask again after the database did not answer.
RETRY_S = 1.0

# The reads the core gives the book: whether any token exists; one token by its hash.
AnyTokens = Callable[[], Awaitable[bool]]
TokenByHash = Callable[[str], Awaitable[TokenRecord | None]]


class TokenBook:
    def __init__(self, feed: Feed, any_tokens: AnyTokens, by_hash: TokenByHash) -> None:
        self._feed = feed
        self._any_tokens = any_tokens
        self._by_hash = by_hash
        self._known: dict[str, Principal] = {}
        # Counts the times it forgot: a lookup that began before a change is not kept,
        # as it may have read a token that the change revoked.
        self._generation = 0
        self._any = False
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def any(self) -> bool:
        """Whether any named token exists (as of the last change the book heard of)."""
        return self._any

    async def start(self) -> None:
        """Find whether tokens exist, then follow their changes until ``stop``."""
        self._feed.watch(self._saw)
        self._any = await self._any_tokens()
        self._task = asyncio.create_task(self._follow(), name="maestro-tokens")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def find(self, secret: str) -> Principal | None:
        """The principal a secret names, None if it names none."""
        digest = secret_hash(secret)
        known = self._known.get(digest)
        if known is not None:
            return known
        generation = self._generation
        record = await self._by_hash(digest)
        if record is None:
            return None
        principal = Principal(record.name, Scope(record.scope))
        if generation == self._generation:
            self._known[digest] = principal
            self._any = True  # made elsewhere, its event not read here yet
        return principal

    async def forget(self) -> None:
        """Drop every token kept, and ask again whether any exists."""
        self._drop()
        self._any = await self._any_tokens()

    def _drop(self) -> None:
        self._known = {}
        self._generation += 1

    # --- following the log -------------------------------------------------------------

    def _saw(self, batch: list[StoredEvent] | None) -> None:
        if batch is None or any(event.type in TOKEN_EVENTS for event in batch):
            # Forgotten at once, before the feed goes on: no request is served with a
            # revoked token once its event is read.
            self._drop()
            self._changed.set()
        for event in batch or ():
            if event.type == EventType.TOKEN_REVOKED:
                # The live streams it opened end too (before this batch reaches them);
                # their clients come back, and are refused.
                self._feed.close_owned_by(json.loads(event.payload)["data"]["name"])

    async def _follow(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            try:
                await self.forget()
            except Exception as exc:  # the database out of reach: ask again shortly
                log.warning("tokens: cannot read them (%s); will retry", exc)
                self._changed.set()
                await asyncio.sleep(RETRY_S)
