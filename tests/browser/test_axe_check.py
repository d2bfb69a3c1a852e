"""The accessibility check the browser suite runs on every page it visits
(tests/browser/axe.py) can fail: on a page with known faults it names the rule,
the element and its html, and on a clean page it finds nothing."""
from __future__ import annotations

import pytest

from tests.browser import axe

pytestmark = pytest.mark.browser

CLEAN = """<!doctype html><html lang="en"><head><title>Clean</title></head>
<body><main><h1>Clean</h1><label for="q">Search</label><input id="q"></main></body></html>"""
FAULTY = """<!doctype html><html lang="en"><head><title>Faulty</title>
<style>.pale { color: #bbb; background: #fff; }</style></head>
<body><main><h1>Faulty</h1><input id="unlabelled">
<p class="pale">Hard to read</p></main></body></html>"""


def test_a_page_with_faults_is_reported_rule_by_rule_with_the_element(browser):
    page = browser.new_page()
    try:
        page.set_content(FAULTY)
        found = axe.problems(page, "faulty")
        rules = {line.split(" axe ", 1)[1].split(" ", 1)[0] for line in found}
        assert {"label", "color-contrast"} <= rules, found
        [label] = [line for line in found if " axe label " in line]
        assert label.startswith("faulty: axe label (critical: ") and "#unlabelled" in label
        assert '<input id="unlabelled">' in label
        with pytest.raises(AssertionError, match="color-contrast"):
            axe.check(page, "faulty")
    finally:
        page.close()


def test_a_clean_page_passes(browser):
    page = browser.new_page()
    try:
        page.set_content(CLEAN)
        assert axe.problems(page, "clean") == []
        axe.check(page, "clean")
    finally:
        page.close()
