"""Reading what ``maestro`` commands print; the ``run`` fixture is in tests/cli/conftest.py."""

import json
from collections.abc import Callable
from typing import Any

from click.testing import Result

Run = Callable[..., Result]
"""The ``run`` fixture: ``run(*args, ok=True, env=None, input=None)`` runs a command
in-process."""


def as_json(result: Result) -> Any:
    """The command's standard output parsed as JSON (for ``--json`` runs)."""
    return json.loads(result.stdout)
