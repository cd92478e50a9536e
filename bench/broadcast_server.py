"""The reference fan-out: a bare websockets server that relays each message to every other
client. No database, no JSON, no HTTP: the floor Maestro's fan-out is compared with.

    python -m bench.broadcast_server PORT    # 0: a free port, logged as it listens
"""

import asyncio
import sys

from websockets.asyncio.server import ServerConnection, broadcast, serve

CLIENTS: set[ServerConnection] = set()


async def handler(ws: ServerConnection) -> None:
    CLIENTS.add(ws)
    try:
        await ws.send('{"event":"sync:ready"}')
        async for message in ws:
            broadcast([c for c in CLIENTS if c is not ws], message)
    finally:
        CLIENTS.discard(ws)


async def main(port: int) -> None:
    async with serve(handler, "127.0.0.1", port, max_queue=None) as server:
        port = server.sockets[0].getsockname()[1]  # the one it chose, given 0
        print(f"listening on http://127.0.0.1:{port}", file=sys.stderr, flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
