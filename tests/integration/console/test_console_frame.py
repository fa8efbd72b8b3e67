"""The console's frame over real HTTP: sign-in with the API token, session cookie, CSRF, static assets, errors."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.console.conftest import Browser

pytestmark = [pytest.mark.e2e]


def test_a_page_without_session_goes_to_sign_in_and_back(browser: Browser, console_stack: Any) -> None:
    answer = browser.get("/console/accounts?cursor=")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/signin?next=%2Fconsole%2Faccounts%3Fcursor%3D"
    signed = browser.sign_in(console_stack.api_token, next_path="/console/accounts")
    assert signed.status_code == 303 and signed.headers["location"] == "/console/accounts"
    page = browser.get("/console/accounts")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'href="#content"' in page.text  # skip link
    assert 'aria-current="page"' in page.text


def test_session_cookie_is_signed_httponly_strict_and_not_the_token(browser: Browser, console_stack: Any) -> None:
    answer = browser.sign_in(console_stack.api_token)
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("console_session="))
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Path=/console" in session
    assert "Max-Age=" in session
    assert "Secure" not in session  # plain http on loopback; Secure is set when served over https
    assert console_stack.api_token not in session


def test_wrong_token_is_refused_and_not_echoed(browser: Browser) -> None:
    answer = browser.sign_in("not-the-token-0123456789")
    assert answer.status_code == 401
    assert "not-the-token-0123456789" not in answer.text
    assert "console_session=" not in " ".join(answer.headers.get_list("set-cookie"))
    assert browser.get("/console/accounts").status_code == 303


def test_sign_in_needs_the_form_nonce(browser: Browser, console_stack: Any) -> None:
    browser.get("/console/signin")
    answer = browser.post("/console/signin", {"token": console_stack.api_token, "signin_nonce": "forged"})
    assert answer.status_code == 403
    assert browser.get("/console/accounts").status_code == 303


def test_tampered_cookie_is_no_session(signed_in: Browser) -> None:
    value = signed_in.client.cookies["console_session"]
    signed_in.client.cookies.clear()
    body, signature = value.split(".")
    signed_in.client.cookies.set("console_session", f"{body}x.{signature}", path="/console")
    assert signed_in.get("/console/accounts").status_code == 303


def test_post_without_csrf_token_or_from_another_origin_is_refused(signed_in: Browser) -> None:
    token = signed_in.csrf()
    assert signed_in.post("/console/signout", {}).status_code == 403
    assert signed_in.post("/console/signout", {"csrf_token": "wrong"}).status_code == 403
    other = signed_in.post("/console/signout", {"csrf_token": token}, origin="https://evil.example")
    assert other.status_code == 403
    assert signed_in.post("/console/signout", {"csrf_token": token}, origin=None).status_code == 403
    assert signed_in.get("/console/accounts").status_code == 200  # still signed in


def test_sign_out_ends_the_session(signed_in: Browser) -> None:
    token = signed_in.csrf()
    answer = signed_in.post("/console/signout", {"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/signin")
    assert "console_session=;" in " ".join(answer.headers.get_list("set-cookie"))
    assert signed_in.get("/console/accounts").status_code == 303


def test_language_follows_the_browser_and_the_override_sticks(signed_in: Browser) -> None:
    french = signed_in.get("/console/accounts", headers={"Accept-Language": "fr-CH, fr;q=0.9, en;q=0.8"})
    assert '<html lang="fr">' in french.text and "Comptes" in french.text
    english = signed_in.get("/console/accounts", headers={"Accept-Language": "de, en;q=0.5"})
    assert '<html lang="en">' in english.text
    chosen = signed_in.get("/console/accounts?lang=fr", headers={"Accept-Language": "en"})
    assert '<html lang="fr">' in chosen.text
    assert "console_lang=fr" in " ".join(chosen.headers.get_list("set-cookie"))
    later = signed_in.get("/console/accounts", headers={"Accept-Language": "en"})
    assert '<html lang="fr">' in later.text


def test_static_assets_are_versioned_and_cached(browser: Browser) -> None:
    page = browser.get("/console/signin")
    href = page.text.split('rel="stylesheet" href="')[1].split('"')[0]
    assert href.startswith("/console/static/console.css?v=")
    css = browser.get(href)
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = browser.get(href, headers={"If-None-Match": css.headers["etag"]})
    assert again.status_code == 304
    stale = browser.get("/console/static/console.css?v=old")
    assert stale.headers["cache-control"] == "public, max-age=300"
    assert browser.get("/console/static/..%2Fsession.py").status_code == 404
    assert browser.get("/console/static/nothing.css").status_code == 404


def test_unknown_console_page_is_an_html_404_and_the_json_api_still_needs_its_token(
    signed_in: Browser,
) -> None:
    missing = signed_in.get("/console/no-such-page")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    wrong_method = signed_in.client.put("/console/accounts", headers={"Origin": signed_in.base_url})
    assert wrong_method.status_code in (403, 405)
    # The console's cookie opens no door of the JSON API.
    assert signed_in.get("/accounts").status_code == 401


def test_make_up_prints_the_console_url_that_opens_after_sign_in(
    console_stack: Any, browser: Browser, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    import infra.local.__main__ as local_main
    import infra.local.console as terminal

    monkeypatch.setattr(terminal, "_terminal", sys.stdout)  # what `say` writes to, captured here

    assert console_stack.describe()["console_url"] == f"{console_stack.api_url}/console/accounts"
    # `make up` serves until a signal: the event stands in for Ctrl-C, already pressed.
    monkeypatch.setattr(local_main.threading.Event, "wait", lambda self, timeout=None: True)
    monkeypatch.setattr(local_main.signal, "signal", lambda *args: None)
    assert local_main.serve_until_interrupted(console_stack) == 0
    printed = capsys.readouterr().out
    assert f"Open the console: {console_stack.console_url}" in printed
    path = console_stack.console_url.removeprefix(console_stack.api_url)
    assert browser.sign_in(console_stack.api_token, next_path=path).headers["location"] == path
    assert browser.get(path).status_code == 200


@pytest.mark.parametrize("path", ["/console", "/console/"])
def test_console_root_leads_to_the_accounts(signed_in: Browser, path: str) -> None:
    answer = signed_in.get(path)
    assert answer.status_code == 302 and answer.headers["location"] == "/console/accounts"
