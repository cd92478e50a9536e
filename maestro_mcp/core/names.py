"""When two names are the same name: the one rule every face uses.

A project is found by its name as people type it, so matching ignores what people
do not see or do not mean: surrounding spaces, case in any script (``Ärger`` is
``ärger``, ``Straße`` is ``STRASSE``), and compatibility forms such as full-width
letters (U+FF37, full-width ``W``, is ``W``).

Rule: every face (CLI, REST, MCP, the store) matches names with ``name_key`` or
``same_name`` and nothing else. SQL's ``COLLATE NOCASE`` folds ASCII letters only,
so it is not this rule: the service compares names with ``same_name`` in Python
(projects are few), never in SQL.
"""

import unicodedata


def name_key(name: str) -> str:
    """The form two names are compared in: NFKC-normalised, stripped, case-folded.

    NFKC runs again after case folding because folding can produce text that is not
    normalised (Unicode's "NFKC_Casefold" applies the same idea).
    """
    folded = unicodedata.normalize("NFKC", name).strip().casefold()
    return unicodedata.normalize("NFKC", folded)


def same_name(a: str, b: str) -> bool:
    """Whether ``a`` and ``b`` name the same thing under ``name_key``."""
    return name_key(a) == name_key(b)
