"""Questions over REST: an agent's session asks the people, a person answers
(core/service/questions.py has the rules; docs/protocol.md, "Questions").

- ``POST /api/sessions/{id}/questions`` (``QuestionAsk``) -> 201, the question; the
  session waits (``needs_input``). ``Idempotency-Key``: a retry asks once.
- ``GET /api/questions?projectId=&sessionId=&status=&limit=&newest=`` -> the questions,
  in the order they were asked: the oldest ``limit``, or with ``newest`` the newest.
- ``GET /api/questions/{id}`` -> one question, its ``version`` as its ETag (``304`` to
  an ``If-None-Match`` that names it).
- ``POST /api/questions/{id}/answer`` (``{answer}``, ``If-Match`` optional) -> the
  question answered, by the request's actor. The first answer wins: a question
  answered already (by a person, or by its default at its deadline) or cancelled is
  ``409 already_answered``, the question as it is in ``details.question``.

Asking and answering are writes (``write`` scope), the rest reads (``read`` scope).
"""

from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from maestro_mcp.core.models import Question, QuestionAnswer, QuestionAsk, QuestionFilter

from .bodies import idempotency_key, if_match_version, query_model, read_model
from .rest import (
    call,
    entity_response,
    json_response,
    max_body_of,
    read_response,
    service_of,
    write,
)

QUESTIONS_PATH = "/api/questions"
QUESTION_PATH = QUESTIONS_PATH + "/{id}"
ANSWER_PATH = QUESTION_PATH + "/answer"
SESSION_QUESTIONS_PATH = "/api/sessions/{id}/questions"

# A list of questions as JSON.
QUESTIONS = TypeAdapter(list[Question])


async def ask(request: Request) -> Response:
    data = await read_model(request, QuestionAsk, max_body_of(request))
    session_id = request.path_params["id"]
    asked = await write(
        request,
        service_of(request).ask,
        session_id,
        data,
        idempotency_key=idempotency_key(request),
        reads=(session_id,),
    )
    return entity_response(asked, status=201)


async def questions(request: Request) -> Response:
    where = query_model(request, QuestionFilter)
    listed = await call(request, service_of(request).list_questions, where)
    return json_response(QUESTIONS.dump_json(listed.value, by_alias=True), listed.seq)


async def question(request: Request) -> Response:
    found = await call(request, service_of(request).get_question, request.path_params["id"])
    return read_response(request, found)


async def answer(request: Request) -> Response:
    expected = if_match_version(request)
    data = await read_model(request, QuestionAnswer, max_body_of(request))
    answered = await write(
        request,
        service_of(request).answer,
        request.path_params["id"],
        data,
        expected_version=expected,
        idempotency_key=idempotency_key(request),
    )
    return entity_response(answered)


def routes() -> list[BaseRoute]:
    return [
        Route(SESSION_QUESTIONS_PATH, ask, methods=["POST"]),
        Route(QUESTIONS_PATH, questions, methods=["GET"]),
        Route(QUESTION_PATH, question, methods=["GET"]),
        Route(ANSWER_PATH, answer, methods=["POST"]),
    ]
