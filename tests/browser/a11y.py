"""Accessibility checks every console page must pass, as helpers for the browser tests.

- ``unlabelled_fields(page)``: every input, select and textarea a person can fill has a name a screen reader
  announces: a <label> (wrapping or ``for=``), ``aria-label`` or ``aria-labelledby`` pointing at text.
- ``tab_through(page)``: presses Tab from the top of the page and records what gets the focus, and whether the
  focus is visible there (an outline or a box shadow under ``:focus-visible``).
- ``assert_keyboard_navigable(page)``: the skip link comes first, Tab reaches every visible link and button in
  document order (no positive tabindex jumbling it), and the focus is visible on each stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

_UNLABELLED = """
() => {
  const fillable = 'input:not([type=hidden]):not([type=submit]):not([type=button]):not([type=reset]), select, textarea';
  const named = (el) => {
    if (el.labels && Array.from(el.labels).some((l) => l.textContent.trim())) return true;
    if ((el.getAttribute('aria-label') || '').trim()) return true;
    const ids = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean);
    return ids.some((id) => { const t = document.getElementById(id); return t && t.textContent.trim(); });
  };
  return Array.from(document.querySelectorAll(fillable))
    .filter((el) => !named(el))
    .map((el) => `${el.tagName.toLowerCase()}[name=${el.getAttribute('name') || ''}]`);
}
"""

# Every focusable element gets its document-order index; the links and buttons a person can see and reach
# (disabled and hidden ones excluded) are returned: Tab must reach each of them.
_REACHABLE = """
() => {
  const focusable = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  const required = [];
  Array.from(document.querySelectorAll(focusable)).forEach((el, i) => {
    el.setAttribute('data-a11y-order', String(i));
    if (!el.matches('a[href], button, input[type=submit], input[type=button], summary')) return;
    if (el.disabled || el.closest('[hidden], [inert]') || el.tabIndex < 0) return;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    // A skip link shows only when focused.
    const skipLink = el.classList.contains('skip-link') || (el.getAttribute('href') || '').startsWith('#');
    if (!skipLink && (style.visibility === 'hidden' || style.display === 'none' || !box.width || !box.height)) return;
    required.push(String(i));
  });
  return required;
}
"""

# Tab then starts from the top: a focused element removed from the page leaves the starting point there.
_FROM_THE_TOP = """
() => {
  if (!document.body) return;
  const start = document.createElement('span');
  start.tabIndex = -1;
  document.body.prepend(start);
  start.focus();
  start.remove();
  window.scrollTo(0, 0);
}
"""

_FOCUSED = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  const shadow = style.boxShadow && style.boxShadow !== 'none';
  return {
    order: el.getAttribute('data-a11y-order'),
    tag: el.tagName.toLowerCase(),
    text: (el.textContent || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 60),
    href: el.getAttribute('href'),
    tabindex: el.tabIndex,
    visible_focus: Boolean(outline || shadow),
  };
}
"""


@dataclass(frozen=True)
class Stop:
    order: str | None
    tag: str
    text: str
    href: str | None
    tabindex: int
    visible_focus: bool


def unlabelled_fields(page: Any) -> list[str]:
    return list(page.evaluate(_UNLABELLED))


def assert_fields_labelled(page: Any) -> None:
    missing = unlabelled_fields(page)
    assert missing == [], f"form fields without a label on {page.url}: {missing}"


def tab_through(page: Any, limit: int = 250) -> tuple[list[str], list[Stop]]:
    """The reachable links and buttons (document order) and every focus stop met by pressing Tab."""
    page.wait_for_load_state()
    reachable = list(page.evaluate(_REACHABLE))
    page.evaluate(_FROM_THE_TOP)
    stops: list[Stop] = []
    seen: set[str] = set()
    previous = ""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED)
        if focused is None:
            break  # the focus left the document: a full round
        stop = Stop(**focused)
        key = stop.order or f"{stop.tag}:{stop.text}:{stop.href}"
        if key == previous:
            continue  # a date or time field moves through its own parts first
        if key in seen:
            break  # back to an earlier stop: a full round
        seen.add(key)
        previous = key
        stops.append(stop)
    return reachable, stops


def assert_keyboard_navigable(page: Any) -> list[Stop]:
    reachable, stops = tab_through(page)
    assert stops, f"Tab reaches nothing on {page.url}"
    first = stops[0]
    assert (first.href or "").startswith("#") or "skip" in first.text.lower() or "aller" in first.text.lower(), (
        f"the first Tab stop on {page.url} should be the skip link, not {first}"
    )
    reached = [s.order for s in stops if s.order is not None]
    missing = [order for order in reachable if order not in reached]
    assert missing == [], f"Tab never reaches {len(missing)} link(s)/button(s) on {page.url}"
    assert reached == sorted(reached, key=int), f"Tab order on {page.url} does not follow the page: {reached}"
    jumpers = [s for s in stops if s.tabindex > 0]
    assert jumpers == [], f"positive tabindex on {page.url}: {jumpers}"
    hidden_focus = [s for s in stops if not s.visible_focus]
    assert hidden_focus == [], f"focus not visible on {page.url}: {hidden_focus[:3]}"
    return stops


def assert_accessible(page: Any) -> None:
    """Both checks, for one page as it is now."""
    assert_fields_labelled(page)
    assert_keyboard_navigable(page)
