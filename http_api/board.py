"""The web board: static files shipped in the package, served at ``/`` and ``/assets``,
and the vocabulary module the server generates for it (vocabulary.py)."""

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from . import vocabulary

STATIC = Path(__file__).parent / "static"

# The board loads nothing from elsewhere: no CDN, no inline script.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


async def index(request: Request) -> Response:
    return FileResponse(
        STATIC / "index.html",
        headers={
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/", index, methods=["GET"]),
        # Before the mount, which would answer 404 for a file it does not hold.
        Route(vocabulary.PATH, vocabulary.vocabulary_js, methods=["GET"]),
        Mount("/assets", StaticFiles(directory=STATIC), name="assets"),
    ]
