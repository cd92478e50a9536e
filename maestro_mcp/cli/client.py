"""The CLI's HTTP client of the REST API: errors as CliError, safe retries, idempotent creates."""

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx

from maestro_mcp.protocol import (
    AUTHORIZATION_HEADER,
    CLI_CLIENT,
    CLIENT_HEADER,
    IDEMPOTENCY_KEY_HEADER,
    IDEMPOTENT_REPLAYED_HEADER,
    IF_MATCH_HEADER,
    SEQ_HEADER,
    TRUE,
    bearer,
    etag,
    parse_seq,
)

from .errors import CliError, Exit

DEFAULT_URL = "http://127.0.0.1:3000"
ATTEMPTS = 4
TIMEOUT = 10.0


@dataclass
class Response:
    status: int
    body: Any
    seq: int | None
    replayed: bool


class MaestroClient:
    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = TIMEOUT,
        attempts: int = ATTEMPTS,
        retry_timeouts: bool = True,
    ) -> None:
        """``timeout``: seconds a request may take; ``attempts``: how many times one that
        fails to connect is sent (the git hook, which must not hold a commit up for long,
        gives less than the defaults); ``retry_timeouts``: whether a request the server
        did not answer in time is sent again too (the hook's is not: a slow server is not
        waited for twice)."""
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self.retry_timeouts = retry_timeouts
        # Named on every call, so that its changes read ``local/cli`` (``<token>/cli``).
        headers = {CLIENT_HEADER: CLI_CLIENT}
        if token:
            headers[AUTHORIZATION_HEADER] = bearer(token)
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        if_version: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """One API call, retried on connection failures (and on answers that did not come
        in time, unless ``retry_timeouts`` is off).

        A retry is always safe: a POST carries an Idempotency-Key (the server answers
        a repeat with the first result), PATCH merges the same fields again, and a
        DELETE whose first answer was lost finds the entity gone.
        """
        headers = dict(headers or {})
        if method == "POST":
            headers[IDEMPOTENCY_KEY_HEADER] = str(uuid.uuid4())
        if if_version is not None:
            headers[IF_MATCH_HEADER] = etag(if_version)
        query = {k: v for k, v in (params or {}).items() if v is not None}
        delay = 0.2
        for attempt in range(1, self.attempts + 1):
            try:
                response = self._http.request(
                    method, path, json=json, params=query, headers=headers
                )
            except httpx.TransportError as exc:
                slow = isinstance(exc, httpx.TimeoutException) and not isinstance(
                    exc, httpx.ConnectTimeout
                )
                if slow and not self.retry_timeouts:
                    raise too_slow(self.base_url, exc) from None
                if attempt == self.attempts:
                    raise (too_slow if slow else unreachable)(self.base_url, exc) from None
                time.sleep(delay)
                delay *= 2
                continue
            if method == "DELETE" and response.status_code == 404 and attempt > 1:
                # The first attempt deleted it; its answer was lost on the way back.
                return Response(200, None, _seq(response), replayed=True)
            return _parse(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def get(self, path: str, **params: Any) -> Response:
        return self.request("GET", path, params=params)


def _seq(response: httpx.Response) -> int | None:
    return parse_seq(response.headers.get(SEQ_HEADER))


def _parse(response: httpx.Response) -> Response:
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if response.status_code >= 400:
        raise CliError.from_response(response.status_code, body)
    replayed = response.headers.get(IDEMPOTENT_REPLAYED_HEADER) == TRUE
    return Response(response.status_code, body, _seq(response), replayed)


def unreachable(url: str, exc: Exception | None = None) -> CliError:
    return CliError(
        f"cannot reach the Maestro server at {url}",
        exit_code=Exit.UNREACHABLE,
        hint="start it with `maestro serve`, or point --url / MAESTRO_URL at it",
        code="unreachable",
        details=str(exc) if exc else None,
    )


def too_slow(url: str, exc: Exception | None = None) -> CliError:
    """The server took the request and did not answer in time: it is there, but slow."""
    return CliError(
        f"the Maestro server at {url} did not answer in time",
        exit_code=Exit.UNREACHABLE,
        hint="it is running but busy or stuck: try again, or look at its log",
        code="timeout",
        details=str(exc) if exc else None,
    )
