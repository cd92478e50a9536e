"""What a failed command tells the user, and the exit code scripts can branch on."""

from enum import IntEnum
from typing import Any


class Exit(IntEnum):
    OK = 0
    ERROR = 1  # the server failed, or something unexpected
    USAGE = 2  # click's own: a bad option or argument
    NOT_FOUND = 3
    INVALID = 4  # the server refused the input (400, 413, 415, 422)
    CONFLICT = 5  # a version conflict (412) or a conflicting state (409)
    UNREACHABLE = 6  # no server at the URL
    DENIED = 7  # token missing or wrong, Host or Origin refused


_EXIT_BY_STATUS = {
    400: Exit.INVALID,
    401: Exit.DENIED,
    403: Exit.DENIED,
    404: Exit.NOT_FOUND,
    409: Exit.CONFLICT,
    412: Exit.CONFLICT,
    413: Exit.INVALID,
    415: Exit.INVALID,
    421: Exit.DENIED,
    422: Exit.INVALID,
}


class CliError(Exception):
    """An error to report: a message, an optional hint, an exit code, and the raw error."""

    def __init__(
        self,
        message: str,
        *,
        exit_code: Exit = Exit.ERROR,
        hint: str | None = None,
        code: str = "error",
        details: Any = None,
        status: int | None = None,
    ) -> None:
        """``status``: the HTTP status the server answered, when it is the server's error."""
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.hint = hint
        self.code = code
        self.details = details
        self.status = status

    @classmethod
    def from_response(cls, status: int, body: Any) -> "CliError":
        error = body.get("error", {}) if isinstance(body, dict) else {}
        code = error.get("code", "error")
        message = error.get("message") or f"the server answered HTTP {status}"
        details = error.get("details")
        exit_code = _EXIT_BY_STATUS.get(status, Exit.ERROR)
        hint = None
        if code == "version_conflict" and isinstance(details, dict) and "current" in details:
            version = details["current"].get("version")
            hint = f"re-read it, then retry with --if-version {version}"
        elif code == "validation_error" and isinstance(details, list) and details:
            fields = ", ".join(f"{d.get('field')}: {d.get('message')}" for d in details)
            message = f"invalid input ({fields})"
        elif status == 401:
            hint = "pass --token or set MAESTRO_TOKEN"
        return cls(
            message, exit_code=exit_code, hint=hint, code=code, details=details, status=status
        )

    def as_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}
