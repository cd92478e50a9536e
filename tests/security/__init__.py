"""The security suite: one module per rule, and an index of where each finding of the
review in issue #13 is tested (``FINDINGS``; test_index.py checks every test it names
exists, so the index cannot go stale).

Rules, one module each: auth on every route and feed (test_auth_everywhere), named
tokens and scopes (test_tokens, test_mcp_access, tests/instances/test_tokens), CORS
(test_cors), connection limits and slow clients (test_connection_limits,
test_slow_clients, test_mcp_slow_client), what the log keeps and one write may add
(test_the_event_log_is_bounded, test_one_write_adds_a_bounded_amount_to_the_log,
test_one_request_does_not_multiply_in_the_log), sizes (test_list_sizes,
test_deep_chains), file modes (test_file_modes), log redaction (test_log_redaction),
and every answer documented (test_openapi_fuzz). Host and Origin checks and body
limits are tested where they were built (tests/http_api/test_rest.py,
test_robustness.py, test_live.py).
"""

# Each finding of the review, and the tests that prove it fixed ("path::name").
FINDINGS: dict[str, tuple[str, ...]] = {
    "--log-level debug printed the Authorization header": (
        "tests/security/test_log_redaction.py::test_no_token_in_any_log_line_at_debug_level",
    ),
    "--access-log with ?token= crashed the formatter on every request": (
        "tests/cli/test_serve.py::test_tokens_in_request_lines_are_masked_in_the_log",
        "tests/security/test_log_redaction.py::test_the_access_log_keeps_its_arguments",
    ),
    "/assets/index.html had no CSP and could be framed": (
        "tests/http_api/test_board.py::test_every_file_of_the_board_has_its_security_headers",
    ),
    "a deeply nested JSON message on /ws dropped the TCP connection": (
        "tests/http_api/test_live.py::test_a_message_nested_too_deeply_gets_an_error_then_a_close",
    ),
    "--host 127.0.0.2 was refused as its own Host header": (
        "tests/cli/test_serve.py::test_an_explicit_loopback_host_is_allowed_as_its_own_host_header",
    ),
    "If-None-Match ignored weak validators": (
        "tests/http_api/test_rest.py::test_if_none_match_takes_weak_tags_lists_and_a_star",
        "tests/test_protocol.py::test_if_none_match_compares_weakly_any_tag_of_a_list",
    ),
    "If-Match with a well-formed foreign ETag was a 400, not a 412": (
        "tests/http_api/test_rest.py::test_if_match_with_an_etag_not_ours_is_a_failed_precondition",
    ),
    "a 2.6 KB session POST added 25 MB of events": (
        "tests/security/test_one_request_does_not_multiply_in_the_log.py",
    ),
    "one non-reading GET /mcp stream stalled every MCP client's notifications": (
        "tests/security/test_mcp_slow_client.py",
    ),
    "listing more than 32,766 tasks failed": ("tests/security/test_list_sizes.py",),
    "deleting a project with a 1,000-deep sub-task chain was a 500": (
        "tests/security/test_deep_chains.py",
    ),
    "the data directory and database files were readable by other users": (
        "tests/security/test_file_modes.py",
    ),
    "the event log was bounded by count only, and its space never given back": (
        "tests/security/test_the_event_log_is_bounded.py::test_pruning_by_bytes_keeps_the_newest_within_the_bound",
        "tests/security/test_the_event_log_is_bounded.py::test_pruning_by_age_keeps_what_is_younger",
        "tests/security/test_the_event_log_is_bounded.py::test_sqlite_gives_the_space_of_a_pruned_log_back",
    ),
    "one write could add any amount to the log": (
        "tests/security/test_one_write_adds_a_bounded_amount_to_the_log.py::test_a_rest_write_over_the_bound_is_413_and_nothing_is_committed",
    ),
    "no connection limit, and a client trickling its headers held its connection forever": (
        "tests/security/test_connection_limits.py::test_a_thousand_idle_connections_leave_others_served",
        "tests/security/test_connection_limits.py::test_past_the_cap_a_new_connection_gets_503_and_the_served_ones_go_on",
        "tests/security/test_slow_clients.py::test_a_client_trickling_its_head_gets_408_at_the_head_timeout",
    ),
    "feed clients that never read could grow the server's memory": (
        "tests/security/test_slow_clients.py::test_live_clients_that_never_read_are_cut_off_and_memory_stays_bounded",
        "tests/security/test_slow_clients.py::test_a_websocket_client_pinging_but_never_reading_is_dropped",
    ),
    "?token= was accepted on REST, where a header is possible": (
        "tests/security/test_tokens.py::test_the_feeds_take_a_read_token_in_the_url_and_rest_refuses_it",
    ),
}
