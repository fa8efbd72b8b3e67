"""All objects of one sandbox account, seeded deterministically, guarded by one lock."""

from __future__ import annotations

import copy
import random
import threading
from collections import OrderedDict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from infra.local.sandbox import french
from infra.local.sandbox.seed import (
    CREDIT_NOTE_STATUSES,
    CURRENCIES,
    CUSTOM_FIELDS,
    EPOCH,
    ESTIMATE_STATUSES,
    INVOICE_STATUSES,
    OPPORTUNITY_STATUSES,
    PIPELINE_STEPS,
    SMART_TAGS,
    TAX_RATES,
    TODAY,
    UNITS,
    Counts,
    address_fields,
    ascii_slug,
    iso_datetime,
    money,
    person,
    phone,
    siren_siret,
)

DOC_KINDS = ("estimate", "invoice", "creditnote")
# Invoice money shapes seeded by id (Sellsy's file defines them; the sandbox seeds them by default):
# id % 20 == 7 is a deposit invoice for the final invoice id + 1, which deducts it in `deposit` rows;
# id % 20 == 13 is a progress invoice (`progress-*` rows).
DEPOSIT_CYCLE, DEPOSIT_AT, FINAL_AT, PROGRESS_AT = 20, 7, 8, 13
DEPOSIT_SHARE = Decimal("0.30")  # a deposit invoices 30 % of the final invoice's first tax rate
GOODS_ROWS = ("single", "catalog", "progress-single", "progress-catalog")
AMOUNT_ROWS = (*GOODS_ROWS, "shipping", "packaging", "progress-shipping", "progress-packaging", "deposit")
RENDER_CACHE_SIZE = 4096
_KIND_SALT = {"estimate": 11, "invoice": 23, "creditnote": 37}


def third_party_tail(
    rng: random.Random, staff_ids: list[int], created: date, updated: date, *, archived: bool
) -> dict[str, Any]:
    """Fields companies and individuals share, drawn in the same order for both (seeded data must not move)."""
    return {
        "note": "",
        "auxiliary_code": None,
        "social": {},
        "rate_category_id": 1,
        "main_contact_id": None,
        "dunning_contact_id": None,
        "invoicing_contact_id": None,
        "invoicing_address_id": None,
        "delivery_address_id": None,
        "accounting_code_id": None,
        "accounting_purchase_code_id": None,
        "owner": {"id": rng.choice(staff_ids[:3]), "type": "staff"},
        "created": iso_datetime(created),
        "updated_at": iso_datetime(updated, rng.randint(0, 86_399)),
        "is_archived": archived,
        "marketing_campaigns_subscriptions": [],
    }


class DocStore:
    """Documents of one kind: generated ids render lazily; created or changed ones are stored whole."""

    def __init__(self, state: State, kind: str, generated: int) -> None:
        self.state = state
        self.kind = kind
        self.generated = generated
        self.stored: dict[int, dict[str, Any]] = {}
        self.deleted: set[int] = set()
        self.next_id = generated + 1
        self._ids_cache: list[int] | None = None

    def exists(self, doc_id: int) -> bool:
        if doc_id in self.stored:
            return True
        return 1 <= doc_id <= self.generated and doc_id not in self.deleted

    def get(self, doc_id: int) -> dict[str, Any] | None:
        if doc_id in self.stored:
            return self.stored[doc_id]
        if 1 <= doc_id <= self.generated and doc_id not in self.deleted:
            return self.state.render_document(self.kind, doc_id)
        return None

    def ids(self) -> list[int]:
        if self._ids_cache is None:
            base = [i for i in range(1, self.generated + 1) if i not in self.deleted and i not in self.stored]
            self._ids_cache = sorted(base + list(self.stored))
        return self._ids_cache

    def put(self, doc: dict[str, Any]) -> None:
        self.stored[doc["id"]] = doc
        self._ids_cache = None

    def new_id(self) -> int:
        doc_id = self.next_id
        self.next_id += 1
        return doc_id

    def delete(self, doc_id: int) -> None:
        self.stored.pop(doc_id, None)
        if doc_id <= self.generated:
            self.deleted.add(doc_id)
        self._ids_cache = None


class State:
    def __init__(self, seed: int, size: int, corp_id: int) -> None:
        self.lock = threading.RLock()
        self.seed = seed
        self.size = size
        self.corp_id = corp_id
        self.counts = Counts(size)
        self.companies: dict[int, dict[str, Any]] = {}
        self.individuals: dict[int, dict[str, Any]] = {}
        self.contacts: dict[int, dict[str, Any]] = {}
        self.addresses: dict[int, dict[str, Any]] = {}
        self.address_owner: dict[int, tuple[str, int]] = {}
        self.company_contacts: dict[tuple[int, int], list[str]] = {}
        self.staffs: dict[int, dict[str, Any]] = {}
        self.taxes: dict[int, dict[str, Any]] = {}
        self.units: dict[int, dict[str, Any]] = {}
        self.currencies: dict[int, dict[str, Any]] = {}
        self.rate_categories: dict[int, dict[str, Any]] = {}
        self.items: dict[int, dict[str, Any]] = {}
        self.item_prices: dict[int, list[dict[str, Any]]] = {}
        self.custom_fields: dict[int, dict[str, Any]] = {}
        self.cf_values: dict[tuple[str, int], dict[int, Any]] = {}
        self.smart_tags: dict[int, dict[str, Any]] = {}
        self.tag_links: dict[tuple[str, int], list[int]] = {}
        self.pipelines: dict[int, dict[str, Any]] = {}
        self.steps: dict[int, dict[str, Any]] = {}
        self.opportunities: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, dict[str, Any]] = {}
        self.files: dict[int, dict[str, Any]] = {}
        self.webhooks: dict[int, dict[str, Any]] = {}
        # credit note id -> {invoice id: linked amount}
        self.credit_links: dict[int, dict[int, str]] = {}
        self.credit_notes_by_invoice: dict[int, set[int]] = {}
        # Changes the next created invoices get (POST /_sandbox/act/perturb-invoices), oldest first.
        self.invoice_perturbations: list[dict[str, Any]] = []
        self._render_cache: OrderedDict[tuple[str, int], dict[str, Any]] = OrderedDict()
        self._render_lock = threading.Lock()
        self.next_ids: dict[str, int] = {}
        self.docs: dict[str, DocStore] = {}
        self._seed_all()

    # -- ids -------------------------------------------------------------------------------------
    def new_id(self, kind: str) -> int:
        value = self.next_ids.get(kind, 1)
        self.next_ids[kind] = value + 1
        return value

    # -- seeding ---------------------------------------------------------------------------------
    def _seed_all(self) -> None:
        rng = random.Random(self.seed)
        self._seed_reference(rng)
        self._seed_items(rng)
        self._seed_customers(rng)
        self._seed_opportunities(rng)
        c = self.counts
        self.docs = {
            "estimate": DocStore(self, "estimate", c.estimates),
            "invoice": DocStore(self, "invoice", c.invoices),
            "creditnote": DocStore(self, "creditnote", c.credit_notes),
        }
        for cn_id in range(1, c.credit_notes + 1):
            invoice_id = self._credit_note_invoice(cn_id)
            self.credit_links[cn_id] = {invoice_id: ""}
            self.credit_notes_by_invoice.setdefault(invoice_id, set()).add(cn_id)
        self.next_ids["file"] = 1
        self.next_ids["comment"] = 1
        self.next_ids["webhook"] = 1

    def _seed_reference(self, rng: random.Random) -> None:
        for index, (first, last, position) in enumerate(
            (
                ("Claire", "Fontaine", "Gérante"),
                ("Marc", "Lemoine", "Commercial"),
                ("Inès", "Haddad", "Commerciale"),
                ("Paul", "Renard", "Technicien"),
                ("Lucie", "Caron", "Assistante"),
                ("Hervé", "Noël", "Technicien"),
            ),
            start=1,
        ):
            self.staffs[index] = {
                "id": index,
                "firstname": first,
                "lastname": last,
                "email": f"{ascii_slug(first)}.{ascii_slug(last)}@exemple-artisan.fr",
                "status": "ok",
                "position": position,
                "phone_number": phone(rng),
                "mobile_number": phone(rng, True),
                "fax_number": None,
                "civility": "mrs" if first in ("Claire", "Inès", "Lucie") else "mr",
                "created": iso_datetime(EPOCH - timedelta(days=400 - index)),
                "profile": 1,
                "timezone": "Europe/Paris",
                "language": "fr",
                "avatar": None,
            }
        for index, (rate, label) in enumerate(TAX_RATES, start=1):
            self.taxes[index] = {
                "id": index,
                "rate": float(rate),
                "label": label,
                "is_active": True,
                "is_ecotax": False,
                "category": "S" if rate != "0" else "E",
                "vatex": None if rate != "0" else "VATEX-EU-132",
                "is_einvoicing_compliant": True,
                "system_label": label,
            }
        for index, (label, code) in enumerate(UNITS, start=1):
            self.units[index] = {"id": index, "label": label, "is_active": True, "parameters": {"code": code}}
        for index, (code, symbol) in enumerate(CURRENCIES, start=1):
            self.currencies[index] = {
                "id": index,
                "code": code,
                "symbol": symbol,
                "is_default": code == "EUR",
            }
        for index, (label, default) in enumerate((("Tarif standard", True), ("Tarif revendeur", False)), start=1):
            self.rate_categories[index] = {
                "id": index,
                "label": label,
                "includes_taxes": False,
                "currency": "EUR",
                "tax_id": 1,
                "is_default": default,
                "is_einvoicing_compliant": True,
            }
        for cf_id, name, code, cf_type, related in CUSTOM_FIELDS:
            self.custom_fields[cf_id] = {
                "id": cf_id,
                "name": name,
                "code": code,
                "description": "",
                "mandatory": False,
                "rank": cf_id,
                "related_object": related,
                "customfield_group": {"id": 1, "name": "Maintenance", "code": "maintenance", "open_by_default": True},
                "show_on_pdf": False,
                "type": cf_type,
                "parameters": self._cf_parameters(cf_type),
            }
        for index, value in enumerate(SMART_TAGS, start=1):
            self.smart_tags[index] = {"id": index, "value": value}
        self.pipelines[1] = {"id": 1, "name": "Travaux et maintenance"}
        for index, (name, probability) in enumerate(PIPELINE_STEPS, start=1):
            self.steps[index] = {
                "id": index,
                "name": name,
                "probability": probability,
                "rank": index,
                "pipeline_id": 1,
            }
        self.next_ids["smart_tag"] = len(SMART_TAGS) + 1

    @staticmethod
    def _cf_parameters(cf_type: str) -> dict[str, Any]:
        if cf_type == "numeric":
            return {"default_value": None, "min_value": None, "max_value": None}
        if cf_type == "simple-text":
            return {"default_value": None, "char_min": None, "char_max": None}
        if cf_type == "date":
            return {"min_date": None, "max_date": None}
        return {"default_value": False}

    def _seed_items(self, rng: random.Random) -> None:
        count = self.counts.items
        for item_id in range(1, count + 1):
            roll = item_id % 12
            if roll == 0:
                item_type, (name, price) = "shipping", ("Frais de déplacement", "45.00")
            elif roll == 6:
                item_type, (name, price) = "packaging", ("Emballage et reprise ancien matériel", "25.00")
            elif roll % 3 == 0:
                item_type, (name, price) = "service", french.SERVICES[rng.randrange(len(french.SERVICES))]
            else:
                item_type, (name, price) = "product", french.PRODUCTS[rng.randrange(len(french.PRODUCTS))]
            tax_id = 1 if item_type != "service" or rng.random() < 0.7 else 2
            base = Decimal(price) * (Decimal(100 + rng.randint(-10, 10)) / 100)
            rate = Decimal(TAX_RATES[tax_id - 1][0])
            self.items[item_id] = {
                "id": item_id,
                "type": item_type,
                "name": name if item_id <= 30 else f"{name} ({item_id})",
                "reference": f"{item_type[:3].upper()}-{item_id:05d}",
                "reference_price": money(base),
                "reference_price_taxes_exc": money(base),
                "purchase_amount": money(base * Decimal("0.6")),
                "reference_price_taxes_inc": money(base * (1 + rate / 100)),
                "is_reference_price_taxes_free": True,
                "tax_id": tax_id,
                "unit_id": 1 if item_type == "service" else 2,
                "category_id": 1 + item_id % 4,
                "price_excl_tax": money(base),
                "currency": "EUR",
                "standard_quantity": "1",
                "description": f"{name} – fourniture et pose" if item_type == "product" else name,
                "is_name_included_in_description": False,
                "accounting_code_id": None,
                "accounting_purchase_code_id": None,
                "is_archived": item_id % 9 == 4,
                "is_declined": False,
                "is_einvoicing_compliant": True,
            }
            self.item_prices[item_id] = [
                {
                    "rate_category_id": 1,
                    "amount_excl_tax": money(base),
                    "amount_incl_tax": money(base * (1 + rate / 100)),
                },
                {
                    "rate_category_id": 2,
                    "amount_excl_tax": money(base * Decimal("0.85")),
                    "amount_incl_tax": money(base * Decimal("0.85") * (1 + rate / 100)),
                },
            ]

    def _new_address(self, owner: tuple[str, int], fields: dict[str, Any], invoicing: bool, delivery: bool) -> int:
        address_id = self.new_id("address")
        self.addresses[address_id] = {
            "id": address_id,
            **fields,
            "is_invoicing_address": invoicing,
            "is_delivery_address": delivery,
        }
        self.address_owner[address_id] = owner
        return address_id

    def _seed_customers(self, rng: random.Random) -> None:
        counts = self.counts
        staff_ids = list(self.staffs)
        for company_id in range(1, counts.companies + 1):
            name = f"{rng.choice(french.COMPANY_PREFIXES)} {rng.choice(french.COMPANY_NAMES)}"
            if company_id > 20:
                name = f"{name} {company_id}"
            roll = rng.random()
            company_type = "client" if roll < 0.7 or company_id <= 3 else ("prospect" if roll < 0.95 else "supplier")
            if company_id in (4, 5):
                company_type = "prospect"
            siren, siret = siren_siret(rng)
            created = EPOCH - timedelta(days=rng.randint(30, 900))
            updated = EPOCH + timedelta(days=rng.randint(0, (TODAY - EPOCH).days))
            domain = ascii_slug(name)[:24] + ".fr"
            company = {
                "id": company_id,
                "type": company_type,
                "name": f"{name} {rng.choice(french.LEGAL_FORMS)}",
                "email": f"contact@{domain}",
                "website": f"https://www.{domain}",
                "phone_number": phone(rng),
                "mobile_number": None,
                "fax_number": None,
                "legal_france": {
                    "siret": siret,
                    "siren": siren,
                    "vat": f"FR{int(siren) % 97:02d}{siren}",
                    "ape_naf_code": rng.choice(french.APE_CODES),
                    "company_type": rng.choice(french.LEGAL_FORMS),
                    "rcs_immatriculation": f"RCS {rng.choice(french.CITIES)[1]} {siren}",
                },
                "capital": f"{rng.choice((1000, 5000, 10000, 50000))}.00",
                "reference": f"CLI-{company_id:05d}",
                **third_party_tail(rng, staff_ids, created, updated, archived=company_id % 37 == 0),
            }
            self.companies[company_id] = company
            main = self._new_address(("company", company_id), address_fields(rng, "Siège"), True, True)
            company["invoicing_address_id"] = main
            company["delivery_address_id"] = main
            if rng.random() < 0.3:
                site = self._new_address(("company", company_id), address_fields(rng, "Chantier"), False, True)
                company["delivery_address_id"] = site
                self.addresses[main]["is_delivery_address"] = False
            for contact_index in range(1 + (rng.random() < 0.4)):
                contact_id = self._seed_contact(rng, created, domain)
                roles = ["main", "invoicing"] if contact_index == 0 else ["dunning"]
                self.company_contacts[(company_id, contact_id)] = roles
                if contact_index == 0:
                    company["main_contact_id"] = contact_id
                    company["invoicing_contact_id"] = contact_id
                else:
                    company["dunning_contact_id"] = contact_id
            if rng.random() < 0.3:
                self.cf_values[("company", company_id)] = {1: rng.random() < 0.5, 3: f"S{company_id:04d}"}
            if rng.random() < 0.25:
                self.tag_links[("company", company_id)] = [rng.randint(1, len(SMART_TAGS))]
        for individual_id in range(1, counts.individuals + 1):
            first, last, civility = person(rng)
            created = EPOCH - timedelta(days=rng.randint(30, 900))
            updated = EPOCH + timedelta(days=rng.randint(0, (TODAY - EPOCH).days))
            individual: dict[str, Any] = {
                "id": individual_id,
                "type": "client" if individual_id <= 2 or rng.random() < 0.8 else "prospect",
                "last_name": last,
                "first_name": first,
                "civility": civility,
                "email": f"{ascii_slug(first)}.{ascii_slug(last)}{individual_id}@exemple.fr",
                "website": None,
                "phone_number": phone(rng),
                "mobile_number": phone(rng, True),
                "fax_number": None,
                "reference": f"PAR-{individual_id:05d}",
                **third_party_tail(rng, staff_ids, created, updated, archived=False),
                "sync": {"mailchimp": False, "mailjet": False, "simplemail": False},
            }
            self.individuals[individual_id] = individual
            home = self._new_address(("individual", individual_id), address_fields(rng, "Domicile"), True, True)
            individual["invoicing_address_id"] = home
            individual["delivery_address_id"] = home
        self.client_customers = [("company", cid) for cid, c in self.companies.items() if c["type"] == "client"]
        self.client_customers += [("individual", iid) for iid, i in self.individuals.items() if i["type"] == "client"]
        self.any_customers = [("company", cid) for cid, c in self.companies.items() if c["type"] != "supplier"]
        self.any_customers += [("individual", iid) for iid in self.individuals]

    def _seed_contact(self, rng: random.Random, created: date, domain: str) -> int:
        contact_id = self.new_id("contact")
        first, last, civility = person(rng)
        self.contacts[contact_id] = {
            "id": contact_id,
            "civility": civility,
            "first_name": first,
            "last_name": last,
            "email": f"{ascii_slug(first)}.{ascii_slug(last)}@{domain}",
            "website": None,
            "phone_number": phone(rng),
            "mobile_number": phone(rng, True),
            "fax_number": None,
            "position": rng.choice(french.POSITIONS),
            "birth_date": None,
            "avatar": None,
            "note": "",
            "invoicing_address_id": None,
            "delivery_address_id": None,
            "social": {},
            "sync": {"mailchimp": False, "mailjet": False, "simplemail": False},
            "owner": {"id": 1, "type": "staff"},
            "created": iso_datetime(created),
            "updated": iso_datetime(created + timedelta(days=rng.randint(0, 700))),
            "is_archived": False,
            "marketing_campaigns_subscriptions": [],
        }
        return contact_id

    def _seed_opportunities(self, rng: random.Random) -> None:
        contacts_by_company: dict[int, list[int]] = {}
        for company_id, contact_id in self.company_contacts:
            contacts_by_company.setdefault(company_id, []).append(contact_id)
        for opp_id in range(1, self.counts.opportunities + 1):
            kind, customer_id = self.any_customers[rng.randrange(len(self.any_customers))]
            status = (
                OPPORTUNITY_STATUSES[opp_id % len(OPPORTUNITY_STATUSES)]
                if opp_id <= 12
                else rng.choice(("open", "open", "open", "won", "lost", "late"))
            )
            step_id = rng.randint(1, len(PIPELINE_STEPS))
            created = EPOCH + timedelta(days=rng.randint(0, (TODAY - EPOCH).days - 10))
            contact_ids = contacts_by_company.get(customer_id, []) if kind == "company" else []
            self.opportunities[opp_id] = {
                "id": opp_id,
                "number": f"OPP-{opp_id:05d}",
                "name": f"{rng.choice(french.SUBJECTS)} – {opp_id}",
                "source": {"id": 1, "name": "Site internet"},
                "due_date": (created + timedelta(days=45)).isoformat(),
                "created": iso_datetime(created),
                "updated_status": iso_datetime(created + timedelta(days=3)),
                "status": status,
                "amount": {"value": money(Decimal(rng.randint(300, 15_000))), "currency": "EUR"},
                "pipeline": {"id": 1, "name": self.pipelines[1]["name"]},
                "step": {"id": step_id, "name": self.steps[step_id]["name"]},
                "probability": self.steps[step_id]["probability"],
                "note": "",
                "owner": {"id": rng.randint(1, 3), "type": "staff"},
                "assigned_staff_ids": [rng.randint(1, 3)],
                "contact_ids": contact_ids[:1],
                "company_id": customer_id if kind == "company" else None,
                "individual_id": customer_id if kind == "individual" else None,
                "main_doc_id": None,
                "related": [{"id": customer_id, "type": kind}],
            }
            if opp_id % 3 == 0:
                self.cf_values[("opportunity", opp_id)] = {1: opp_id % 2 == 0, 3: f"S{opp_id:04d}"}

    # -- documents -------------------------------------------------------------------------------
    def _credit_note_invoice(self, cn_id: int) -> int:
        invoice_id = 1 + (cn_id * 7919) % self.counts.invoices
        return invoice_id + 1 if self._is_deposit_invoice(invoice_id) else invoice_id  # credit the final one

    def render_document(self, kind: str, doc_id: int) -> dict[str, Any]:
        """A generated document; rendering costs about a millisecond, so recent ones are cached.

        Callers never mutate the result (changes go through a deep copy in DocStore.stored).
        """
        key = (kind, doc_id)
        with self._render_lock:
            cached = self._render_cache.get(key)
            if cached is not None:
                self._render_cache.move_to_end(key)
                return cached
        doc = self._render(kind, doc_id)
        with self._render_lock:
            self._render_cache[key] = doc
            if len(self._render_cache) > RENDER_CACHE_SIZE:
                self._render_cache.popitem(last=False)
        return doc

    def _render(self, kind: str, doc_id: int) -> dict[str, Any]:
        rng = random.Random((self.seed * 1_000_003 + _KIND_SALT[kind]) * 10_000_019 + doc_id)
        if kind == "creditnote":
            return self._render_credit_note(rng, doc_id)
        total = self.counts.estimates if kind == "estimate" else self.counts.invoices
        span = (TODAY - EPOCH).days
        day = EPOCH + timedelta(days=(doc_id - 1) * span // max(1, total) + rng.randint(0, 2))
        pool = self.client_customers if kind == "invoice" else self.any_customers
        customer_type, customer_id = pool[rng.randrange(len(pool))]
        if kind == "invoice":
            age = (TODAY - day).days
            if age > 60:
                status = rng.choices(INVOICE_STATUSES, (2, 3, 4, 75, 11, 5))[0]
            else:
                status = rng.choices(INVOICE_STATUSES, (15, 50, 5, 20, 5, 5))[0]
            if doc_id <= len(INVOICE_STATUSES):
                status = INVOICE_STATUSES[doc_id - 1]
        else:
            status = (
                ESTIMATE_STATUSES[(doc_id - 1) % len(ESTIMATE_STATUSES)]
                if doc_id <= 20
                else rng.choice(ESTIMATE_STATUSES)
            )
        currency = rng.choices(("EUR", "USD", "GBP", "CHF"), (85, 6, 5, 4))[0]
        if kind == "invoice" and self._is_deposit_invoice(doc_id):
            return self._render_deposit_invoice(doc_id)
        doc = self._document_base(rng, kind, doc_id, day, customer_type, customer_id, currency)
        doc["status"] = status
        if kind == "invoice":
            if doc_id % DEPOSIT_CYCLE == PROGRESS_AT:
                self._make_progress_invoice(rng, doc)
            elif doc_id % DEPOSIT_CYCLE == FINAL_AT:
                self._deduct_deposit(doc, doc_id - 1)
            doc["number"] = "" if status == "draft" else f"F-{day.year}-{doc_id:06d}"
            doc["due_date"] = (day + timedelta(days=30)).isoformat()
            if rng.random() < 0.3:
                start = day.replace(day=1)
                doc["service_dates"] = {
                    "start": start.isoformat(),
                    "end": (start + timedelta(days=rng.choice((30, 364)))).isoformat(),
                }
            paid_share = {"paid": Decimal(1), "payinprogress": Decimal("0.5")}.get(status, Decimal(0))
            total_incl = Decimal(doc["amounts"]["total_incl_tax"])
            doc["amounts"]["total_remaining_due_incl_tax"] = money(total_incl * (1 - paid_share))
        else:
            doc["number"] = f"D-{day.year}-{doc_id:05d}"
            doc["expiry_date"] = (day + timedelta(days=30)).isoformat()
            if doc_id % 5 == 2:
                self._foreign_discounted_quote(doc, doc_id)
            if doc_id % 4 == 0 and self.opportunities:
                opp_id = 1 + doc_id % len(self.opportunities)
                doc["related"].append({"id": opp_id, "type": "opportunity"})
        return doc

    def _foreign_discounted_quote(self, doc: dict[str, Any], doc_id: int) -> None:
        """One quote in five: a foreign currency, a row discount, a global discount and its own payment
        terms, so that a conversion that copies less than everything shows."""
        doc["currency"] = ("GBP", "USD", "CHF")[doc_id % 3]
        priced = [r for r in doc["rows"] if r["type"] in ("single", "catalog", "shipping")]
        if priced:
            priced[0]["discount"] = {"type": "percent", "value": "10"}
        self.compute_amounts(doc)
        gross = Decimal(doc["amounts"]["total_excl_tax"])
        discount = (
            {"type": "amount", "value": "20.00"} if doc_id % 2 and gross > 100 else {"type": "percent", "value": "5"}
        )
        self.compute_amounts(doc, discount)
        doc["_payment_terms"] = 1 + doc_id % 3

    def _render_credit_note(self, rng: random.Random, doc_id: int) -> dict[str, Any]:
        invoice_id = self._credit_note_invoice(doc_id)
        invoice = self.render_document("invoice", invoice_id)
        day = date.fromisoformat(invoice["date"]) + timedelta(days=rng.randint(1, 40))
        related = invoice["related"][0]
        doc = self._document_base(
            rng,
            "creditnote",
            doc_id,
            min(day, TODAY),
            related["type"],
            related["id"],
            invoice["currency"],
            rows_from=[self._plain_row(row) for row in invoice["rows"] if row["type"] in GOODS_ROWS][:1],
        )
        doc["status"] = CREDIT_NOTE_STATUSES[(doc_id - 1) % len(CREDIT_NOTE_STATUSES)]
        doc["number"] = "" if doc["status"] == "draft" else f"A-{day.year}-{doc_id:05d}"
        doc["subject"] = f"Avoir sur facture {invoice['number'] or invoice_id}"
        doc["is_deposit"] = False
        if "service_dates" in invoice:
            doc["service_dates"] = invoice["service_dates"]
        return doc

    def _document_base(
        self,
        rng: random.Random,
        kind: str,
        doc_id: int,
        day: date,
        customer_type: str,
        customer_id: int,
        currency: str,
        rows_from: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        customer = self.companies[customer_id] if customer_type == "company" else self.individuals[customer_id]
        rows: list[dict[str, Any]] = []
        if rows_from is not None:
            specs = [self.row_spec_from(row) for row in rows_from]
        else:
            specs = [self._random_row_spec(rng) for _ in range(rng.randint(1, 5))]
        discount = None
        if rng.random() < 0.1:
            discount = {"type": "percent", "value": str(rng.choice((5, 10)))}
        if kind != "estimate":  # extra draws: estimates keep their seeded values
            discount = self._more_discounts(rng, specs, discount)
        for index, spec in enumerate(specs, start=1):
            rows.append({"id": doc_id * 100 + index, **spec})
        owner_id = customer["owner"]["id"]
        doc: dict[str, Any] = {
            "id": doc_id,
            "date": day.isoformat(),
            "created": iso_datetime(day, 32_400 + doc_id % 3600),
            "subject": rng.choice(french.SUBJECTS),
            "currency": currency,
            "related": [{"id": customer_id, "type": customer_type}],
            "owner": {"id": owner_id, "type": "staff"},
            "assigned_staff_id": owner_id,
            "contact_id": customer.get("main_contact_id"),
            "invoicing_address_id": customer.get("invoicing_address_id") or 0,
            "delivery_address_id": customer.get("delivery_address_id") or 0,
            "issuer_address_id": 1,
            "note": "Merci de votre confiance.",
            "rate_category_id": 1,
            "rows": rows,
            "company_name": customer.get("name") or f"{customer.get('first_name', '')} {customer['last_name']}",
            "company_reference": customer.get("reference") or "",
        }
        if kind == "invoice":
            doc["order_reference"] = ""
            doc["is_deposit"] = False
        self.compute_amounts(doc, discount)
        return doc

    @staticmethod
    def _more_discounts(
        rng: random.Random, specs: list[dict[str, Any]], discount: dict[str, str] | None
    ) -> dict[str, str] | None:
        """Invoices and credit notes: document-level discounts in both kinds, and row discounts in amount."""
        roll = rng.random()
        if discount is None and roll < 0.12:
            discount = {"type": "percent", "value": str(rng.choice((3, 7.5, 12)))}
        elif discount is None and roll < 0.22:
            discount = {"type": "amount", "value": money(Decimal(rng.randint(5, 60)))}
        for spec in specs:
            if spec.get("discount") and rng.random() < 0.5:
                spec["discount"] = {"type": "amount", "value": money(Decimal(rng.randint(2, 30)))}
        return discount

    def _is_deposit_invoice(self, doc_id: int) -> bool:
        return doc_id % DEPOSIT_CYCLE == DEPOSIT_AT and doc_id + 1 <= self.counts.invoices

    def _deposit_of(self, final: dict[str, Any]) -> tuple[int, Decimal]:
        """(tax id, amount excl. tax) the deposit invoice of ``final`` invoiced: 30 % of its first rate."""
        priced = [r for r in final["rows"] if r["type"] in GOODS_ROWS] or [
            r for r in final["rows"] if r["type"] in AMOUNT_ROWS and r["type"] != "deposit"
        ]
        tax_id = priced[0]["tax_id"]
        base = sum((Decimal(r["amount_tax_exc"]) for r in priced if r["tax_id"] == tax_id), Decimal(0))
        return tax_id, Decimal(money(base * DEPOSIT_SHARE))

    def _deduct_deposit(self, doc: dict[str, Any], deposit_id: int) -> None:
        """A final invoice: a `deposit` row deducts the deposit invoiced earlier (negative amounts)."""
        tax_id, amount = self._deposit_of(doc)
        deposit_day = date.fromisoformat(doc["date"]) - timedelta(days=20)
        doc["rows"].append(
            {
                "id": doc["id"] * 100 + 99,
                "type": "deposit",
                "unit_amount": money(-amount),
                "quantity": "1.00",
                "tax_id": tax_id,
                "reference": "",
                "description": f"Acompte F-{deposit_day.year}-{deposit_id:06d}",
                "purchase_amount": "0.00",
            }
        )
        discount = doc.get("discount")
        self.compute_amounts(doc, _discount_spec(discount))
        rate = Decimal(self.taxes[tax_id]["rate"])
        doc["_deposits"] = {
            "id": deposit_id,
            "type": "deposit",
            "date": deposit_day.isoformat(),
            "number": f"F-{deposit_day.year}-{deposit_id:06d}",
            "amount": f"{Decimal(money(amount * (1 + rate / 100))):.8f}",
        }

    def _render_deposit_invoice(self, doc_id: int) -> dict[str, Any]:
        """The deposit invoice of the final invoice ``doc_id + 1``: one `deposit` row per rate (here one)."""
        final = self.render_document("invoice", doc_id + 1)
        tax_id, amount = self._deposit_of(final)
        day = date.fromisoformat(final["date"]) - timedelta(days=20)
        doc = {
            **{k: copy.deepcopy(v) for k, v in final.items() if not k.startswith("_") and k != "service_dates"},
            "id": doc_id,
            "date": day.isoformat(),
            "created": iso_datetime(day, 32_400 + doc_id % 3600),
            "number": f"F-{day.year}-{doc_id:06d}",
            "status": "paid",
            "due_date": day.isoformat(),
            "is_deposit": True,
            "subject": f"Acompte sur {final['subject']}",
            "rows": [
                {
                    "id": doc_id * 100 + 1,
                    "type": "deposit",
                    "unit_amount": money(amount),
                    "quantity": "1.00",
                    "tax_id": tax_id,
                    "reference": "",
                    "description": "Acompte 30 %",
                    "purchase_amount": "0.00",
                }
            ],
        }
        doc.pop("discount", None)
        self.compute_amounts(doc)
        doc["amounts"]["total_remaining_due_incl_tax"] = "0.00"
        return doc

    def _make_progress_invoice(self, rng: random.Random, doc: dict[str, Any]) -> None:
        """A progress invoice: each row invoices a share of its parent row. `progress_percentage` is the
        cumulative progress (rounded), so it cannot be multiplied back into the row's amount."""
        shares: dict[int, str] = {}
        done = Decimal(rng.choice((0, 20, 40)))
        step = Decimal(rng.choice((25, 30, 50)))
        for row in doc["rows"]:
            if row["type"] not in ("single", "catalog", "shipping", "packaging"):
                continue
            row["type"] = f"progress-{row['type']}"
            row.pop("discount", None)
            row["progress_percentage"] = money(done + step)
            row["parent_row_id"] = 500_000 + row["id"]
            shares[row["id"]] = str(step / 100)
        doc["is_progress_invoice"] = True
        doc["parent"] = {"id": doc["id"], "type": "order"}
        doc["_progress_shares"] = shares
        self.compute_amounts(doc, _discount_spec(doc.get("discount")))

    @staticmethod
    def _plain_row(row: dict[str, Any]) -> dict[str, Any]:
        """A progress row as the plain row it invoices a share of (credit notes have no progress rows)."""
        plain = {k: v for k, v in row.items() if k not in ("progress_percentage", "parent_row_id")}
        plain["type"] = str(row["type"]).removeprefix("progress-")
        return plain

    def _random_row_spec(self, rng: random.Random) -> dict[str, Any]:
        item_id = rng.randint(1, len(self.items))
        item = self.items[item_id]
        roll = rng.random()
        row_discount = {"type": "percent", "value": str(rng.choice((5, 10, 15)))} if rng.random() < 0.2 else None
        if item["type"] in ("shipping", "packaging"):
            spec: dict[str, Any] = {
                "type": item["type"],
                "related": {"id": item_id, "type": item["type"]},
                "unit_amount": item["reference_price_taxes_exc"],
                "quantity": "1.00",
                "tax_id": item["tax_id"],
                "reference": item["reference"],
                "description": None,
            }
        elif roll < 0.75:
            spec = {
                "type": "catalog",
                "related": {"id": item_id, "type": item["type"]},
                "unit_amount": item["reference_price_taxes_exc"],
                "quantity": money(Decimal(rng.choice((1, 1, 2, 3, 4))) * (Decimal("1.5") if roll < 0.1 else 1)),
                "tax_id": item["tax_id"],
                "unit_id": item["unit_id"],
                "reference": item["reference"],
                "description": item["description"],
                "purchase_amount": item["purchase_amount"],
            }
        else:
            spec = {
                "type": "single",
                "unit_amount": money(Decimal(rng.randint(40, 900))),
                "quantity": money(Decimal(rng.randint(1, 8))),
                "tax_id": rng.choice((1, 1, 2, 3)),
                "unit_id": 1,
                "reference": "",
                "description": "Prestation sur site",
                "purchase_amount": "0.00",
            }
        if row_discount and spec["type"] != "packaging":
            spec["discount"] = row_discount
        return spec

    @staticmethod
    def row_spec_from(row: dict[str, Any]) -> dict[str, Any]:
        keep = (
            "type",
            "related",
            "unit_amount",
            "quantity",
            "tax_id",
            "unit_id",
            "reference",
            "description",
            "purchase_amount",
            "discount",
            "text",
        )
        spec = {key: copy.deepcopy(row[key]) for key in keep if key in row}
        if "discount" in spec:
            spec["discount"] = {"type": spec["discount"]["type"], "value": spec["discount"]["value"]}
        return spec

    def compute_amounts(self, doc: dict[str, Any], discount: dict[str, str] | None = None) -> None:
        """Fill row and document amounts from rows, following Sellsy's file.

        A row's amount is unit × quantity − its own discount (a progress row: its share of that), rounded
        to the cent; its tax is before the document-level discount. The document-level discount applies to
        goods and services rows only: `total_after_discount_excl_tax` excludes shipping and packaging,
        and `total_excl_tax` adds them back. Taxes are computed per rate, after that discount.
        """
        raw = goods = shipping = packaging = deposits = Decimal(0)
        base_by_tax: dict[int, Decimal] = {}
        goods_by_tax: dict[int, Decimal] = {}
        shares = doc.get("_progress_shares") or {}
        for row in doc["rows"]:
            if row["type"] not in AMOUNT_ROWS:
                continue
            unit = Decimal(row.get("unit_amount") or "0")
            qty = Decimal(row.get("quantity") or "0")
            gross = unit * qty
            cut = Decimal(0)
            if row.get("discount"):
                value = Decimal(str(row["discount"]["value"]))
                cut = Decimal(money(gross * value / 100)) if row["discount"]["type"] == "percent" else value
                if 0 < gross < cut:  # a line's discount never exceeds the line: it is cut to the line's amount
                    cut = gross
                    row["discount"]["value"] = money(cut)
                row["discount"]["total"] = money(cut)
            net = Decimal(money((gross - cut) * Decimal(shares.get(row["id"], "1"))))
            tax = self.taxes.get(int(row.get("tax_id") or 1)) or self.taxes[1]
            rate = Decimal(str(tax["rate"]))
            row["tax_id"] = tax["id"]
            row["tax_rate"] = money(rate)
            row["tax_label"] = tax["label"]
            row["amount_tax_exc"] = money(net)
            row["tax_amount"] = money(net * rate / 100)
            row["amount_tax_inc"] = money(net + Decimal(row["tax_amount"]))
            row.setdefault("is_optional", False)
            kind = row["type"].removeprefix("progress-")
            if kind in ("single", "catalog"):
                raw += Decimal(money(gross * Decimal(shares.get(row["id"], "1"))))
                goods += net
                goods_by_tax[tax["id"]] = goods_by_tax.get(tax["id"], Decimal(0)) + net
            elif kind == "shipping":
                shipping += net
            elif kind == "packaging":
                packaging += net
            else:
                deposits += net
            base_by_tax[tax["id"]] = base_by_tax.get(tax["id"], Decimal(0)) + net
        doc_cut = Decimal(0)
        doc.pop("discount", None)
        if discount:
            value = Decimal(str(discount["value"]))
            doc_cut = Decimal(money(goods * value / 100 if discount["type"] == "percent" else min(value, goods)))
            percent = value if discount["type"] == "percent" else (doc_cut * 100 / goods if goods else Decimal(0))
            doc["discount"] = {"percent": money(percent), "amount": money(doc_cut), "type": discount["type"]}
        taxes = []
        total_tax = Decimal(0)
        for tax_id, base in sorted(base_by_tax.items()):
            tax = self.taxes[tax_id]
            goods_part = goods_by_tax.get(tax_id, Decimal(0))
            discounted = base - (doc_cut * goods_part / goods if goods else Decimal(0))
            amount = Decimal(money(discounted * Decimal(str(tax["rate"])) / 100))
            total_tax += amount
            taxes.append(
                {
                    "id": tax_id,
                    "label": tax["label"],
                    "rate": money(Decimal(str(tax["rate"]))),
                    "amount": money(amount),
                }
            )
        after_discount = goods - doc_cut + deposits
        excl = after_discount + shipping + packaging
        doc["taxes"] = taxes
        doc["amounts"] = {
            "total_raw_excl_tax": money(raw),
            "total_after_discount_excl_tax": money(after_discount),
            "total_packaging": money(packaging),
            "total_shipping": money(shipping),
            "total_excl_tax": money(excl),
            "total_incl_tax": money(excl + total_tax),
            "total_remaining_due_incl_tax": money(excl + total_tax),
            "total_primes_incl_tax": "0.00",
        }

    # -- helpers used by routes ------------------------------------------------------------------
    def customer(self, kind: str, customer_id: int) -> dict[str, Any] | None:
        if kind == "company":
            return self.companies.get(customer_id)
        if kind == "individual":
            return self.individuals.get(customer_id)
        return None

    def credit_notes_of_invoice(self, invoice_id: int) -> list[int]:
        candidates = self.credit_notes_by_invoice.get(invoice_id, set())
        return sorted(cn for cn in candidates if self.docs["creditnote"].exists(cn))


def _discount_spec(discount: dict[str, Any] | None) -> dict[str, str] | None:
    """The {type, value} a document-level discount was entered as, from its read shape."""
    if not discount:
        return None
    kind = discount["type"]
    return {"type": kind, "value": discount["percent"] if kind == "percent" else discount["amount"]}
