"""Questions across instances: two people answering one question at the same moment
through two ``maestro serve`` processes on one PostgreSQL database; the first answer
wins, every round, and the other is told it was answered already, with the winner's
answer; either instance then reads the winner's answer."""

from functools import partial
from typing import Any

import httpx2 as httpx
import pytest

from tests.support.instances import REQUEST_TIMEOUT, Pair, new_project
from tests.support.races import at_once
from tests.support.rest import new_session

pytestmark = pytest.mark.only_store("postgresql")
ROUNDS = 30
ASK = "/api/sessions/{id}/questions"
ANSWER = "/api/questions/{id}/answer"


def test_two_people_on_two_instances_answering_at_once_the_first_answer_wins(
    pair: Pair,
) -> None:
    a, b = pair
    project_id, _ = new_project(a.base_url)
    with (
        httpx.Client(base_url=a.base_url, timeout=REQUEST_TIMEOUT) as via_a,
        httpx.Client(base_url=b.base_url, timeout=REQUEST_TIMEOUT) as via_b,
    ):
        agent = new_session(via_a, project_id, "asking agent", status="working")
        for n in range(ROUNDS):
            asked = via_a.post(ASK.format(id=agent["id"]), json={"text": f"Round {n}?"})
            assert asked.status_code == 201, asked.text
            url = ANSWER.format(id=asked.json()["id"])
            answers = at_once(
                partial(via_a.post, url, json={"answer": f"via a {n}"}),
                partial(via_b.post, url, json={"answer": f"via b {n}"}),
                timeout=REQUEST_TIMEOUT + 10,
            )
            assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
            [won] = [r for r in answers if r.status_code == 200]
            [lost] = [r for r in answers if r.status_code == 409]
            error = lost.json()["error"]
            assert error["code"] == "already_answered"
            question: dict[str, Any] = won.json()
            assert question["status"] == "answered"
            assert error["details"]["question"] == question
            for http in (via_a, via_b):
                assert http.get(f"/api/questions/{question['id']}").json() == question
        assert via_b.get(f"/api/sessions/{agent['id']}").json()["status"] == "working"
