"""Lists of ids in SQLite statements: one parameter, however long the list.

The rule: no statement binds one parameter per row. SQLite caps the parameters one
statement may bind (32,766 on stock builds since 3.32, 999 before, whatever a build chose
otherwise), and ``IN (:a, :b, …)`` takes a parse whose time grows with the square of
its length. A list of ids goes in as ONE parameter instead, a JSON array that
``json_each`` reads back as rows::

    f"WHERE id IN ({EACH})"  with the parameter  id_list(ids)

(The PostgreSQL backend binds one array the same way: ``= ANY(%s)``.)

So that a statement breaking the rule fails on every build, in the tests too, and not
only where SQLite was built with the smaller limit, every connection the store opens
lowers the limit to ``PARAMETERS_MAX``: the smallest stock builds have had. No statement
of Maestro's binds more than a row's columns.
"""

import json
from collections.abc import Iterable

PARAMETERS_MAX = 999

EACH = "SELECT value FROM json_each(?)"
"""The ids of the list bound at this ``?``, as rows (a subquery: ``IN ({EACH})``)."""


def each(name: str) -> str:
    """``EACH`` for a named parameter (statements that bind by name)."""
    return f"SELECT value FROM json_each(:{name})"


def id_list(ids: Iterable[str]) -> str:
    """The value to bind for ``EACH``: the ids as one JSON array."""
    return json.dumps(list(ids), separators=(",", ":"))
