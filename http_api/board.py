"""The web board: static files shipped in the package, served at ``/`` and ``/assets``,
and the vocabulary module the server generates for it (vocabulary.py)."""

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from . import vocabulary

STATIC = Path(__file__).parent / "static"

# The board loads nothing from elsewhere: no CDN, no inline script.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


# On every file of the board, at / and under /assets (its index.html too: served there
# without them, it could be framed).
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def index(request: Request) -> Response:
    return FileResponse(
        STATIC / "index.html", headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"}
    )


class BoardFiles(StaticFiles):
    """The board's files, each with the board's security headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        return response


def routes() -> list[BaseRoute]:
    return [
        Route("/", index, methods=["GET"]),
        # Before the mount, which would answer 404 for a file it does not hold.
        Route(vocabulary.PATH, vocabulary.vocabulary_js, methods=["GET"]),
        Mount("/assets", BoardFiles(directory=STATIC), name="assets"),
    ]
