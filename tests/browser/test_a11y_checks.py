"""The accessibility helpers catch what they are meant to catch (static pages, no stack needed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import a11y

GOOD = """
<style>.skip{position:absolute;left:-999px} .skip:focus{left:0}</style>
<a class="skip" href="#main">Skip to content</a>
<nav><a href="/one">One</a> <a href="/two">Two</a></nav>
<main id="main"><form>
  <label for="q">Search</label><input id="q" name="q">
  <label>Status <select name="status"><option>any</option></select></label>
  <textarea name="note" aria-label="Note"></textarea>
  <button>Filter</button>
</form></main>
"""


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    yield context.new_page()
    context.close()


def test_a_well_built_page_passes(page: Any) -> None:
    page.set_content(GOOD)
    a11y.assert_fields_labelled(page)
    stops = a11y.assert_keyboard_navigable(page)
    assert [s.text for s in stops if s.tag in ("a", "button")] == ["Skip to content", "One", "Two", "Filter"]


def test_a_field_without_label_is_named(page: Any) -> None:
    page.set_content(GOOD.replace('<label for="q">Search</label>', ""))
    assert a11y.unlabelled_fields(page) == ["input[name=q]"]


def test_a_positive_tabindex_breaks_the_order(page: Any) -> None:
    page.set_content(GOOD.replace('<a href="/two">', '<a href="/two" tabindex="1">'))
    with pytest.raises(AssertionError, match=r"(?i)tab"):
        a11y.assert_keyboard_navigable(page)


def test_an_invisible_focus_is_refused(page: Any) -> None:
    page.set_content("<style>button:focus{outline:none}</style>" + GOOD)
    with pytest.raises(AssertionError, match="focus not visible"):
        a11y.assert_keyboard_navigable(page)


def test_a_click_only_control_is_not_reached(page: Any) -> None:
    page.set_content(GOOD.replace("<button>Filter</button>", '<a onclick="go()">Filter</a><button>Go</button>'))
    # An <a> without href is not a link: Tab skips it, and the helper does not count it as reachable either.
    stops = a11y.assert_keyboard_navigable(page)
    assert "Filter" not in [s.text for s in stops]


def test_a_page_without_skip_link_is_refused(page: Any) -> None:
    page.set_content(GOOD.replace('<a class="skip" href="#main">Skip to content</a>', ""))
    with pytest.raises(AssertionError, match="skip link"):
        a11y.assert_keyboard_navigable(page)
