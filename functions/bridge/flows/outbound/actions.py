"""The four trigger actions, each as: find its marker in Sellsy, create it, finish extra steps.

``find`` must recognise exactly what ``create`` produced (same marker), so that an action interrupted
between Sellsy's answer and our ledger write is adopted instead of re-created.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from bridge.domain import quote_invoice
from bridge.domain import triggers as rules
from bridge.domain.accounts import Account, AddComment, ConvertQuote, InvoiceFromItems, UploadReport
from bridge.domain.sellsy_rules import deep_link
from bridge.flows.outbound import sellsy_ops
from bridge.flows.outbound.sellsy_ops import SellsyPort


@dataclass
class ActionContext:
    account: Account
    intervention: dict[str, Any]
    planned: rules.PlannedAction
    mark: str
    load_report: Callable[[], bytes]
    # Called with the Sellsy id right after a create, before further steps (the ledger remembers it).
    remember: Callable[[str, str], None] = lambda sellsy_type, sellsy_id: None
    # Reads made by one step and reused by the next (the quote read by create, compared by finish).
    seen: dict[str, Any] = field(default_factory=dict)
    # When the first attempt of this action started (ledger intent): objects made since may be its own.
    since: str | None = None

    @property
    def host(self) -> str:
        return self.account.settings.deep_link_host


@dataclass
class Created:
    sellsy_type: str
    sellsy_id: str
    links: dict[str, str] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)


class Action(Protocol):
    def find(self, sellsy: SellsyPort, ctx: ActionContext) -> Created | None: ...

    def create(self, sellsy: SellsyPort, ctx: ActionContext) -> Created: ...

    def finish(self, sellsy: SellsyPort, ctx: ActionContext, created: Created) -> Created: ...

    def request_summary(self, ctx: ActionContext) -> dict[str, Any]: ...


def _invoice(invoice_id: Any, ctx: ActionContext, detail: dict[str, Any] | None = None) -> Created:
    return Created(
        "invoice",
        str(invoice_id),
        links={"invoice": deep_link("invoice", invoice_id, host=ctx.host)},
        detail=detail or {},
    )


class InvoiceLeftAsDraft(quote_invoice.InvoiceDiffersFromQuote):
    """The check failed: the invoice exists (``created``) and stays a draft for a person."""

    def __init__(self, message: str, *, details: dict[str, Any], created: Created) -> None:
        super().__init__(message, details=details)
        self.created = created


# Clocks differ: an invoice created a little before our recorded intent may still be the attempt's own.
CLOCK_MARGIN = timedelta(minutes=10)


def _since(ctx: ActionContext) -> str | None:
    if not ctx.since:
        return None
    return (datetime.fromisoformat(ctx.since) - CLOCK_MARGIN).isoformat(timespec="seconds")


class _InvoiceAction:
    """Shared by both invoicing actions: marker search, prospect check, marker, check, validation.

    The marker lives in a document custom field that is never printed (not in the subject or the order
    reference, which the customer reads). It is written right after the invoice is created, and again
    by ``finish`` if an interruption left it out.
    """

    def _field(self, sellsy: SellsyPort, ctx: ActionContext) -> int:
        if "marker_field" not in ctx.seen:
            ctx.seen["marker_field"] = sellsy_ops.marker_field(sellsy)
        return int(ctx.seen["marker_field"])

    def is_own(self, ctx: ActionContext, invoice: Mapping[str, Any]) -> bool:
        """Whether an unmarked invoice is what this action creates (its subject; no quote behind it)."""
        return invoice.get("subject") == rules.invoice_subject(ctx.intervention) and not invoice.get("parent")

    def find(self, sellsy: SellsyPort, ctx: ActionContext) -> Created | None:
        related = rules.invoice_related(ctx.intervention)
        found = sellsy_ops.find_invoice(
            sellsy,
            related,
            ctx.mark,
            field_id=self._field(sellsy, ctx),
            since=_since(ctx),
            orphan=lambda invoice: self.is_own(ctx, invoice),
        )
        return None if found is None else _invoice(found["id"], ctx, {"status": found.get("status")})

    def _base_payload(
        self, sellsy: SellsyPort, ctx: ActionContext, read_from: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """``read_from``: a document just read with its customer embedded (then the customer is not read)."""
        self._field(sellsy, ctx)  # no invoice is made without a place for its marker
        kind, customer_id = rules.customer_ref(ctx.intervention)
        convert = ctx.account.settings.convert_prospects
        known = sellsy_ops.embedded_customer(read_from, kind) if read_from is not None else None
        sellsy_ops.ensure_invoiceable(sellsy, kind, customer_id, convert_prospects=convert, known=known)
        return {"related": rules.invoice_related(ctx.intervention), "subject": rules.invoice_subject(ctx.intervention)}

    def _post(self, sellsy: SellsyPort, ctx: ActionContext, payload: dict[str, Any]) -> Created:
        answer = sellsy.post("/invoices", json=payload)
        # Remembered at once: a later step that fails (marker, check, validation) continues from it.
        ctx.remember("invoice", str(answer["id"]))
        sellsy_ops.write_marker(sellsy, answer["id"], self._field(sellsy, ctx), ctx.mark)
        # Sellsy answers a create with the invoice as stored (InvoiceOne): ``finish`` checks that answer
        # instead of reading the invoice back, since the marker was just written.
        ctx.seen["created_invoice"] = dict(answer)
        return _invoice(answer["id"], ctx, {"status": answer.get("status")})

    def check(self, sellsy: SellsyPort, ctx: ActionContext, invoice: dict[str, Any]) -> None:
        """Raise when the invoice read back is not what the action meant to create (default: no check)."""

    def finish(self, sellsy: SellsyPort, ctx: ActionContext, created: Created) -> Created:
        action = ctx.planned.action
        assert isinstance(action, ConvertQuote | InvoiceFromItems)
        field_id = self._field(sellsy, ctx)
        answered = ctx.seen.pop("created_invoice", None)
        if answered is not None and str(answered.get("id")) == created.sellsy_id:
            invoice = answered  # created in this attempt, marker written just after
        else:  # an earlier attempt's invoice: its marker may be missing
            invoice = sellsy_ops.read_invoice(sellsy, created.sellsy_id, embed=[f"cf.{field_id}"])
            if sellsy_ops.marker_value(invoice, field_id) != ctx.mark:
                sellsy_ops.write_marker(sellsy, created.sellsy_id, field_id, ctx.mark)
        self.check(sellsy, ctx, invoice)
        status = invoice.get("status")
        if action.validate_invoice and status == "draft":
            # Validating twice answers 409 in Sellsy; reading the status first keeps retries clean.
            sellsy.post(f"/invoices/{created.sellsy_id}/validate", json={})
            status = "due"
        created.detail["status"] = status
        return created


class ConvertQuoteAction(_InvoiceAction):
    """The invoice is written out from the quote (Sellsy's file does not say ``parent`` copies anything),
    then read back and compared with it: an invoice that differs is left as a draft for a person."""

    def _quote(self, sellsy: SellsyPort, ctx: ActionContext) -> dict[str, Any]:
        if "quote" not in ctx.seen:
            _, estimate_id = rules.target_document(ctx.intervention, "estimate")
            ctx.seen["quote"] = sellsy_ops.read_quote(sellsy, estimate_id)
        return dict(ctx.seen["quote"])

    def is_own(self, ctx: ActionContext, invoice: Mapping[str, Any]) -> bool:
        estimate_id = ctx.intervention.get("estimate_id")
        parent = invoice.get("parent") or {}
        return parent.get("type") == "estimate" and str(parent.get("id")) == str(estimate_id)

    def create(self, sellsy: SellsyPort, ctx: ActionContext) -> Created:
        quote = self._quote(sellsy, ctx)
        refusal = quote_invoice.conversion_refusal(quote.get("status"))
        if refusal:
            raise quote_invoice.QuoteNotConverted(
                f"quote {quote['id']} is {quote.get('status')}: {refusal}; no invoice was created",
                details={"estimate_id": quote["id"], "status": quote.get("status")},
            )
        payload = self._base_payload(sellsy, ctx, read_from=quote)
        payload.update(quote_invoice.invoice_fields(quote))
        if quote.get("contact_id"):
            payload["related"].append({"type": "contact", "id": int(quote["contact_id"])})
        payload["parent"] = {"type": "estimate", "id": int(quote["id"])}
        return self._post(sellsy, ctx, payload)

    def check(self, sellsy: SellsyPort, ctx: ActionContext, invoice: dict[str, Any]) -> None:
        quote = self._quote(sellsy, ctx)
        found = quote_invoice.differences(quote, invoice)
        if found:
            raise InvoiceLeftAsDraft(
                f"invoice {invoice['id']} differs from quote {quote['id']} and was not validated; the draft is "
                f"left for a person in Sellsy: {quote_invoice.describe(found)}",
                details={"invoice_id": invoice["id"], "estimate_id": quote["id"], "differences": found},
                created=_invoice(invoice["id"], ctx, {"status": invoice.get("status")}),
            )

    def request_summary(self, ctx: ActionContext) -> dict[str, Any]:
        return {"estimate_id": ctx.intervention.get("estimate_id"), "marker": ctx.mark}


class InvoiceFromItemsAction(_InvoiceAction):
    def create(self, sellsy: SellsyPort, ctx: ActionContext) -> Created:
        used = list(ctx.intervention.get("used_items") or [])
        if not used:
            raise rules.OutboundRuleError("the intervention has no used items to invoice")
        catalogue = sellsy_ops.catalogue_for(sellsy, [str(i.get("sku")) for i in used])
        # invoice_rows_from_items refuses unknown SKUs before anything is written: nothing gets created.
        taxes = sellsy_ops.tax_ids_for(sellsy, [i["tax_rate"] for i in used if i.get("tax_rate") is not None])
        rows = rules.invoice_rows_from_items(used, catalogue, taxes)
        payload = self._base_payload(sellsy, ctx)
        payload["rows"] = rows
        return self._post(sellsy, ctx, payload)

    def request_summary(self, ctx: ActionContext) -> dict[str, Any]:
        items = ctx.intervention.get("used_items") or []
        return {"skus": [i.get("sku") for i in items], "marker": ctx.mark}


class UploadReportAction:
    def _target(self, ctx: ActionContext) -> tuple[str, int]:
        action = ctx.planned.action
        assert isinstance(action, UploadReport)
        return rules.target_document(ctx.intervention, action.target)

    def _file(self, entry: dict[str, Any], ctx: ActionContext, target: str, target_id: int) -> Created:
        links = {"file": sellsy_ops.file_link(entry) or deep_link(target, target_id, host=ctx.host)}
        return Created("file", str(entry["id"]), links=links, detail={"target": target, "target_id": target_id})

    def find(self, sellsy: SellsyPort, ctx: ActionContext) -> Created | None:
        target, target_id = self._target(ctx)
        name = rules.report_file_name(str(ctx.intervention["id"]))
        found = sellsy_ops.find_file(sellsy, target, target_id, name)
        return None if found is None else self._file(found, ctx, target, target_id)

    def create(self, sellsy: SellsyPort, ctx: ActionContext) -> Created:
        target, target_id = self._target(ctx)
        name = rules.report_file_name(str(ctx.intervention["id"]))
        content = ctx.load_report()
        answer = sellsy.upload_file(sellsy_ops.FILE_ROUTES[target].format(id=target_id), filename=name, content=content)
        return self._file(dict(answer), ctx, target, target_id)

    def finish(self, sellsy: SellsyPort, ctx: ActionContext, created: Created) -> Created:
        return created

    def request_summary(self, ctx: ActionContext) -> dict[str, Any]:
        target, target_id = self._target(ctx)
        return {"target": target, "target_id": target_id, "file": rules.report_file_name(str(ctx.intervention["id"]))}


class AddCommentAction:
    def _target(self, ctx: ActionContext) -> tuple[str, int]:
        action = ctx.planned.action
        assert isinstance(action, AddComment)
        return rules.target_document(ctx.intervention, action.target)

    def find(self, sellsy: SellsyPort, ctx: ActionContext) -> Created | None:
        action = ctx.planned.action
        assert isinstance(action, AddComment)
        target, target_id = self._target(ctx)
        text = rules.render_comment(action.template, ctx.intervention)
        found = sellsy_ops.find_comment(sellsy, target, target_id, text, ctx.mark)
        return None if found is None else Created("comment", str(found["id"]), detail={"target": target})

    def create(self, sellsy: SellsyPort, ctx: ActionContext) -> Created:
        action = ctx.planned.action
        assert isinstance(action, AddComment)
        target, target_id = self._target(ctx)
        text = rules.render_comment(action.template, ctx.intervention)
        answer = sellsy.post("/comments", json={"description": text, "related": [{"type": target, "id": target_id}]})
        return Created("comment", str(answer["id"]), detail={"target": target})

    def finish(self, sellsy: SellsyPort, ctx: ActionContext, created: Created) -> Created:
        return created

    def request_summary(self, ctx: ActionContext) -> dict[str, Any]:
        target, target_id = self._target(ctx)
        return {"target": target, "target_id": target_id, "marker": ctx.mark}


ACTIONS: dict[str, Action] = {
    "convert_quote": ConvertQuoteAction(),
    "invoice_from_items": InvoiceFromItemsAction(),
    "upload_report": UploadReportAction(),
    "add_comment": AddCommentAction(),
}
