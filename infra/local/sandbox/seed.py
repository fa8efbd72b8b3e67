"""Deterministic seed data: the same (seed, size) always gives the same objects.

Customers, catalogue and reference data are materialised at start (they scale as size/5 at most);
documents (estimates, invoices, credit notes) are rendered on demand from (seed, kind, id), so a
sandbox with 50,000 invoices starts in a moment and keeps a small memory footprint.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from infra.local.sandbox import french

CENT = Decimal("0.01")
EPOCH = date(2023, 1, 1)
TODAY = date(2026, 11, 20)
TAX_RATES = (("20", "TVA 20%"), ("10", "TVA 10%"), ("5.5", "TVA 5,5%"), ("2.1", "TVA 2,1%"), ("0", "Exonéré"))
UNITS = (("heure", "HUR"), ("pièce", "H87"), ("forfait", "C62"), ("m²", "MTK"), ("jour", "DAY"))
CURRENCIES = (("EUR", "€"), ("USD", "$"), ("GBP", "£"), ("CHF", "CHF"), ("CAD", "$CA"))
INVOICE_STATUSES = ("draft", "due", "payinprogress", "paid", "late", "cancelled")
ESTIMATE_STATUSES = (
    "draft",
    "sent",
    "read",
    "accepted",
    "refused",
    "expired",
    "advanced",
    "partialinvoiced",
    "invoiced",
    "cancelled",
)
CREDIT_NOTE_STATUSES = ("draft", "stored", "partialspend", "spent", "cancelled")
OPPORTUNITY_STATUSES = ("open", "won", "lost", "cancelled", "closed", "late")
PIPELINE_STEPS = (
    ("Découverte", 10),
    ("Visite technique", 30),
    ("Devis envoyé", 50),
    ("Négociation", 75),
    ("Signature", 90),
)
# The "annual contract" boolean drives recurrence in the connector (F4: custom fields → tags → recurrence).
CUSTOM_FIELDS = (
    (1, "Contrat annuel", "annual-contract", "boolean", ["document", "client", "prospect", "opportunity"]),
    (2, "Fin de contrat", "contract-end", "date", ["document", "client", "opportunity"]),
    (3, "Code site", "site-code", "simple-text", ["document", "client", "prospect", "opportunity"]),
    (4, "Nombre d'équipements", "equipment-count", "numeric", ["document", "client", "opportunity"]),
    # Where the connector keeps its exactly-once markers: documents only, never printed (show_on_pdf false).
    (5, "Référence connecteur", "sellsy-bridge-marker", "simple-text", ["document"]),
)
SMART_TAGS = ("vip", "contrat-entretien", "chantier", "urgent", "parrainage", "relance")


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def iso_datetime(day: date, seconds: int = 36_000) -> str:
    moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=seconds)
    return moment.isoformat().replace("+00:00", "+00:00")


def _luhn_complete(digits: str) -> str:
    """Append the Luhn check digit (SIREN and SIRET are Luhn numbers)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (1 if index % 2 else 2)  # the check digit will take position 0
        total += value - 9 if value > 9 else value
    return digits + str((10 - total % 10) % 10)


def siren_siret(rng: random.Random) -> tuple[str, str]:
    siren = _luhn_complete(f"{rng.randrange(10**8):08d}")
    siret = _luhn_complete(siren + f"{rng.randint(1, 99):04d}")
    return siren, siret


class Counts:
    """How many of each object a size gives (size = number of invoices)."""

    def __init__(self, size: int) -> None:
        self.invoices = max(1, size)
        self.companies = max(12, size // 5)
        self.individuals = max(6, size // 10)
        self.items = max(24, min(600, size // 4))
        self.estimates = max(20, size // 10)
        self.opportunities = max(10, size // 10)
        self.credit_notes = max(5, size // 10)
        self.staffs = 6


def person(rng: random.Random) -> tuple[str, str, str]:
    first = rng.choice(french.FIRST_NAMES)
    last = rng.choice(french.LAST_NAMES)
    civility = (
        "mrs"
        if first
        in (
            "Marie",
            "Sophie",
            "Isabelle",
            "Camille",
            "Nathalie",
            "Céline",
            "Aurélie",
            "Émilie",
            "Claire",
            "Léa",
        )
        else "mr"
    )
    return first, last, civility


def ascii_slug(text: str) -> str:
    table = str.maketrans("éèêëàâäîïôöûüçœÉ", "eeeeaaaiioouucoE")
    return "".join(ch for ch in text.translate(table).lower() if ch.isalnum())


def phone(rng: random.Random, mobile: bool = False) -> str:
    head = ("6", "7")[rng.getrandbits(1)] if mobile else "123459"[rng.randrange(6)]
    digits = f"{rng.randrange(10**8):08d}"
    return f"+33 {head} {digits[0:2]} {digits[2:4]} {digits[4:6]} {digits[6:8]}"


def address_fields(rng: random.Random, name: str) -> dict[str, Any]:
    postal_code, city = rng.choice(french.CITIES)
    street = f"{rng.randint(1, 180)} {rng.choice(french.STREET_TYPES)} {rng.choice(french.STREET_NAMES)}"
    return {
        "name": name,
        "address_line_1": street,
        "address_line_2": rng.choice(("", "", "Bâtiment B", "ZA des Pins", "2e étage")),
        "address_line_3": "",
        "address_line_4": "",
        "postal_code": postal_code,
        "city": city,
        "country": "France",
        "country_code": "FR",
        "geocode": {"lat": round(43 + rng.random() * 7, 5), "lng": round(-1 + rng.random() * 8, 5)},
    }
