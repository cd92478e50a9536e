"""The wire vocabulary (maestro_mcp/protocol.py): formats, parsing, and that the docs name it."""

import re
from pathlib import Path

import pytest

from maestro_mcp import protocol
from maestro_mcp.core.events import EventType

PROTOCOL_DOC = Path(__file__).parent.parent / "docs" / "protocol.md"

HEADERS = [
    protocol.SEQ_HEADER,
    protocol.ETAG_HEADER,
    protocol.IF_MATCH_HEADER,
    protocol.IF_NONE_MATCH_HEADER,
    protocol.IDEMPOTENCY_KEY_HEADER,
    protocol.IDEMPOTENT_REPLAYED_HEADER,
    protocol.CLAIM_TOKEN_HEADER,
    protocol.OVERRIDE_HEADER,
    protocol.AUTHORIZATION_HEADER,
    protocol.LAST_EVENT_ID_HEADER,
]


@pytest.mark.parametrize("name", HEADERS)
def test_the_protocol_doc_names_every_header(name: str) -> None:
    assert name in PROTOCOL_DOC.read_text(encoding="utf-8")


@pytest.mark.parametrize("event", list(EventType))
def test_the_protocol_doc_says_what_every_event_carries(event: EventType) -> None:
    """Each event has its row in "What each event carries" (a row may name several)."""
    doc = PROTOCOL_DOC.read_text(encoding="utf-8")
    table = doc.split("### What each event carries", 1)[1].split("\n### ", 1)[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert any(f"`{event.value}`" in row.split(" | ")[0] for row in rows), event


@pytest.mark.parametrize(
    "code",
    [
        protocol.CLOSE_GOING_AWAY,
        protocol.CLOSE_POLICY_VIOLATION,
        protocol.CLOSE_TRY_AGAIN_LATER,
        protocol.CLOSE_RESET,
    ],
)
def test_the_protocol_doc_names_every_close_code_a_client_sees(code: int) -> None:
    assert str(code) in PROTOCOL_DOC.read_text(encoding="utf-8")


def test_an_etag_is_the_quoted_version_and_parses_back() -> None:
    assert protocol.etag(3) == '"3"'
    assert protocol.if_match_version(protocol.etag(3)) == 3


@pytest.mark.parametrize(
    ("value", "version"),
    [('"3"', 3), ("3", 3), (' "12" ', 12), ("*", None), (None, None)],
)
def test_if_match_takes_our_etag_or_a_number(value: str | None, version: int | None) -> None:
    assert protocol.if_match_version(value) == version


@pytest.mark.parametrize(
    "value",
    ['"some-etag"', '"\u00b2"', '"-1"', '"' + "9" * 19 + '"', 'W/"x", "y"', '"0"', 'W/"3"'],
)
def test_if_match_with_entity_tags_none_of_ours_asks_for_no_version(value: str) -> None:
    """RFC 9110: well-formed, but no current entity has it: the precondition fails."""
    assert protocol.if_match_version(value) == protocol.NO_VERSION


def test_if_match_takes_our_one_version_out_of_a_list() -> None:
    assert protocol.if_match_version('"some-etag", "4"') == 4
    # A weak tag of ours never matches (strong comparison): it names no version.
    assert protocol.if_match_version('W/"3", "4"') == 4


@pytest.mark.parametrize("value", ["yesterday", "", '"3', "3, 4", '"3", "4"'])
def test_if_match_refuses_anything_else(value: str) -> None:
    with pytest.raises(ValueError, match="If-Match"):
        protocol.if_match_version(value)


@pytest.mark.parametrize(
    ("value", "matches"),
    [
        ('"2"', True),
        ('W/"2"', True),
        ('"1", W/"2"', True),
        ("*", True),
        ('"3"', False),
        ("2", False),  # not an entity-tag
        ("junk", False),
        (None, False),
    ],
)
def test_if_none_match_compares_weakly_any_tag_of_a_list(value: str | None, matches: bool) -> None:
    assert protocol.if_none_match(value, 2) is matches


@pytest.mark.parametrize(
    ("value", "token"),
    [
        (protocol.bearer("s3cret"), "s3cret"),
        ("bearer  s3cret ", "s3cret"),
        ("Basic dXNlcg==", None),
        ("Bearer", None),
        ("", None),
    ],
)
def test_bearer_token(value: str, token: str | None) -> None:
    assert protocol.bearer_token(value) == token


@pytest.mark.parametrize(
    ("value", "yes"),
    [
        ("true", True),
        (" TRUE ", True),
        ("1", True),
        ("yes", True),
        ("false", False),
        ("", False),
        (None, False),
    ],
)
def test_flag_headers(value: str | None, yes: bool) -> None:
    assert protocol.is_true(value) is yes
    assert protocol.is_true(protocol.TRUE)


@pytest.mark.parametrize(("value", "seq"), [("42", 42), ("\u00b2", None), ("", None), (None, None)])
def test_seq_header_values(value: str | None, seq: int | None) -> None:
    assert protocol.parse_seq(value) == seq


def _issue_15_routes() -> list[tuple[str, str]]:
    from http_api import messages, questions, reservations

    return [
        (method, route.path)
        for module in (messages, questions, reservations)
        for route in module.routes()
        for method in sorted(getattr(route, "methods", None) or ())
        if method != "HEAD"
    ]


@pytest.mark.parametrize(("method", "path"), _issue_15_routes())
def test_the_rest_table_lists_every_route_of_messages_questions_and_reservations(
    method: str, path: str
) -> None:
    doc = PROTOCOL_DOC.read_text(encoding="utf-8")
    table = doc.split("\n## REST\n", 1)[1].split("\n- ", 1)[0]
    rows = [line.split(" | ")[0] for line in table.splitlines() if line.startswith("| `")]
    assert any(re.match(rf"\| `{method} {re.escape(path)}[`?]", row) for row in rows)


@pytest.mark.parametrize(
    "path", sorted({path for method, path in _issue_15_routes() if method == "POST"})
)
def test_the_idempotency_paragraph_says_whether_each_post_takes_a_key(path: str) -> None:
    """Each POST of messages, questions and reservations is named there: among those a
    key replays, or among those that ignore it, saying what a retry does."""
    doc = PROTOCOL_DOC.read_text(encoding="utf-8")
    paragraph = doc.split("- **Idempotency**", 1)[1].split("\n- **", 1)[0]
    assert f"POST\n  {path}" in paragraph or f"POST {path}" in paragraph.replace("\n  ", " ")
