"""One Unicode-aware rule for matching names (maestro_mcp/core/names.py)."""

import pytest

from maestro_mcp.core.names import name_key, same_name


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Web app", "web APP"),
        ("Ärger", "ärger"),  # case outside ASCII, which SQL's NOCASE misses
        ("Straße", "STRASSE"),  # full case folding, not lower()
        ("ΣΊΣΥΦΟΣ", "σίσυφος"),  # final sigma
        ("\uff37\uff45\uff42 \uff41\uff50\uff50", "Web app"),  # full-width letters
        ("  Web app\t", "Web app"),  # surrounding spaces
        ("Cafe\u0301", "Café"),  # decomposed and composed accents
        ("\u3000Web app", "web app"),  # an ideographic space is a space too
    ],
)
def test_names_that_read_the_same_match(a: str, b: str) -> None:
    assert same_name(a, b)
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Web app", "Webapp"),  # inner spaces count
        ("Web app", "Web  app"),
        ("Cafe", "Café"),  # accents count
        ("Ärger", "Arger"),
        ("web-app", "web_app"),
    ],
)
def test_names_that_differ_do_not_match(a: str, b: str) -> None:
    assert not same_name(a, b)


def test_the_key_is_stable() -> None:
    for name in ("Straße", "\uff37\uff45\uff42", " Ärger ", "ǅemal", "ﬁle"):
        key = name_key(name)
        assert name_key(key) == key
