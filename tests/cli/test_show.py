"""How listings end: ``may_be_more`` under one that came back as long as it asked for."""

from maestro_mcp.cli.show import may_be_more


def test_a_shorter_listing_is_whole() -> None:
    assert may_be_more(2, 3, 10) is None


def test_a_full_listing_says_there_may_be_more_and_how_to_see_it() -> None:
    more = may_be_more(3, 3, 10, "read them")
    assert more is not None
    assert more.plain == "the oldest 3: there may be more; read them; --limit shows more"
    assert more.style == "dim"


def test_at_the_most_a_listing_returns_no_larger_limit_is_offered() -> None:
    more = may_be_more(10, 10, 10, newest=True)
    assert more is not None
    assert more.plain == "the newest 10: there may be more"
