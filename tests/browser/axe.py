"""axe-core's accessibility rules run on the page as it is now: `problems(page,
where)` lists the violations as readable lines, `check(page, where)` fails on
any. Zero violations is the bar.

axe is put into the page with `page.evaluate` of the vendored file
(vendor/README.md), as the layout checks run their measuring scripts: the app's
Content-Security-Policy (script-src 'self') refuses an inline <script> such as
`page.add_script_tag` would add, and that refusal is a console error that the
fixtures count as a failure. A script run through the DevTools protocol is not
subject to the page's policy."""
from __future__ import annotations

from functools import cache
from pathlib import Path

AXE = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"

# WCAG 2.0, 2.1 and 2.2 level A and AA, and Deque's best practices (landmarks
# with unique names, one h1, …). Nothing is switched off: on this app's pages
# (axe 4.14.1) no best-practice rule needed an exception. Should one ever need
# it, pass `rules: {id: {enabled: false}}` below with the reason beside it.
# The dashboard (rewritten at the time this was written) had no violations
# either, so it is checked like every other page, with no list of known ones.
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

RUN = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.map(t => [].concat(t).join(" >> ")).join(" "),
                              html: n.html}))}));
}"""


@cache
def _source() -> str:
    return AXE.read_text(encoding="utf-8")


def violations(page) -> list[dict]:
    """axe's violations on the page's document now (axe injected once per document)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_source())
    return page.evaluate(RUN, TAGS)


def problems(page, where: str) -> list[str]:
    """One line per violation and affected element: rule, impact, selector, html."""
    lines = []
    for v in violations(page):
        for node in v["nodes"][:5]:
            html = " ".join(node["html"].split())
            html = html if len(html) <= 160 else html[:157] + "..."
            lines.append(f"{where}: axe {v['id']} ({v['impact']}: {v['help']}) "
                         f"at {node['target']}: {html}")
        if len(v["nodes"]) > 5:
            lines.append(f"{where}: axe {v['id']}: and {len(v['nodes']) - 5} more elements")
    return lines


def check(page, where: str) -> None:
    found = problems(page, where)
    assert not found, "accessibility violations (axe-core):\n" + "\n".join(found)
