"""Control endpoints under `/_sandbox/` (not Sellsy's API): reset, state, counters, faults, quotas,
token expiry, acting as a user, webhook delivery log."""

from __future__ import annotations

import copy
import random
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from infra.local.sandbox.http import Request, Response, bad_request, not_found
from infra.local.sandbox.routes.common import third_event

if TYPE_CHECKING:
    from infra.local.sandbox.app import SandboxApp

SNAPSHOT_TYPES = (
    "companies",
    "individuals",
    "contacts",
    "addresses",
    "staffs",
    "taxes",
    "units",
    "currencies",
    "rate_categories",
    "items",
    "custom_fields",
    "smart_tags",
    "opportunities",
    "comments",
    "files",
    "webhooks",
    "estimates",
    "invoices",
    "creditnotes",
)
DOC_TYPES = {
    "estimate": "estimate",
    "estimates": "estimate",
    "invoice": "invoice",
    "invoices": "invoice",
    "creditnote": "creditnote",
    "creditnotes": "creditnote",
    "credit-notes": "creditnote",
}


def register(app: SandboxApp) -> None:
    route = app.router.route

    def st() -> Any:
        return app.state

    @route("POST", "/_sandbox/reset")
    def reset(req: Request) -> Response:
        app.reset()
        return Response.json(200, {"reset": True})

    def snapshot(kind: str) -> Any:
        state = st()
        if kind in ("estimates", "invoices", "creditnotes"):
            doc_kind = DOC_TYPES[kind]
            # Each document also shows its custom field values (tests look for private markers there).
            return [
                {
                    **app.docs_shape(doc_kind, state.docs[doc_kind].get(i), with_rows=True),  # type: ignore[attr-defined]
                    "_custom_fields": dict(state.cf_values.get((doc_kind, i), {})),
                }
                for i in state.docs[doc_kind].ids()
            ]
        if kind == "files":
            return [{k: v for k, v in f.items()} for f in state.files.values()]
        return copy.deepcopy(list(getattr(state, kind).values()))

    @route("GET", "/_sandbox/state")
    def state_snapshot(req: Request) -> Response:
        kind = req.arg("type")
        with st().lock:
            if kind:
                if kind not in SNAPSHOT_TYPES:
                    raise bad_request("Unknown type", type=f"one of {list(SNAPSHOT_TYPES)}")
                return Response.json(200, {kind: snapshot(kind)})
            body: dict[str, Any] = {name: snapshot(name) for name in SNAPSHOT_TYPES}
            body["company_contacts"] = [
                {"company_id": co, "contact_id": ct, "roles": roles}
                for (co, ct), roles in st().company_contacts.items()
            ]
            body["credit_note_links"] = [
                {"credit_note_id": cn, "invoice_ids": list(links)} for cn, links in st().credit_links.items()
            ]
            body["custom_field_values"] = [
                {"type": t, "id": i, "values": {str(k): v for k, v in values.items()}}
                for (t, i), values in st().cf_values.items()
            ]
            return Response.json(200, body)

    @route("GET", "/_sandbox/calls")
    def calls(req: Request) -> Response:
        with app.calls_lock:
            routes = dict(app.calls)
        api_total = sum(v for k, v in routes.items() if " /v2" in k)
        return Response.json(
            200, {"total": api_total, "429": routes.get("429", 0), "routes": routes, "tokens_issued": app.auth.issued}
        )

    @route("DELETE", "/_sandbox/calls")
    def clear_calls(req: Request) -> Response:
        with app.calls_lock:
            app.calls.clear()
        return Response.empty(204)

    @route("GET", "/_sandbox/faults")
    def get_faults(req: Request) -> Response:
        return Response.json(200, app.config.faults.as_dict())

    @route("POST", "/_sandbox/faults")
    def set_faults(req: Request) -> Response:
        try:
            app.config.faults.update(req.json_object())
        except (TypeError, ValueError) as exc:
            raise bad_request("Invalid faults", faults=str(exc)) from exc
        app.auth.ttl_override = app.config.faults.token_ttl_seconds
        return Response.json(200, app.config.faults.as_dict())

    @route("GET", "/_sandbox/quotas")
    def get_quotas(req: Request) -> Response:
        return Response.json(200, app.quotas.usage())

    @route("GET", "/_sandbox/quotas/settings")
    def get_quota_settings(req: Request) -> Response:
        return Response.json(200, app.quotas.settings())

    @route("POST", "/_sandbox/quotas")
    def set_quotas(req: Request) -> Response:
        try:
            app.config.quotas.update(req.json_object())
        except (TypeError, ValueError) as exc:
            raise bad_request("Invalid quotas", quotas=str(exc)) from exc
        if req.json_object().get("reset_usage", True):
            app.quotas.clear()
        return Response.json(200, app.quotas.usage())

    @route("POST", "/_sandbox/tokens/expire")
    def expire_tokens(req: Request) -> Response:
        return Response.json(200, {"expired": app.auth.expire_all()})

    @route("GET", "/_sandbox/webhooks/log")
    def webhook_log(req: Request) -> Response:
        return Response.json(200, list(app.webhooks.log))

    @route("POST", "/_sandbox/webhooks/wait")
    def webhook_wait(req: Request) -> Response:
        body = req.json(required=False) or {}
        deadline = time.monotonic() + float(body.get("timeout", 10))
        while app.webhooks.pending() and time.monotonic() < deadline:
            time.sleep(0.02)
        return Response.json(200, {"idle": app.webhooks.pending() == 0})

    # -- acting as a user ------------------------------------------------------------------------
    @route("POST", "/_sandbox/act/{action}", str_params=("action",))
    def act(req: Request, action: str) -> Response:
        body = req.json_object()
        handler = ACTIONS.get(action)
        if handler is None:
            raise bad_request("Unknown action", action=f"one of {sorted(ACTIONS)}")
        return Response.json(200, handler(body))

    def estimate_status(body: dict[str, Any]) -> Any:
        doc = app.docs_set_estimate_status(int(body["id"]), body["status"])  # type: ignore[attr-defined]
        return {"id": doc["id"], "status": doc["status"]}

    def opportunity_status(body: dict[str, Any]) -> Any:
        with st().lock:
            opp = st().opportunities.get(int(body["id"]))
            if opp is None:
                raise not_found("opportunity", body["id"])
            changed = app.docs_apply_opportunity(opp, {"status": body["status"]})  # type: ignore[attr-defined]
        if changed is not None:
            app.docs_opportunity_event(opp)  # type: ignore[attr-defined]
        return {"id": opp["id"], "status": opp["status"]}

    def edit(body: dict[str, Any]) -> Any:
        kind = body.get("type")
        fields = body.get("fields") or {}
        state = st()
        stores = {
            "company": state.companies,
            "individual": state.individuals,
            "contact": state.contacts,
            "address": state.addresses,
        }
        if kind not in stores:
            raise bad_request("Unknown type", type="company, individual, contact or address")
        with state.lock:
            obj = stores[kind].get(int(body["id"]))
            if obj is None:
                raise not_found(kind, body["id"])
            obj.update({k: v for k, v in fields.items() if k != "id"})
            if kind in ("company", "individual"):
                obj["updated_at"] = app.now()
            elif kind == "contact":
                obj["updated"] = app.now()
            result = copy.deepcopy(obj)
            event_kind, event_obj = kind, obj
            if kind == "address":
                owner_kind, owner_id = state.address_owner[obj["id"]]
                event_kind, event_obj = owner_kind, stores[owner_kind][owner_id]
        if event_kind in ("company", "individual", "contact"):
            third_event(app, event_kind, "updated", event_obj)
        return result

    def edit_invoice(body: dict[str, Any]) -> Any:
        fields = body.get("fields") or {}
        invoice_id = int(body["id"])
        with st().lock:
            if not st().docs["invoice"].exists(invoice_id):
                raise not_found("invoice", invoice_id)
            doc = app.docs_stored_copy("invoice", invoice_id)  # type: ignore[attr-defined]
            change_document(doc, fields)
            result = {"id": invoice_id, "status": doc["status"], "amounts": doc["amounts"]}
        if "status" in fields:
            app.webhooks.emit(
                "invoice.step",
                {"eventType": "docslog", "event": "step", "relatedtype": "invoice", "relatedid": invoice_id},
                result,
            )
        return result

    def change_document(doc: dict[str, Any], fields: dict[str, Any]) -> None:
        for key in ("status", "subject", "order_reference", "note", "date", "due_date", "number"):
            if key in fields:
                doc[key] = fields[key]
        if "amount" in fields:  # new unit amount of the first priced row
            for row in doc["rows"]:
                if "unit_amount" in row:
                    row["unit_amount"] = str(Decimal(str(fields["amount"])))
                    break
        if "quantity_delta" in fields:
            for row in doc["rows"]:
                if "quantity" in row:
                    row["quantity"] = str(Decimal(row["quantity"]) + Decimal(str(fields["quantity_delta"])))
                    break
        discount = None
        if doc.get("discount"):
            discount = {
                "type": doc["discount"]["type"],
                "value": doc["discount"]["percent"]
                if doc["discount"]["type"] == "percent"
                else doc["discount"]["amount"],
            }
        st().compute_amounts(doc, discount)
        # Fault injection: totals that the rows do not explain (as a Sellsy feature we do not model would).
        doc["amounts"].update(fields.get("amounts_override") or {})

    def delete_document(body: dict[str, Any]) -> Any:
        kind = DOC_TYPES.get(str(body.get("type")))
        if kind is None:
            raise bad_request("Unknown type", type="estimate, invoice or creditnote")
        with st().lock:
            if not st().docs[kind].exists(int(body["id"])):
                raise not_found(kind, body["id"])
            st().docs[kind].delete(int(body["id"]))
        return {"deleted": True}

    def mutate(body: dict[str, Any]) -> Any:
        """Change a fraction of documents deterministically (status or first row quantity); no webhooks,
        like edits a nightly import has to discover by itself."""
        kind = DOC_TYPES.get(str(body.get("type", "invoice")))
        if kind is None:
            raise bad_request("Unknown type", type="estimate, invoice or creditnote")
        fraction = float(body.get("fraction", 0.01))
        rng = random.Random(st().seed * 1_000_033 + int(body.get("salt", 0)))
        with st().lock:
            ids = st().docs[kind].ids()
            count = max(1, round(len(ids) * fraction)) if ids and fraction > 0 else 0
            chosen = sorted(rng.sample(ids, count))
            for doc_id in chosen:
                doc = app.docs_stored_copy(kind, doc_id)  # type: ignore[attr-defined]
                if kind == "invoice" and doc["status"] == "due":
                    change_document(doc, {"status": "paid"})
                    doc["amounts"]["total_remaining_due_incl_tax"] = "0.00"
                else:
                    change_document(doc, {"quantity_delta": 1})
        return {"ids": chosen}

    def perturb_invoices(body: dict[str, Any]) -> Any:
        """The next ``count`` invoices created differ from what was asked: ``currency``, ``unit_amount_delta``
        (first priced row), ``drop_discount``."""
        change = {k: body[k] for k in ("currency", "unit_amount_delta", "drop_discount") if body.get(k)}
        if not change:
            raise bad_request("Nothing to perturb", body="give currency, unit_amount_delta or drop_discount")
        with st().lock:
            st().invoice_perturbations.extend(dict(change) for _ in range(int(body.get("count", 1))))
            return {"pending": len(st().invoice_perturbations)}

    ACTIONS = {
        "estimate-status": estimate_status,
        "opportunity-status": opportunity_status,
        "edit": edit,
        "edit-invoice": edit_invoice,
        "delete-document": delete_document,
        "mutate": mutate,
        "perturb-invoices": perturb_invoices,
    }
