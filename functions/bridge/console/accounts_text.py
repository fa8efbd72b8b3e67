"""Words of the accounts pages, in English and French, and the health issues worded in either."""

from __future__ import annotations

from typing import Any

from bridge.console.i18n import translate

MESSAGES: dict[str, dict[str, str]] = {
    "accounts.title": {"en": "Accounts", "fr": "Comptes"},
    "accounts.intro": {
        "en": "Each account is one Sellsy company connected to the field tools.",
        "fr": "Chaque compte est une société Sellsy reliée aux outils de terrain.",
    },
    "accounts.none": {"en": "No account yet.", "fr": "Aucun compte pour l'instant."},
    "accounts.new": {"en": "New account", "fr": "Nouveau compte"},
    "accounts.col.name": {"en": "Name", "fr": "Nom"},
    "accounts.col.status": {"en": "Status", "fr": "Statut"},
    "accounts.col.last_webhook": {"en": "Last webhook", "fr": "Dernier webhook"},
    "accounts.col.last_import": {"en": "Last import", "fr": "Dernier import"},
    "accounts.col.failures": {"en": "Failures (24 h)", "fr": "Échecs (24 h)"},
    "accounts.col.quota": {"en": "Daily quota left", "fr": "Quota du jour restant"},
    "accounts.col.webhook": {"en": "Webhook", "fr": "Webhook"},
    "accounts.col.attention": {"en": "Needs attention", "fr": "À surveiller"},
    "accounts.next_page": {"en": "Next accounts", "fr": "Comptes suivants"},
    "accounts.all_well": {"en": "All is well", "fr": "Tout va bien"},
    "accounts.never": {"en": "never", "fr": "jamais"},
    "accounts.unknown": {"en": "not known yet", "fr": "pas encore connu"},
    "status.active": {"en": "Connected", "fr": "Connecté"},
    "status.needs_reconnect": {"en": "Needs reconnecting", "fr": "À reconnecter"},
    "status.disconnected": {"en": "Disconnected", "fr": "Déconnecté"},
    "import.running": {"en": "running", "fr": "en cours"},
    "import.done": {"en": "done", "fr": "terminé"},
    "import.quota_reserve_reached": {"en": "stopped at the quota reserve", "fr": "arrêté à la réserve de quota"},
    "import.needs_reconnect": {"en": "stopped: reconnect needed", "fr": "arrêté : reconnexion nécessaire"},
    "import.failed": {"en": "failed", "fr": "en échec"},
    "webhook.registered": {"en": "registered (id {id})", "fr": "enregistré (id {id})"},
    "webhook.not_registered": {"en": "not registered", "fr": "non enregistré"},
    "webhook.key_missing": {"en": "no signing key", "fr": "pas de clé de signature"},
    "webhook.register": {"en": "Register the webhook in Sellsy", "fr": "Enregistrer le webhook dans Sellsy"},
    "webhook.not_connected": {
        "en": "Connect the account first: the webhook is registered with its Sellsy credentials.",
        "fr": "Connectez d'abord le compte : le webhook s'enregistre avec ses identifiants Sellsy.",
    },
    "webhook.needs_reconnect": {
        "en": "Sellsy no longer accepts this account's credentials: reconnect it.",
        "fr": "Sellsy n'accepte plus les identifiants de ce compte : reconnectez-le.",
    },
    "webhook.refused": {"en": "Sellsy refused the webhook: {reason}", "fr": "Sellsy a refusé le webhook : {reason}"},
    "issue.not_active": {"en": "The account is {status}.", "fr": "Le compte est {status}."},
    "issue.no_webhook": {"en": "No webhook registered in Sellsy.", "fr": "Aucun webhook enregistré dans Sellsy."},
    "issue.no_signing_key": {
        "en": "No webhook signing key: every delivery is refused.",
        "fr": "Pas de clé de signature du webhook : chaque envoi est refusé.",
    },
    "issue.last_import": {"en": "The last import {status}.", "fr": "Le dernier import : {status}."},
    "issue.import_overdue": {
        "en": "No successful import in 26 hours.",
        "fr": "Aucun import réussi depuis 26 heures.",
    },
    "issue.failures": {"en": "{count} failed exchanges in 24 hours.", "fr": "{count} échanges en échec en 24 heures."},
    "detail.facts": {"en": "Connection", "fr": "Connexion"},
    "detail.id": {"en": "Account id", "fr": "Identifiant du compte"},
    "detail.method": {"en": "Connected with", "fr": "Connecté par"},
    "detail.connected_at": {"en": "Connected at", "fr": "Connecté le"},
    "detail.reason": {"en": "Why", "fr": "Raison"},
    "detail.health": {"en": "Health", "fr": "Santé"},
    "detail.last_success": {"en": "Last successful import", "fr": "Dernier import réussi"},
    "detail.see_failures": {"en": "See the failed exchanges", "fr": "Voir les échanges en échec"},
    "detail.actions": {"en": "Actions", "fr": "Actions"},
    "detail.settings": {"en": "Settings", "fr": "Réglages"},
    "method.client_credentials": {"en": "client credentials", "fr": "identifiants client"},
    "method.access_token": {"en": "a pasted token", "fr": "un jeton collé"},
    "method.authorization_code": {"en": "Sellsy sign-in (OAuth)", "fr": "connexion Sellsy (OAuth)"},
    "notice.created": {"en": "Account created. Connect it to Sellsy now.", "fr": "Compte créé. Connectez-le à Sellsy."},
    "notice.connected": {"en": "Connected to Sellsy.", "fr": "Connecté à Sellsy."},
    "notice.disconnected": {
        "en": "Disconnected: the Sellsy credentials are forgotten.",
        "fr": "Déconnecté : les identifiants Sellsy sont oubliés.",
    },
    "notice.webhook_registered": {"en": "Webhook registered in Sellsy.", "fr": "Webhook enregistré dans Sellsy."},
    "notice.saved": {"en": "Saved.", "fr": "Enregistré."},
    "accounts.new.title": {"en": "New account", "fr": "Nouveau compte"},
    "accounts.new.name": {"en": "Name", "fr": "Nom"},
    "accounts.new.name_help": {
        "en": "The company as operators know it, e.g. Dupont Plomberie.",
        "fr": "La société telle que les opérateurs la connaissent, p. ex. Dupont Plomberie.",
    },
    "accounts.new.id": {"en": "Account id (optional)", "fr": "Identifiant du compte (facultatif)"},
    "accounts.new.id_help": {
        "en": "Letters, digits, - and _. Left empty, one is made up.",
        "fr": "Lettres, chiffres, - et _. Laissé vide, il est créé pour vous.",
    },
    "accounts.new.create": {"en": "Create the account", "fr": "Créer le compte"},
    "accounts.new.invalid": {
        "en": "Give a name, and an id made of letters, digits, - and _ only.",
        "fr": "Indiquez un nom, et un identifiant fait de lettres, chiffres, - et _ seulement.",
    },
    "accounts.new.taken": {"en": "An account with this id exists already.", "fr": "Un compte a déjà cet identifiant."},
    "connect.title": {"en": "Connect {name} to Sellsy", "fr": "Connecter {name} à Sellsy"},
    "reconnect.title": {"en": "Reconnect {name} to Sellsy", "fr": "Reconnecter {name} à Sellsy"},
    "connect.button": {"en": "Connect", "fr": "Connecter"},
    "reconnect.button": {"en": "Reconnect", "fr": "Reconnecter"},
    "connect.choose": {
        "en": "Choose one way; what you type in a secret field is sent to Sellsy and never shown again.",
        "fr": "Choisissez une façon ; ce que vous tapez dans un champ secret part vers Sellsy "
        "et n'est plus jamais affiché.",
    },
    "connect.oauth.title": {"en": "Sign in with Sellsy (recommended)", "fr": "Se connecter avec Sellsy (conseillé)"},
    "connect.oauth.help": {
        "en": "You are sent to Sellsy to grant access, then back here. Leave the fields empty to use the "
        "connector's own Sellsy application.",
        "fr": "Vous passez par Sellsy pour autoriser l'accès, puis revenez ici. Laissez les champs vides pour "
        "utiliser l'application Sellsy du connecteur.",
    },
    "connect.oauth.button": {"en": "Continue with Sellsy", "fr": "Continuer avec Sellsy"},
    "connect.client_id": {"en": "Client id", "fr": "Identifiant client (client id)"},
    "connect.client_secret": {"en": "Client secret", "fr": "Secret client (client secret)"},
    "connect.oauth_client_id": {"en": "Client id (optional)", "fr": "Identifiant client (facultatif)"},
    "connect.oauth_client_secret": {"en": "Client secret (optional)", "fr": "Secret client (facultatif)"},
    "connect.cc.title": {"en": "Client credentials", "fr": "Identifiants client"},
    "connect.cc.help": {
        "en": "From a personal API client made in Sellsy (Settings, API access).",
        "fr": "D'un client API personnel créé dans Sellsy (Réglages, accès API).",
    },
    "connect.token.title": {"en": "Paste an access token", "fr": "Coller un jeton d'accès"},
    "connect.token.help": {
        "en": "A token works until it expires; the connector cannot renew it.",
        "fr": "Un jeton marche jusqu'à son expiration ; le connecteur ne peut pas le renouveler.",
    },
    "connect.token": {"en": "Access token", "fr": "Jeton d'accès"},
    "connect.expires_at": {"en": "Expires at (optional)", "fr": "Expire le (facultatif)"},
    "connect.expires_help": {
        "en": "Year-month-day and time, e.g. 2027-01-31 18:00 (UTC, unless you add an offset such as +01:00).",
        "fr": "Année-mois-jour et heure, p. ex. 2027-01-31 18:00 (UTC, sauf décalage ajouté comme +01:00).",
    },
    "connect.need_both": {
        "en": "Give both the client id and the client secret.",
        "fr": "Indiquez l'identifiant et le secret.",
    },
    "connect.bad_token": {
        "en": "This does not look like a token (at least 8 characters, no spaces).",
        "fr": "Ceci ne ressemble pas à un jeton (8 caractères au moins, sans espace).",
    },
    "connect.bad_expiry": {"en": "The expiry date is not a date.", "fr": "La date d'expiration n'est pas une date."},
    "connect.refused": {"en": "Sellsy refused: {reason}", "fr": "Sellsy a refusé : {reason}"},
    "connect.unavailable": {
        "en": "Sellsy could not be reached; try again in a moment.",
        "fr": "Sellsy est injoignable ; réessayez dans un instant.",
    },
    "connect.oauth_app_missing": {
        "en": "The connector has no Sellsy application configured: give a client id (and secret) of your own.",
        "fr": "Le connecteur n'a pas d'application Sellsy configurée : indiquez votre identifiant client "
        "(et son secret).",
    },
    "oauth.done": {"en": "Connected to Sellsy", "fr": "Connecté à Sellsy"},
    "oauth.failed": {"en": "The connection did not succeed", "fr": "La connexion n'a pas abouti"},
    "oauth.continue": {"en": "Back to the console", "fr": "Retour à la console"},
    "disconnect.title": {"en": "Disconnect {name}?", "fr": "Déconnecter {name} ?"},
    "disconnect.explain": {
        "en": "The Sellsy credentials are forgotten and nothing syncs until you connect again. "
        "Settings and history are kept.",
        "fr": "Les identifiants Sellsy sont oubliés et plus rien ne se synchronise avant une nouvelle connexion. "
        "Les réglages et l'historique sont gardés.",
    },
    "disconnect.button": {"en": "Disconnect", "fr": "Déconnecter"},
    "disconnect.confirm": {"en": "Yes, disconnect", "fr": "Oui, déconnecter"},
    "disconnect.cancel": {"en": "Cancel", "fr": "Annuler"},
}


def problem_text(lang: str, issue: dict[str, Any]) -> str:
    code = issue["code"]
    if code == "not_active":
        status = translate(lang, f"status.{issue['status']}")
        return translate(lang, "issue.not_active", status=status.lower())
    if code == "last_import":
        return translate(lang, "issue.last_import", status=translate(lang, f"import.{issue['status']}"))
    if code == "failures":
        count = f"{issue['count']}{'+' if issue.get('capped') else ''}"
        return translate(lang, "issue.failures", count=count)
    return translate(lang, f"issue.{code}")
