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
- The instance that makes or revokes a token says so before it answers (``made``,
  ``revoked``; neither reads the database, so the answer cannot fail after the
  commit), so there the change holds from that answer on: a revoked token is refused,
  and the first token made closes a token-less server to requests without one.
- A revoked token's live streams (WebSocket, SSE) on this instance are ended when its
  event is read; their clients reconnect, and are refused. So are the streams opened
  without a token once the first token exists.
- A secret that ``new_secret`` could not have made is refused without a lookup, and a
  lookup that raced a change of the tokens looks again: a token revoked meanwhile is
  never served.
- After the feed missed events (an outage, a new history) it says so (``None``), and
  the book forgets everything.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable

from .access import LOCAL, Principal, Scope, looks_like_secret, secret_hash
from .events import EventType, StoredEvent
from .feed import Feed
from .storage import TokenRecord

log = logging.getLogger(__name__)

TOKEN_EVENTS = frozenset({EventType.TOKEN_CREATED.value, EventType.TOKEN_REVOKED.value})
# How long the book waits to ask again after the database did not answer.
RETRY_S = 1.0
# How many times a lookup that raced a change of the tokens looks again before it
# refuses the secret.
LOOKUPS = 3

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
        if not looks_like_secret(secret):
            return None  # never made by new_secret: no need to ask the database
        digest = secret_hash(secret)
        known = self._known.get(digest)
        if known is not None:
            return known
        for _ in range(LOOKUPS):
            generation = self._generation
            record = await self._by_hash(digest)
            if record is None:
                return None
            if generation == self._generation:  # no change of the tokens meanwhile
                principal = Principal(record.name, Scope(record.scope))
                self._known[digest] = principal
                self._some_exist()  # made elsewhere, its event not read here yet
                return principal
            # The tokens changed while it looked (this one may be revoked): look again.
        return None

    def made(self) -> None:
        """This instance made a token: tokens exist from now on (no read needed, so the
        answer that carries the new secret cannot fail after its commit)."""
        self._drop()
        self._some_exist()

    def revoked(self) -> None:
        """This instance revoked a token: refused from now on. Whether any token is left
        is asked in the background (until then requests without one stay refused)."""
        self._drop()
        self._changed.set()

    async def forget(self) -> None:
        """Drop every token kept, and ask again whether any exists."""
        self._drop()
        if await self._any_tokens():
            self._some_exist()
        else:
            self._any = False

    def _some_exist(self) -> None:
        """Tokens exist: a server that had none closes to requests without one, and the
        live streams opened without one (as ``LOCAL``) end: their clients come back, and
        are refused."""
        if not self._any:
            self._any = True
            self._feed.close_owned_by(LOCAL.name)

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
            elif event.type == EventType.TOKEN_CREATED:
                self._some_exist()

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
