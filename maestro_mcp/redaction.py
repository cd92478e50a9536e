"""No secret in any log line, at any level: bearer tokens, ``token=`` values, the value of
an ``Authorization`` header whatever its scheme, named tokens' secrets and claim tokens
are written as ``***``.

Where they would appear unmasked: uvicorn's request lines (``?token=``, at debug and in
the access log), the WebSocket handshake's headers (``< authorization: Bearer …``, which
the ``websockets`` library logs at debug through ``uvicorn.error``), sse-starlette's
copies of the MCP messages it streams (claim tokens, at debug), httpx's request lines.

The rules:
- Masked where records are made: ``install()`` wraps logging's record factory, so every
  record of every logger is masked once, before any handler sees it (uvicorn's access
  log on stdout, its own and the root's on stderr, any added later). A filter on a
  logger would miss its children's records (logging applies a logger's filters only to
  records logged on that logger), and filters on handlers miss handlers added later.
- A record that shows a secret carries its whole message masked instead, without
  arguments (masking its format alone could eat a ``%s``: the record would then fail to
  format, and logging's report of that shows the arguments, secret included). Only the
  access log's records keep their arguments, each masked where it is: its formatter
  takes them apart (client, method, path, version, status), and its format holds none.
- A traceback's text and a stack are masked too.
- Masking never raises: a record it cannot format is left as it is, for logging to
  report as it reports any bad record.
"""

import logging
import re
import traceback
from typing import Any

from .core.access import SECRET_PREFIX
from .core.ids import CLAIM_TOKEN_PREFIX
from .protocol import AUTHORIZATION_HEADER, BEARER_SCHEME, TOKEN_QUERY

MASK = "***"
# Loggers whose formatter takes the arguments apart: uvicorn's access log's (client,
# method, path, version, status). Their records keep their arguments: each is a whole
# part of the request line, masked by itself.
SHAPED_LOGGERS = frozenset({"uvicorn.access"})

# Where a secret ends: a space, a quote or a backslash (of a repr), and in a query "&".
_QUERY_VALUE = r"[^&\s'\"\\]+"
_WORD = r"[^\s'\"\\]+"
_NOT_MASKED = rf"(?!{re.escape(MASK)})"
_AUTHORIZATION = AUTHORIZATION_HEADER.lower()
_BEARER = BEARER_SCHEME.lower()

# Each rule: a clue (lowercase) without which the text is not searched, and a pattern:
# what stays (its one group), then the secret. The patterns are lowercase and searched
# for in the lowercased text, one by one: each starts with a literal, which the regex
# engine finds fast (one case-insensitive alternation of them all took 50 times longer
# on a long message).
_RULES = (
    # Any scheme's credentials after an Authorization header's name: "name: value",
    # "'name': 'value'" (a dict's repr), "(b'name', b'value')" (ASGI headers). A bearer
    # token keeps its scheme in sight.
    (
        _AUTHORIZATION,
        rf"({_AUTHORIZATION}\\*['\"]?\s*+[:=,]\s*+(?:b?\\*['\"])?+(?:{_BEARER}\s++)?+)"
        rf"{_NOT_MASKED}[^'\"\\\r\n]+",
    ),
    # A bearer token anywhere (not a path's last segment named "bearer").
    (_BEARER, rf"({_BEARER}(?<![\w/-]{_BEARER})\s++){_NOT_MASKED}{_WORD}"),
    # Any name ending in token, as a query or keyword ("token=", "access_token='") or as
    # a quoted key ('"claimToken": "', "'token': '"; quotes escaped once in JSON inside
    # JSON, twice more in a repr of it).
    (TOKEN_QUERY, rf"({TOKEN_QUERY}=['\"]?){_NOT_MASKED}{_QUERY_VALUE}"),
    (TOKEN_QUERY, rf"({TOKEN_QUERY}\\*['\"]\s*:\s*\\*['\"]){_NOT_MASKED}[^'\"\\]+"),
    # The password of a URL (a PostgreSQL location).
    ("://", rf"(://[^:/\s@'\"]+:){_NOT_MASKED}[^@\s/'\"]+(?=@)"),
    # A claim token, wherever it is.
    (CLAIM_TOKEN_PREFIX, rf"({re.escape(CLAIM_TOKEN_PREFIX)})[0-9a-f]+"),
    # A named token's secret (core/access.py), wherever it is: urlsafe base64.
    (SECRET_PREFIX, rf"((?<![\w]){re.escape(SECRET_PREFIX)})[a-z0-9_-]+"),
)
# Each rule's clue, its pattern for lowercased text, and for text whose lowercase is not
# as long (a few Unicode letters), a slower case-insensitive one.
_COMPILED = tuple(
    (clue, re.compile(pattern), re.compile(pattern, re.IGNORECASE)) for clue, pattern in _RULES
)


def mask(text: str) -> str:
    """``text`` with every secret it shows replaced by ``***``."""
    lowered = text.lower()
    for clue, in_lowercase, in_any_case in _COMPILED:
        if clue not in lowered:
            continue
        if len(lowered) == len(text):
            matches = in_lowercase.finditer(lowered)
        else:
            matches = in_any_case.finditer(text)
        pieces: list[str] = []
        done = 0
        for match in matches:
            pieces += (text[done : match.end(1)], MASK)
            done = match.end()
        if pieces:
            pieces.append(text[done:])
            text = "".join(pieces)
            lowered = text.lower()
    return text


def _masked(value: Any) -> Any:
    return mask(value) if isinstance(value, str) else value


def redact(record: logging.LogRecord) -> None:
    """Mask the secrets ``record`` shows (module docstring)."""
    try:
        message = record.getMessage()
        if (masked := mask(message)) != message:  # most records show no secret
            if record.name in SHAPED_LOGGERS:
                # Its format holds no secret (a request line's parts): each argument is
                # masked where it is, and the formatter takes them apart as before.
                if isinstance(record.args, tuple):
                    record.args = tuple(_masked(arg) for arg in record.args)
            else:
                # The whole message, masked: masking the format alone could eat a "%s"
                # and leave the secret to logging's own report of the broken record.
                record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            # What a formatter would write for it, masked; formatters use it as given.
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            if (masked := mask(text)) != text:
                record.exc_text = masked
        elif record.exc_text:
            record.exc_text = mask(record.exc_text)
        record.stack_info = _masked(record.stack_info)
    except Exception:  # a bad record: logging reports it when a handler formats it
        return


def install() -> None:
    """Mask the secrets of every log record made from now on, in this process (once)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "masks_secrets", False):
        return

    def masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        redact(record)
        return record

    masking_factory.masks_secrets = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masking_factory)
