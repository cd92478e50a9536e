"""Rule: whatever a client sends, the answer is never a 5xx and is one the OpenAPI
document describes: a documented status, content type, headers and body; and an
operation that asks for the token refuses a request without it.

Schemathesis holds the server to that: its CLI, in a process of its own, loads the
document from the live ``/openapi.json`` of a server with a token, and runs every
operation through its phases (boundary values, then generated requests, valid and
invalid, then chains of calls that follow the document's links), a bounded number
of examples each, the same ones on every run (tests/security/schemathesis.toml).
A failure prints what schemathesis found and how to reproduce it.

The SSE route is fuzzed like the others rather than left out: its answers to bad
seqs are errors like any other, and its stream, which never ends, is read up to its
first message (sync:ready, or the first event replayed) and then dropped; the test
then checks that every stream the run dropped was closed. ``/mcp`` and ``/ws`` are
not in the document (tests/mcp_server and tests/http_api/test_live.py cover them).
"""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from http_api import Settings
from tests.support.servers import LiveServer, live_server
from tests.support.stores import Databases
from tests.support.waiting import wait_for

CONFIG = Path(__file__).with_name("schemathesis.toml")
TOKEN = "fuzz-token-0123456789"
TOKEN_ENV = "MAESTRO_FUZZ_TOKEN"  # the config file reads the token from it
# The run takes about a minute per store on two cores; a loaded machine, longer.
RUN_TIMEOUT = 400.0
# Phases every run goes through (there are no examples in the document to run).
PHASES = ("coverage", "fuzzing", "stateful")


@pytest.fixture(scope="module")
def target(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    database = databases.create(tmp_path_factory.mktemp("fuzz"))
    with live_server(Settings(database=database, token=TOKEN, poll_interval=0.02)) as server:
        yield server
    databases.drop(database)


def schemathesis_run(url: str, workdir: Path) -> tuple[subprocess.CompletedProcess[str], Any]:
    """``schemathesis run`` on ``url`` with the suite's config; its output and JSON report."""
    report = workdir / "report.json"
    command = [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG)),
        *("run", url, "--report", "json", "--report-json-path", str(report)),
    ]
    run = subprocess.run(
        command,
        cwd=workdir,
        env={**os.environ, TOKEN_ENV: TOKEN, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
    )
    return run, json.loads(report.read_text()) if report.exists() else None


@pytest.mark.timeout(RUN_TIMEOUT + 60)
def test_every_answer_is_documented_and_none_is_a_5xx(target: LiveServer, tmp_path: Path) -> None:
    document = target.http.get("/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"})
    operations = sum(
        method != "parameters" for item in document.json()["paths"].values() for method in item
    )
    subscribers = target.feed.subscriber_count

    run, report = schemathesis_run(f"{target.base_url}/openapi.json", tmp_path)

    assert run.returncode == 0, f"schemathesis found something:\n{run.stdout}\n{run.stderr}"
    assert report is not None, run.stdout
    # Every operation of the live document went through every phase...
    assert report["operations"]["total"] == report["operations"]["tested"] == operations
    assert {p: report["phases"][p]["status"] for p in PHASES} == dict.fromkeys(PHASES, "success")
    # ... with the token: a run that got 401s only would prove nothing.
    assert report["warnings"]["missing_auth"] == []
    rates = [rate for phases in report["valid_rates"].values() for rate in phases.values()]
    accepted = sum(rate.get("accepted", 0) for rate in rates)
    assert accepted > operations
    # The event streams it opened and left are all closed.
    wait_for(lambda: target.feed.subscriber_count == subscribers, what="the streams to close")
