"""axe-core, the accessibility checker, run in a page the browser tests opened.

The rules:

- axe-core comes from npm at the version ``tests/support/npm/package-lock.json`` pins;
  ``scripts/ensure-axe`` installs it there (``make test`` runs it). Missing, or another
  version than the lock's, the test skips saying so, and fails under ``CI=true``
  (``tests/support/ci.py``): CI never passes by not checking.
- ``assert_accessible`` runs the WCAG 2.0, 2.1 and 2.2 level A and AA rules and fails on
  any violation whose impact is serious or critical, with a report naming each rule, its
  impact and help, and the offending nodes (their selectors and HTML).
- How axe gets into the page: its source is evaluated through Playwright
  (``page.evaluate``, the DevTools protocol's ``Runtime.evaluate``), which a page's
  Content-Security-Policy does not govern. The board's policy (``script-src 'self'``)
  refuses an inline ``<script>``, so ``add_script_tag(content=...)`` cannot work, and
  serving axe from the board's origin would ship a test tool in the package. A context
  with ``bypass_csp`` would work too, but the page checked would no longer be the page
  users get: whatever only works, or only breaks, under the policy would go unseen.
  Evaluating leaves the page, its policy included, exactly as served.
"""

import functools
import json
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from .ci import missing

NPM = Path(__file__).parent / "npm"
PACKAGE = NPM / "node_modules" / "axe-core"
SCRIPT = PACKAGE / "axe.min.js"
# The WCAG 2 A and AA rules (axe's tags; AAA and its best practices are not asked for).
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
FAILING_IMPACTS = ("serious", "critical")


def locked_version() -> str:
    """The axe-core version the lock file pins."""
    lock = json.loads((NPM / "package-lock.json").read_text())
    version: str = lock["packages"]["node_modules/axe-core"]["version"]
    return version


def _installed_problem() -> str | None:
    """Why the pinned axe-core cannot be used here, or None."""
    wanted = locked_version()
    if not SCRIPT.is_file():
        return f"axe-core {wanted} is not installed: run scripts/ensure-axe (it needs npm)"
    installed = json.loads((PACKAGE / "package.json").read_text())["version"]
    if installed != wanted:
        return (
            f"axe-core {installed} is installed where the lock file pins {wanted}: "
            "run scripts/ensure-axe"
        )
    return None


@functools.cache
def _source() -> str:
    problem = _installed_problem()
    if problem is not None:
        missing(problem)
    return SCRIPT.read_text(encoding="utf-8")


def violations(page: Page, *, include: str | None = None) -> list[dict[str, Any]]:
    """axe's WCAG A/AA violations in ``page`` (or in the elements ``include`` selects),
    each with its rule id, impact, help and nodes."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate("() => {\n" + _source() + "\n}")
    found: list[dict[str, Any]] = page.evaluate(
        """async ([include, tags]) => {
            const results = await window.axe.run(include === null ? document : include, {
                runOnly: { type: "tag", values: tags },
                resultTypes: ["violations"],
            });
            return results.violations.map((v) => ({
                id: v.id,
                impact: v.impact,
                help: v.help,
                helpUrl: v.helpUrl,
                nodes: v.nodes.map((n) => ({
                    target: n.target.join(" "),
                    html: n.html,
                    impact: n.impact,
                    summary: n.failureSummary,
                })),
            }));
        }""",
        [include, list(WCAG_TAGS)],
    )
    return found


def report(found: list[dict[str, Any]]) -> str:
    """A readable account of ``found`` violations: rule, impact, help, then each node."""
    lines = [
        f"{len(found)} accessibility violation(s) (axe-core {locked_version()}, "
        f"WCAG 2 A/AA; failing: {'/'.join(FAILING_IMPACTS)}):"
    ]
    for violation in found:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation['help']} "
            f"<{violation['helpUrl']}>"
        )
        for node in violation["nodes"]:
            lines.append(f"    {node['target']}    {node['html'][:200]}")
            for detail in (node["summary"] or "").splitlines():
                lines.append(f"        {detail}")
    return "\n".join(lines)


def assert_accessible(page: Page, *, include: str | None = None) -> None:
    """Fail, with ``report``, if axe finds a serious or critical WCAG A/AA violation in
    ``page`` (or in the elements ``include`` selects)."""
    failing = [v for v in violations(page, include=include) if v["impact"] in FAILING_IMPACTS]
    assert not failing, report(failing)
