"""Estimates, invoices, credit notes and opportunities.

Lists return summaries (no rows); `GET /<doc>/{id}` is the only source of rows, as in Sellsy.
`POST /invoices` with `parent: {type: estimate, id}` checks the estimate's status and keeps `parent` on
the invoice, but copies NOTHING from the estimate: Sellsy's file does not say it copies rows, discount,
currency, addresses or payment terms, so the sandbox takes the less convenient reading and a client
must send them. The estimate itself is left unchanged. Service dates must end after they start (the
file's rule). Invoices are drafts until `POST /invoices/{id}/validate` assigns a number and status
`due`; only client companies/individuals can be invoiced. `POST /_sandbox/act/perturb-invoices` makes
the next created invoices differ from their request (a test of the connector's read-back check).
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from infra.local.sandbox.http import ApiError, Request, Response, bad_request, not_found
from infra.local.sandbox.listing import in_range, paginate, single
from infra.local.sandbox.routes.common import address_embed, cf_embed_ids, cf_list, is_verify
from infra.local.sandbox.seed import ESTIMATE_STATUSES, INVOICE_STATUSES, OPPORTUNITY_STATUSES, money

if TYPE_CHECKING:
    from infra.local.sandbox.app import SandboxApp

KINDS = {"estimates": "estimate", "invoices": "invoice", "credit-notes": "creditnote"}
PARENT_ESTIMATE_STATUSES = {"draft", "sent", "read", "accepted", "refused", "expired", "partialinvoiced", "cancelled"}
ROW_TYPES = {"single", "catalog", "shipping", "packaging", "comment", "title", "sub-total", "break-line", "break-page"}
ESTIMATE_AMOUNT_KEYS = (
    "total_raw_excl_tax",
    "total_after_discount_excl_tax",
    "total_excl_tax",
    "total_primes_incl_tax",
)


PAYMENT_TERMS = {1: ("À réception", 0, False), 2: ("30 jours", 30, False), 3: ("45 jours fin de mois", 45, True)}


def payment_terms(terms_id: int) -> dict[str, Any]:
    label, days, end_of_month = PAYMENT_TERMS.get(int(terms_id), (f"Conditions {terms_id}", 30, False))
    return {"id": int(terms_id), "label": label, "x_days": days, "end_of_month": end_of_month, "override_date": False}


def register(app: SandboxApp) -> None:
    route = app.router.route

    def st() -> Any:
        return app.state

    # -- rendering -------------------------------------------------------------------------------
    def shape(kind: str, doc: dict[str, Any], *, with_rows: bool) -> dict[str, Any]:
        """Sellsy's read model of a document from the stored/rendered one."""
        out = {k: v for k, v in doc.items() if k != "rows" and not k.startswith("_")}
        base = app.base_url or "http://sandbox"
        out["pdf_link"] = f"{base}/_sandbox/pdf/{kind}/{doc['id']}.pdf"
        out["decimal_number"] = {"unit_price": 2, "quantity": 2, "main": 2}
        out.setdefault("fiscal_year_id", None)
        out.setdefault("sale_type", "mixed")
        if kind == "estimate":
            amounts = doc["amounts"]
            out["amounts"] = {key: amounts[key] for key in ESTIMATE_AMOUNT_KEYS}
            out["amounts"]["shipping"] = amounts["total_shipping"]
            out["amounts"]["packaging"] = amounts["total_packaging"]
            out["amounts"]["total"] = amounts["total_incl_tax"]
            out["public_link"] = f"{base}/_sandbox/public/estimate/{doc['id']}"
            out["public_link_enabled"] = True
            out["payment_conditions_acceptance"] = {"enabled": False}
            out["vat_mode"] = "debit"
            out["payment_method_ids"] = []
        else:
            out["public_link"] = {"enabled": True, "url": f"{base}/_sandbox/public/{kind}/{doc['id']}"}
            out["is_sent_to_accounting"] = False
            if kind == "invoice":
                out["payment_conditions_acceptance"] = {"enabled": False}
                out["vat_mode"] = "debit"
                out.setdefault("is_progress_invoice", False)
        if with_rows:
            out["rows"] = copy.deepcopy(doc["rows"])
        return out

    def with_embeds(kind: str, doc: dict[str, Any], req: Request, *, with_rows: bool) -> dict[str, Any]:
        out = shape(kind, doc, with_rows=with_rows)
        embeds = set(req.args("embed"))
        if not embeds:
            return out
        state = st()
        embed: dict[str, Any] = {}
        customer = next((r for r in doc["related"] if r["type"] in ("company", "individual")), None)
        # An embed that resolves to nothing is left out (the file does not allow null there).
        if "company" in embeds and customer and customer["type"] == "company":
            embed["company"] = copy.deepcopy(state.companies.get(customer["id"]))
        if "individual" in embeds and customer and customer["type"] == "individual":
            embed["individual"] = copy.deepcopy(state.individuals.get(customer["id"]))
        contact = state.contacts.get(doc.get("contact_id") or 0)
        if "contact" in embeds and contact:
            embed["contact"] = copy.deepcopy(contact)
        for name in ("invoicing_address", "delivery_address"):
            address = address_embed(state, doc.get(f"{name}_id"))
            if name in embeds and address:
                embed[name] = address
        if "owner" in embeds and kind != "estimate":  # the file lists no owner embed for estimates
            embed["owner"] = state.staffs.get(doc["owner"]["id"])
        if "payment_terms" in embeds and doc.get("_payment_terms"):
            embed["payment_terms"] = {"settings": {"type": "settings", "value": payment_terms(doc["_payment_terms"])}}
        if "deposits" in embeds and doc.get("_deposits"):  # one object, as the file describes it
            embed["deposits"] = copy.deepcopy(doc["_deposits"])
        if "smart_tags" in embeds:
            embed["smart_tags"] = [state.smart_tags[t] for t in state.tag_links.get((kind, doc["id"]), [])]
        cf_ids = cf_embed_ids(req)
        if cf_ids:
            embed["custom_fields"] = cf_list(state, kind, doc["id"], cf_ids)
        out["_embed"] = {k: v for k, v in embed.items() if v is not None}
        return out

    def get_doc(kind: str, doc_id: int) -> dict[str, Any]:
        doc = st().docs[kind].get(doc_id)
        if doc is None:
            raise not_found(kind, doc_id)
        return doc

    def stored_copy(kind: str, doc_id: int) -> dict[str, Any]:
        """The document as a stored (mutable) object, materialising a generated one."""
        store = st().docs[kind]
        if doc_id not in store.stored:
            store.put(copy.deepcopy(get_doc(kind, doc_id)))
        return store.stored[doc_id]

    # -- lists and search ------------------------------------------------------------------------
    def doc_orders(kind: str) -> dict[str, Any]:
        def by(field: str) -> Any:
            return lambda doc_id: (get_doc(kind, doc_id).get(field) or "", doc_id)

        def by_amount(doc_id: int) -> Any:
            return (float(get_doc(kind, doc_id)["amounts"]["total_incl_tax"]), doc_id)

        return {
            "id": lambda doc_id: doc_id,
            "number": by("number"),
            "created": by("created"),
            "date": by("date"),
            "due_date": by("due_date"),
            "expiry_date": by("expiry_date"),
            "amount": by_amount,
        }

    def doc_match(kind: str, doc: dict[str, Any], filters: dict[str, Any]) -> bool:
        for key, wanted in filters.items():
            if key == "created" and not in_range(doc.get("created"), wanted):
                return False
            if key == "date" and not in_range(doc.get("date"), wanted, as_date=True):
                return False
            if key == "status" and doc["status"] not in wanted:
                return False
            if key == "number" and str(wanted).lower() not in (doc.get("number") or "").lower():
                return False
            if key == "currency" and doc["currency"] != wanted:
                return False
            if key == "owners" and doc["owner"]["id"] not in wanted:
                return False
            if key == "assigned_staff_ids" and doc.get("assigned_staff_id") not in wanted:
                return False
            if key == "contacts" and doc.get("contact_id") not in wanted:
                return False
            if key == "related_objects":
                related = {(r["type"], r["id"]) for r in doc["related"]}
                if not any((w.get("type"), w.get("id")) in related for w in wanted):
                    return False
            if key == "credit_note_id" and doc["id"] not in st().credit_links.get(wanted, {}):
                return False
            if key == "is_deposit" and bool(doc.get("is_deposit")) != bool(wanted):
                return False
        return True

    def list_docs(kind: str, req: Request, ids: list[int]) -> Response:
        with st().lock:
            return paginate(
                req,
                ids,
                lambda doc_id: with_embeds(kind, get_doc(kind, doc_id), req, with_rows=False),
                orders=doc_orders(kind),
            )

    def filters_of(req: Request) -> dict[str, Any]:
        body = req.json_object()
        filters = body.get("filters")
        if not isinstance(filters, dict):
            raise bad_request("Validation failed", filters="This value is required and must be an object.")
        for key in ("status", "owners", "contacts", "related_objects", "statuses", "assigned_staff_ids"):
            if key in filters and not isinstance(filters[key], list):
                raise bad_request("Validation failed", **{f"filters.{key}": "an array is expected"})
        return filters

    for plural, kind in KINDS.items():

        def make(plural: str = plural, kind: str = kind) -> None:
            route("GET", f"/v2/{plural}")(lambda req: list_docs(kind, req, st().docs[kind].ids()))

            @route("POST", f"/v2/{plural}/search")
            def search(req: Request) -> Response:
                filters = filters_of(req)
                with st().lock:
                    ids = st().docs[kind].ids()
                    if filters:  # without filters, skip building every document (50,000 in the memory bench)
                        ids = [i for i in ids if doc_match(kind, get_doc(kind, i), filters)]
                return list_docs(kind, req, ids)

            @route("GET", f"/v2/{plural}/{{id}}")
            def get_one(req: Request, id: int) -> Response:
                with st().lock:
                    return single(req, with_embeds(kind, get_doc(kind, id), req, with_rows=True))

            @route("GET", f"/v2/{plural}/{{id}}/custom-fields")
            def get_values(req: Request, id: int) -> Response:
                with st().lock:
                    get_doc(kind, id)
                    return paginate(req, cf_list(st(), kind, id))

            @route("PUT", f"/v2/{plural}/{{id}}/custom-fields")
            def put_values(req: Request, id: int) -> Response:
                with st().lock:
                    get_doc(kind, id)
                    if (kind, id) not in st().cf_values:
                        st().cf_values[(kind, id)] = {c["id"]: c["value"] for c in cf_list(st(), kind, id)}
                    app.crm_write_values(kind, id, req)  # type: ignore[attr-defined]
                    if is_verify(req):
                        return Response.empty(204)
                    return paginate(req, cf_list(st(), kind, id))

            @route("GET", f"/v2/{plural}/{{id}}/smart-tags")
            def get_tags(req: Request, id: int) -> Response:
                with st().lock:
                    get_doc(kind, id)
                    return paginate(req, [st().smart_tags[t] for t in st().tag_links.get((kind, id), [])])

            @route("POST", f"/v2/{plural}/{{id}}/smart-tags")
            def add_tags(req: Request, id: int) -> Response:
                with st().lock:
                    get_doc(kind, id)
                    return paginate(req, app.crm_link_tags(kind, id, req))  # type: ignore[attr-defined]

        make()

    # -- creation --------------------------------------------------------------------------------
    def parse_rows(rows: Any) -> list[dict[str, Any]]:
        if not isinstance(rows, list):
            raise bad_request("Validation failed", rows="an array of rows is expected")
        state = st()
        out = []
        for index, row in enumerate(rows):
            where = f"rows[{index}]"
            if not isinstance(row, dict) or row.get("type") not in ROW_TYPES:
                raise bad_request("Validation failed", **{f"{where}.type": f"one of {sorted(ROW_TYPES)}"})
            row_type = row["type"]
            spec: dict[str, Any] = {"type": row_type}
            if row_type in ("comment", "title"):
                spec["text"] = str(row.get("text") or "")
                out.append(spec)
                continue
            if row_type in ("sub-total", "break-line", "break-page"):
                out.append(spec)
                continue
            if row.get("quantity") is None:
                raise bad_request("Validation failed", **{f"{where}.quantity": "This value is required."})
            for field in ("quantity", "unit_amount", "purchase_amount"):
                if field in row and row[field] is not None:
                    try:
                        Decimal(str(row[field]))
                    except InvalidOperation as exc:
                        raise bad_request("Validation failed", **{f"{where}.{field}": "a decimal string"}) from exc
            if row.get("tax_id") is not None and row["tax_id"] not in state.taxes:
                raise bad_request("Validation failed", **{f"{where}.tax_id": f"unknown tax {row['tax_id']}"})
            if row.get("unit_id") is not None and row["unit_id"] not in state.units:
                raise bad_request("Validation failed", **{f"{where}.unit_id": f"unknown unit {row['unit_id']}"})
            if row_type == "single":
                if row.get("unit_amount") is None:
                    raise bad_request("Validation failed", **{f"{where}.unit_amount": "This value is required."})
                spec.update(
                    {
                        "unit_amount": money(Decimal(str(row["unit_amount"]))),
                        "unit_id": row.get("unit_id") or 2,
                        "purchase_amount": money(Decimal(str(row.get("purchase_amount") or "0"))),
                    }
                )
            else:
                related = row.get("related")
                if not isinstance(related, dict) or "id" not in related:
                    raise bad_request("Validation failed", **{f"{where}.related": "This value is required."})
                item = state.items.get(related["id"])
                expected = ("product", "service") if row_type == "catalog" else (row_type,)
                if item is None or item["type"] not in expected or related.get("type") != item["type"]:
                    raise bad_request(
                        "Validation failed",
                        **{f"{where}.related": f"no {related.get('type')} item with id {related['id']}"},
                    )
                spec["related"] = {"id": item["id"], "type": item["type"]}
                spec["unit_amount"] = money(Decimal(str(row.get("unit_amount") or item["reference_price_taxes_exc"])))
                if row_type == "catalog":
                    spec["unit_id"] = row.get("unit_id") or item["unit_id"]
                    spec["purchase_amount"] = item["purchase_amount"]
                row.setdefault("tax_id", item["tax_id"])
                row.setdefault("reference", item["reference"])
                row.setdefault("description", item["description"] if row_type == "catalog" else None)
            spec["quantity"] = money(Decimal(str(row["quantity"])))
            spec["tax_id"] = row.get("tax_id") or 1
            spec["reference"] = str(row.get("reference") or "")
            spec["description"] = row.get("description")
            if row.get("discount"):
                discount = row["discount"]
                if not isinstance(discount, dict) or discount.get("type") not in ("percent", "amount"):
                    raise bad_request("Validation failed", **{f"{where}.discount": "{type: percent|amount, value}"})
                spec["discount"] = {"type": discount["type"], "value": str(discount.get("value") or "0")}
            out.append(spec)
        return out

    def customer_of(body: dict[str, Any], *, clients_only: bool) -> tuple[str, int]:
        related = body.get("related")
        if not isinstance(related, list) or not related:
            raise bad_request("Validation failed", related="This value is required.")
        customers = [r for r in related if isinstance(r, dict) and r.get("type") in ("company", "individual")]
        if len(customers) != 1:
            raise bad_request("Validation failed", related="exactly one company or individual is required")
        kind, customer_id = customers[0]["type"], customers[0].get("id")
        customer = st().customer(kind, customer_id)
        if customer is None:
            raise bad_request("Validation failed", related=f"no {kind} with id {customer_id}")
        if clients_only and customer["type"] != "client":
            raise bad_request(
                "Validation failed: invoices can only be created for clients",
                related=f"{kind} {customer_id} is a {customer['type']}, not a client; convert it first",
            )
        for other in related:
            if other.get("type") == "opportunity" and other.get("id") not in st().opportunities:
                raise bad_request("Validation failed", related=f"no opportunity with id {other.get('id')}")
        return str(kind), int(customer_id or 0)

    def create_document(kind: str, req: Request) -> Response:
        body = req.json_object()
        state = st()
        with state.lock:
            customer_kind, customer_id = customer_of(body, clients_only=kind == "invoice")
            parent = body.get("parent")
            rows = None
            if parent is not None:
                if kind != "invoice" or not isinstance(parent, dict) or parent.get("type") != "estimate":
                    raise bad_request("Validation failed", parent="only {type: estimate, id} is supported here")
                estimate = state.docs["estimate"].get(parent.get("id") or 0)
                if estimate is None:
                    raise bad_request("Validation failed", parent=f"no estimate with id {parent.get('id')}")
                if estimate["status"] not in PARENT_ESTIMATE_STATUSES:
                    raise bad_request(
                        "Validation failed",
                        parent=f"estimate {estimate['id']} is {estimate['status']} and cannot be invoiced",
                    )
            rows = parse_rows(body.get("rows") or [])
            dates = body.get("service_dates")
            if dates and not (str(dates.get("end") or "") > str(dates.get("start") or "")):
                raise bad_request(
                    "Validation failed", **{"service_dates.end": "End date must be greater than start date"}
                )
            for field in ("date", "due_date"):
                if body.get(field):
                    try:
                        date.fromisoformat(body[field])
                    except (TypeError, ValueError) as exc:
                        raise bad_request("Validation failed", **{field: "a YYYY-MM-DD date"}) from exc
            currency = body.get("currency") or "EUR"
            if currency not in {c["code"] for c in state.currencies.values()}:
                raise bad_request("Validation failed", currency=f"unknown currency {currency}")
            if is_verify(req):
                return Response.empty(204)
            customer = state.customer(customer_kind, customer_id)
            store = state.docs[kind]
            doc_id = store.new_id()
            day = body.get("date") or date.today().isoformat()
            doc: dict[str, Any] = {
                "id": doc_id,
                "number": "" if kind == "invoice" else f"D-{day[:4]}-{doc_id:05d}",
                "status": "draft",
                "date": day,
                "created": app.now(),
                "subject": body.get("subject") or "",
                "currency": currency,
                "related": [{"id": r["id"], "type": r["type"]} for r in body["related"]],
                "owner": {"id": body.get("owner_id") or 1, "type": "staff"},
                "assigned_staff_id": body.get("assigned_staff_id") or body.get("owner_id") or 1,
                "contact_id": body.get("contact_id", customer.get("main_contact_id")),
                "invoicing_address_id": body.get("invoicing_address_id") or customer.get("invoicing_address_id") or 0,
                "delivery_address_id": body.get("delivery_address_id") or customer.get("delivery_address_id") or 0,
                "issuer_address_id": 1,
                "note": body.get("note") or "",
                "rate_category_id": body.get("rate_category_id") or 1,
                "company_name": customer.get("name") or customer.get("last_name"),
                "company_reference": customer.get("reference") or "",
                "rows": [{"id": doc_id * 100 + i, **row} for i, row in enumerate(rows, start=1)],
            }
            if body.get("service_dates"):
                doc["service_dates"] = body["service_dates"]
            contact = next((r["id"] for r in body["related"] if r.get("type") == "contact"), None)
            if contact is not None:
                doc["contact_id"] = contact
            if isinstance(body.get("payment_terms"), dict):
                doc["_payment_terms"] = body["payment_terms"].get("id")
            if kind == "invoice":
                doc["due_date"] = body.get("due_date") or (date.fromisoformat(day) + timedelta(days=30)).isoformat()
                doc["order_reference"] = body.get("order_reference") or ""
                doc["is_deposit"] = False
                if parent is not None:
                    doc["parent"] = {"id": parent["id"], "type": "estimate"}
            else:
                doc["expiry_date"] = (
                    body.get("expiry_date") or (date.fromisoformat(day) + timedelta(days=30)).isoformat()
                )
            discount = body.get("discount")
            if kind == "invoice" and state.invoice_perturbations:
                discount = perturb(doc, discount, state.invoice_perturbations.pop(0))
            state.compute_amounts(doc, discount)
            store.put(doc)
            result = with_embeds(kind, doc, req, with_rows=True)
            event_object = shape(kind, doc, with_rows=False)
        app.webhooks.emit(
            f"{kind}.created",
            {"eventType": "docslog", "event": "created", "relatedtype": kind, "relatedid": doc_id},
            event_object,
        )
        return single(req, result, 201)

    def perturb(doc: dict[str, Any], discount: Any, change: dict[str, Any]) -> Any:
        """What a test asked the next invoice to get wrong: another currency, a row price, no discount."""
        if change.get("currency"):
            doc["currency"] = change["currency"]
        if change.get("unit_amount_delta"):
            row = next((r for r in doc["rows"] if "unit_amount" in r), None)
            if row is not None:
                row["unit_amount"] = money(Decimal(row["unit_amount"]) + Decimal(str(change["unit_amount_delta"])))
        return None if change.get("drop_discount") else discount

    route("POST", "/v2/invoices")(lambda req: create_document("invoice", req))
    route("POST", "/v2/estimates")(lambda req: create_document("estimate", req))

    @route("POST", "/v2/invoices/{id}/validate")
    def validate_invoice(req: Request, id: int) -> Response:
        body = req.json(required=False) or {}
        if not isinstance(body, dict):
            raise bad_request("Request body must be a JSON object", body="expected an object")
        with st().lock:
            doc = get_doc("invoice", id)
            if doc["status"] != "draft":
                raise ApiError(409, f"Invoice {id} is already validated", {"status": doc["status"]})
            doc = stored_copy("invoice", id)
            day = body.get("date") or date.today().isoformat()
            doc["date"] = day
            doc["number"] = f"F-{day[:4]}-{id:06d}"
            doc["status"] = "due"
            result = shape("invoice", doc, with_rows=True)
            event_object = shape("invoice", doc, with_rows=False)
        app.webhooks.emit(
            "invoice.step",
            {"eventType": "docslog", "event": "step", "relatedtype": "invoice", "relatedid": id},
            event_object,
        )
        return Response.json(200, result)

    def set_estimate_status(estimate_id: int, status: str) -> dict[str, Any]:
        if status not in ESTIMATE_STATUSES:
            raise bad_request("Validation failed", status=f"one of {list(ESTIMATE_STATUSES)}")
        with st().lock:
            get_doc("estimate", estimate_id)
            doc = stored_copy("estimate", estimate_id)
            doc["status"] = status
            event_object = shape("estimate", doc, with_rows=False)
        app.webhooks.emit(
            "estimate.step",
            {"eventType": "docslog", "event": "step", "relatedtype": "estimate", "relatedid": estimate_id},
            event_object,
        )
        return doc

    @route("PUT", "/v2/estimates/{id}/status")
    def estimate_status(req: Request, id: int) -> Response:
        body = req.json_object()
        doc = set_estimate_status(id, str(body.get("status")))
        return single(req, with_embeds("estimate", doc, req, with_rows=True))

    # -- credit note links -----------------------------------------------------------------------
    @route("GET", "/v2/credit-notes/{id}/invoices")
    def credit_note_invoices(req: Request, id: int) -> Response:
        with st().lock:
            get_doc("creditnote", id)
            ids = sorted(i for i in st().credit_links.get(id, {}) if st().docs["invoice"].exists(i))
        return list_docs("invoice", req, ids)

    @route("GET", "/v2/invoices/{id}/credit-notes")
    def invoice_credit_notes(req: Request, id: int) -> Response:
        with st().lock:
            get_doc("invoice", id)
            ids = st().credit_notes_of_invoice(id)
        return list_docs("creditnote", req, ids)

    # -- opportunities ---------------------------------------------------------------------------
    def get_opportunity(opp_id: int) -> dict[str, Any]:
        opp = st().opportunities.get(opp_id)
        if opp is None:
            raise not_found("opportunity", opp_id)
        return opp

    def render_opportunity(opp: dict[str, Any], req: Request) -> dict[str, Any]:
        out = dict(opp)
        embeds = set(req.args("embed"))
        if not embeds:
            return out
        state = st()
        embed: dict[str, Any] = {}
        if "company" in embeds and opp.get("company_id") in state.companies:
            embed["company"] = copy.deepcopy(state.companies[opp["company_id"]])
        if "individual" in embeds and opp.get("individual_id") in state.individuals:
            embed["individual"] = copy.deepcopy(state.individuals[opp["individual_id"]])
        if "contacts" in embeds:
            embed["contacts"] = [
                copy.deepcopy(state.contacts[c]) for c in opp.get("contact_ids", []) if c in state.contacts
            ]
        if "assigned_staffs" in embeds:
            embed["assigned_staffs"] = [state.staffs[s] for s in opp.get("assigned_staff_ids", []) if s in state.staffs]
        if "estimates" in embeds:
            embed["estimates"] = sum(
                1
                for d in state.docs["estimate"].stored.values()
                if {"id": opp["id"], "type": "opportunity"} in d["related"]
            )
        cf_ids = cf_embed_ids(req)
        if cf_ids:
            embed["custom_fields"] = cf_list(state, "opportunity", opp["id"], cf_ids)
        out["_embed"] = embed
        return out

    def opp_match(opp: dict[str, Any], filters: dict[str, Any]) -> bool:
        for key, wanted in filters.items():
            if key in ("created", "updated_status") and not in_range(opp.get(key), wanted):
                return False
            if key == "due_date" and not in_range(opp.get("due_date"), wanted):
                return False
            if key == "name" and str(wanted).lower() not in opp["name"].lower():
                return False
            if key == "pipeline" and opp["pipeline"]["id"] not in wanted:
                return False
            if key == "step" and opp["step"]["id"] not in wanted:
                return False
            if key == "statuses" and opp["status"] not in wanted:
                return False
            if key == "related_objects":
                related = {(r["type"], r["id"]) for r in opp["related"]}
                if not any((w.get("type"), w.get("id")) in related for w in wanted):
                    return False
            if key == "assigned_staffs" and not set(opp.get("assigned_staff_ids", [])) & set(wanted):
                return False
        return True

    opp_orders = {
        "id": lambda o: o["id"],
        "created": lambda o: (o["created"], o["id"]),
        "due_date": lambda o: (o.get("due_date") or "", o["id"]),
        "step_rank": lambda o: (st().steps[o["step"]["id"]]["rank"], o["id"]),
    }

    @route("GET", "/v2/opportunities")
    def list_opportunities(req: Request) -> Response:
        with st().lock:
            return paginate(
                req, list(st().opportunities.values()), lambda o: render_opportunity(o, req), orders=opp_orders
            )

    @route("POST", "/v2/opportunities/search")
    def search_opportunities(req: Request) -> Response:
        filters = filters_of(req)
        with st().lock:
            items = [o for o in st().opportunities.values() if opp_match(o, filters)]
            return paginate(req, items, lambda o: render_opportunity(o, req), orders=opp_orders)

    @route("GET", "/v2/opportunities/{id}")
    def get_one_opportunity(req: Request, id: int) -> Response:
        with st().lock:
            return single(req, render_opportunity(get_opportunity(id), req))

    def apply_opportunity(opp: dict[str, Any], body: dict[str, Any]) -> str | None:
        """Apply a PUT/POST body; returns the previous status when it changed."""
        state = st()
        previous = opp.get("status")
        if "status" in body and body["status"] not in OPPORTUNITY_STATUSES:
            raise bad_request("Validation failed", status=f"one of {list(OPPORTUNITY_STATUSES)}")
        if "step" in body:
            step = state.steps.get(body["step"])
            if step is None:
                raise bad_request("Validation failed", step=f"unknown step {body['step']}")
            opp["step"] = {"id": step["id"], "name": step["name"]}
            opp["probability"] = step["probability"]
        for key in (
            "name",
            "status",
            "probability",
            "due_date",
            "note",
            "main_doc_id",
            "assigned_staff_ids",
            "contact_ids",
        ):
            if key in body:
                opp[key] = body[key]
        if "amount" in body:
            opp["amount"] = {"value": money(Decimal(str(body["amount"]))), "currency": opp["amount"]["currency"]}
        if "owner_id" in body:
            opp["owner"] = {"id": body["owner_id"], "type": "staff"}
        if "related" in body:
            opp["related"] = body["related"]
            opp["company_id"] = next((r["id"] for r in body["related"] if r["type"] == "company"), None)
            opp["individual_id"] = next((r["id"] for r in body["related"] if r["type"] == "individual"), None)
        if opp.get("status") != previous:
            opp["updated_status"] = app.now()
            return previous
        return None

    def opportunity_event(opp: dict[str, Any]) -> None:
        app.webhooks.emit(
            "opportunity.step",
            {"eventType": "opportunity", "event": "step", "relatedtype": "opportunity", "relatedid": opp["id"]},
            dict(opp),
        )

    @route("POST", "/v2/opportunities")
    def create_opportunity(req: Request) -> Response:
        body = req.json_object()
        missing = {k: "This value is required." for k in ("name", "related", "pipeline", "step") if not body.get(k)}
        if missing:
            raise ApiError(400, "Validation failed: required fields are missing", missing)
        with st().lock:
            opp_id = max(st().opportunities, default=0) + 1
            if body["pipeline"] not in st().pipelines:
                raise bad_request("Validation failed", pipeline=f"unknown pipeline {body['pipeline']}")
            step = st().steps.get(body["step"])
            if step is None or step["pipeline_id"] != body["pipeline"]:
                raise bad_request("Validation failed", step=f"unknown step {body['step']} in this pipeline")
            opp: dict[str, Any] = {
                "id": opp_id,
                "number": f"OPP-{opp_id:05d}",
                "name": "",
                "source": {"id": 1, "name": "Site internet"},
                "due_date": None,
                "created": app.now(),
                "updated_status": app.now(),
                "status": "open",
                "amount": {"value": "0.00", "currency": "EUR"},
                "pipeline": {"id": 1, "name": st().pipelines[1]["name"]},
                "step": {"id": step["id"], "name": step["name"]},
                "probability": step["probability"],
                "note": "",
                "owner": {"id": 1, "type": "staff"},
                "assigned_staff_ids": [],
                "contact_ids": [],
                "company_id": None,
                "individual_id": None,
                "main_doc_id": None,
                "related": [],
            }
            apply_opportunity(opp, body)
            st().opportunities[opp_id] = opp
            return Response.json(201, render_opportunity(opp, req))

    @route("PUT", "/v2/opportunities/{id}")
    def update_opportunity(req: Request, id: int) -> Response:
        body = req.json_object()
        with st().lock:
            opp = get_opportunity(id)
            if is_verify(req):
                return Response.empty(204)
            changed = apply_opportunity(opp, body)
            result = render_opportunity(opp, req)
        if changed is not None:
            opportunity_event(opp)
        return single(req, result)

    @route("DELETE", "/v2/opportunities/{id}")
    def delete_opportunity(req: Request, id: int) -> Response:
        with st().lock:
            get_opportunity(id)
            del st().opportunities[id]
        return Response.empty(204)

    for param_kind, plural in (("opportunity", "opportunities"),):

        def make_opp_values(kind: str = param_kind, plural: str = plural) -> None:
            @route("GET", f"/v2/{plural}/{{id}}/custom-fields")
            def get_values(req: Request, id: int) -> Response:
                with st().lock:
                    get_opportunity(id)
                    return paginate(req, cf_list(st(), kind, id))

            @route("PUT", f"/v2/{plural}/{{id}}/custom-fields")
            def put_values(req: Request, id: int) -> Response:
                with st().lock:
                    get_opportunity(id)
                    app.crm_write_values(kind, id, req)  # type: ignore[attr-defined]
                    if is_verify(req):
                        return Response.empty(204)
                    return paginate(req, cf_list(st(), kind, id))

            @route("GET", f"/v2/{plural}/{{id}}/smart-tags")
            def get_tags(req: Request, id: int) -> Response:
                with st().lock:
                    get_opportunity(id)
                    return paginate(req, [st().smart_tags[t] for t in st().tag_links.get((kind, id), [])])

            @route("POST", f"/v2/{plural}/{{id}}/smart-tags")
            def add_tags(req: Request, id: int) -> Response:
                with st().lock:
                    get_opportunity(id)
                    return paginate(req, app.crm_link_tags(kind, id, req))  # type: ignore[attr-defined]

        make_opp_values()

    # shared with the control endpoints (acting as a user goes through the same rules)
    app.docs_set_estimate_status = set_estimate_status  # type: ignore[attr-defined]
    app.docs_apply_opportunity = apply_opportunity  # type: ignore[attr-defined]
    app.docs_opportunity_event = opportunity_event  # type: ignore[attr-defined]
    app.docs_stored_copy = stored_copy  # type: ignore[attr-defined]
    app.docs_shape = shape  # type: ignore[attr-defined]
    _ = INVOICE_STATUSES
