"""French and English for the console: catalogues, browser-language negotiation, an explicit override.

Messages live side by side (``{"key": {"en": ..., "fr": ...}}``) so a missing translation shows in a
test, not on a page. Each console module adds its own with ``add_messages`` at import time.
The language comes from ``?lang=`` (remembered in a cookie), else that cookie, else the browser's
``Accept-Language`` (q-values honoured), else English.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "console_lang"

_catalogue: dict[str, dict[str, str]] = {}


class MissingTranslation(ValueError):
    pass


def add_messages(messages: Mapping[str, Mapping[str, str]]) -> None:
    """Add messages, each in every language; a key already defined differently is refused."""
    for key, texts in messages.items():
        missing = [lang for lang in LANGUAGES if not texts.get(lang)]
        if missing:
            raise MissingTranslation(f"message {key!r} lacks {', '.join(missing)}")
        if key in _catalogue and _catalogue[key] != dict(texts):
            raise MissingTranslation(f"message {key!r} is defined twice with different texts")
        _catalogue[key] = dict(texts)


def message_keys() -> frozenset[str]:
    return frozenset(_catalogue)


def translate(lang: str, key: str, **values: Any) -> str:
    """The message in ``lang``; an unknown key shows as itself (visible in tests, harmless on a page)."""
    texts = _catalogue.get(key)
    text = (texts.get(lang) or texts[DEFAULT_LANGUAGE]) if texts else key
    return text.format(**values) if values else text


def supported(lang: str | None) -> str | None:
    code = (lang or "").strip().lower()[:2]
    return code if code in LANGUAGES else None


def negotiate(accept_language: str | None) -> str:
    """The best of our languages for an ``Accept-Language`` header (``fr-CH, fr;q=0.9, en;q=0.8``)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        lang = supported(tag)
        if lang and quality > 0:
            ranked.append((-quality, position, lang))
    return sorted(ranked)[0][2] if ranked else DEFAULT_LANGUAGE


def choose_language(query_lang: str | None, cookie_lang: str | None, accept_language: str | None) -> str:
    return supported(query_lang) or supported(cookie_lang) or negotiate(accept_language)


add_messages(
    {
        "app.name": {"en": "Sellsy bridge console", "fr": "Console du connecteur Sellsy"},
        "nav.label": {"en": "Main", "fr": "Principale"},
        "nav.accounts": {"en": "Accounts", "fr": "Comptes"},
        "nav.exchanges": {"en": "Exchanges", "fr": "Échanges"},
        "nav.interventions": {"en": "Interventions", "fr": "Interventions"},
        "nav.imports": {"en": "Imports", "fr": "Imports"},
        "skip.to_content": {"en": "Skip to content", "fr": "Aller au contenu"},
        "lang.label": {"en": "Language", "fr": "Langue"},
        "lang.en": {"en": "English", "fr": "English"},
        "lang.fr": {"en": "Français", "fr": "Français"},
        "signout.button": {"en": "Sign out", "fr": "Se déconnecter"},
        "signin.title": {"en": "Sign in", "fr": "Connexion"},
        "signin.token_label": {"en": "API token", "fr": "Jeton d'API"},
        "signin.token_help": {
            "en": "Paste the API token of the local stack (api_token in .local/stack.json, printed by make up).",
            "fr": "Collez le jeton d'API de la pile locale (api_token dans .local/stack.json, affiché par make up).",
        },
        "signin.button": {"en": "Sign in", "fr": "Se connecter"},
        "signin.cognito_intro": {
            "en": "Operators sign in with their account of the connector's user pool.",
            "fr": "Les opérateurs se connectent avec leur compte du groupe d'utilisateurs du connecteur.",
        },
        "signin.cognito_button": {"en": "Sign in with your operator account", "fr": "Se connecter avec votre compte"},
        "signin.wrong_token": {"en": "This token is not the API token.", "fr": "Ce jeton n'est pas le jeton d'API."},
        "signin.no_token": {
            "en": "No API token is configured on this stack.",
            "fr": "Aucun jeton d'API n'est configuré sur cette pile.",
        },
        "signin.failed": {
            "en": "The sign-in could not be completed: {reason}. Start again.",
            "fr": "La connexion n'a pas pu aboutir : {reason}. Recommencez.",
        },
        "signin.continue": {"en": "Continue to the console", "fr": "Continuer vers la console"},
        "signed_in_as": {"en": "Signed in as {who}", "fr": "Connecté : {who}"},
        "signed_out": {"en": "You are signed out.", "fr": "Vous êtes déconnecté."},
        "error.title": {"en": "Error {status}", "fr": "Erreur {status}"},
        "error.not_found": {"en": "There is no page at this address.", "fr": "Il n'y a pas de page à cette adresse."},
        "error.bad_request": {"en": "The request was not understood.", "fr": "La requête n'a pas été comprise."},
        "error.method": {
            "en": "This page cannot be used that way.",
            "fr": "Cette page ne s'utilise pas ainsi.",
        },
        "error.forbidden_origin": {
            "en": "Refused: the form was not sent from this console.",
            "fr": "Refusé : le formulaire n'a pas été envoyé depuis cette console.",
        },
        "error.csrf": {
            "en": "Refused: the form has expired or was not sent from this console. Reload the page and try again.",
            "fr": "Refusé : le formulaire a expiré ou ne vient pas de cette console. Rechargez la page et recommencez.",
        },
        "error.internal": {
            "en": "Something went wrong on our side (request {request_id}).",
            "fr": "Une erreur s'est produite de notre côté (requête {request_id}).",
        },
        "error.session_ended": {
            "en": "Your session has ended: sign in again, then repeat the action.",
            "fr": "Votre session a pris fin : reconnectez-vous, puis recommencez.",
        },
        "error.back": {"en": "Back to the accounts", "fr": "Retour aux comptes"},
        "page.home": {"en": "Console", "fr": "Console"},
    }
)
