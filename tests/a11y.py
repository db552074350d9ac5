"""axe-core in the browser tests (issue 19): run it on a Playwright page, get its violations, fail on any.

axe-core comes from the `axe-playwright-python` package of the `test` extra, which ships `axe.min.js`; only
that file is used (injected with `page.evaluate`, which the pages' Content-Security-Policy does not block).
The rules run are WCAG 2.0, 2.1 and 2.2 at levels A and AA plus axe's best practices
(`page-has-heading-one`, `region`, `landmark-one-main`, `heading-order`…).

    from tests.a11y import assert_accessible
    assert_accessible(page)                      # the whole page as it stands now
    assert_accessible(page, "inbox list, en")    # a label for the failure message

Use it on a page that has settled (wait for what the test expects first): axe reads the DOM as it is.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from playwright.sync_api import Page

TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice")


@cache
def axe_source() -> str:
    return resources.files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


def axe_violations(page: Page, *, disable: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (one dict per rule, with its failing `nodes`).

    `disable` names rules to skip; every use needs a reason in a comment where it is called."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    options: dict[str, Any] = {"runOnly": {"type": "tag", "values": list(TAGS)}, "resultTypes": ["violations"]}
    if disable:
        options["rules"] = {rule: {"enabled": False} for rule in disable}
    result: dict[str, Any] = page.evaluate("(options) => window.axe.run(document, options)", options)
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    """A readable account: rule, impact, help, and each failing element's selector and axe's summary."""
    lines: list[str] = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation.get('impact')}): {violation['help']}")
        for node in violation["nodes"]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {node['target']}: {node['html'][:160]}  — {summary[:300]}")
    return "\n".join(lines)


def assert_accessible(page: Page, label: str = "", *, disable: tuple[str, ...] = ()) -> None:
    """Fail with axe-core's account if the page has any violation."""
    violations = axe_violations(page, disable=disable)
    where = f"{label or page.url}: " if violations else ""
    assert not violations, where + f"{len(violations)} axe-core violation(s)\n" + describe(violations)
