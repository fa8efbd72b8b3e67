"""Reference data and catalogue: staffs, taxes, units, currencies, rate categories, items and prices,
custom field definitions, opportunity pipelines and steps, quotas."""

from __future__ import annotations

import copy
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from infra.local.sandbox.http import Request, Response, bad_request, not_found
from infra.local.sandbox.listing import paginate, single
from infra.local.sandbox.routes.common import check_types, require
from infra.local.sandbox.seed import money

if TYPE_CHECKING:
    from infra.local.sandbox.app import SandboxApp

ITEM_WRITABLE = {
    "type",
    "name",
    "reference",
    "reference_price",
    "purchase_amount",
    "is_reference_price_taxes_free",
    "tax_id",
    "unit_id",
    "category_id",
    "standard_quantity",
    "description",
    "is_name_included_in_description",
    "accounting_code_id",
    "accounting_purchase_code_id",
    "accounting_analytic_code",
    "is_archived",
}


def register(app: SandboxApp) -> None:
    route = app.router.route

    def st() -> Any:
        return app.state

    def filters_of(req: Request, required: bool = True) -> dict[str, Any]:
        body = req.json(required=required) or {}
        if not isinstance(body, dict):
            raise bad_request("Request body must be a JSON object", body="expected an object")
        filters = body.get("filters", {} if not required else None)
        if not isinstance(filters, dict):
            raise bad_request("Validation failed", filters="This value is required and must be an object.")
        return filters

    def simple(path: str, attr: str, kind: str, search: Any = None) -> None:
        route("GET", path)(lambda req: paginate(req, list(getattr(st(), attr).values())))

        def get_one(req: Request, id: int) -> Response:
            obj = getattr(st(), attr).get(id)
            if obj is None:
                raise not_found(kind, id)
            return single(req, obj)

        if kind not in ("unit", "currency"):
            route("GET", f"{path}/{{id}}")(get_one)
        if search is not None:

            def do_search(req: Request) -> Response:
                filters = filters_of(req, required=False)
                return paginate(req, [o for o in getattr(st(), attr).values() if search(o, filters)])

            route("POST", f"{path}/search")(do_search)

    def staff_match(obj: dict[str, Any], filters: dict[str, Any]) -> bool:
        return "status" not in filters or obj["status"] in filters["status"]

    def tax_match(obj: dict[str, Any], filters: dict[str, Any]) -> bool:
        rate = filters.get("rate") or {}
        if "min" in rate and obj["rate"] < rate["min"]:
            return False
        if "max" in rate and obj["rate"] > rate["max"]:
            return False
        if "label" in filters and str(filters["label"]).lower() not in obj["label"].lower():
            return False
        return "is_active" not in filters or obj["is_active"] == filters["is_active"]

    simple("/v2/staffs", "staffs", "staff", staff_match)
    simple("/v2/taxes", "taxes", "tax", tax_match)
    simple("/v2/units", "units", "unit")
    simple("/v2/currencies", "currencies", "currency")
    simple("/v2/rate-categories", "rate_categories", "rate category")

    # -- custom field definitions ----------------------------------------------------------------
    route("GET", "/v2/custom-fields")(lambda req: paginate(req, list(st().custom_fields.values())))

    @route("GET", "/v2/custom-fields/{id}")
    def custom_field(req: Request, id: int) -> Response:
        definition = st().custom_fields.get(id)
        if definition is None:
            raise not_found("custom field", id)
        return single(req, definition)

    @route("POST", "/v2/custom-fields/search")
    def custom_field_search(req: Request) -> Response:
        filters = filters_of(req)
        related = filters.get("related_object")
        items = [
            d
            for d in st().custom_fields.values()
            if (related is None or related in d["related_object"])
            and ("is_required" not in filters or d["mandatory"] == filters["is_required"])
        ]
        return paginate(req, items)

    # -- items -----------------------------------------------------------------------------------
    def item_match(item: dict[str, Any], filters: dict[str, Any]) -> bool:
        if "type" in filters and item["type"] not in filters["type"]:
            return False
        if "is_archived" in filters and item["is_archived"] != filters["is_archived"]:
            return False
        if "reference" in filters and str(filters["reference"]).lower() != item["reference"].lower():
            return False
        return "name" not in filters or str(filters["name"]).lower() in (item["name"] or "").lower()

    item_orders = {
        "id": lambda i: i["id"],
        "name": lambda i: ((i["name"] or "").lower(), i["id"]),
        "reference": lambda i: (i["reference"].lower(), i["id"]),
    }

    @route("GET", "/v2/items")
    def list_items(req: Request) -> Response:
        with st().lock:
            return paginate(req, list(st().items.values()), orders=item_orders)

    @route("POST", "/v2/items/search")
    def search_items(req: Request) -> Response:
        filters = filters_of(req)
        if "type" in filters and not isinstance(filters["type"], list):
            raise bad_request("Validation failed", **{"filters.type": "an array of item types is expected"})
        with st().lock:
            return paginate(req, [i for i in st().items.values() if item_match(i, filters)], orders=item_orders)

    def get_item(item_id: int) -> dict[str, Any]:
        item = st().items.get(item_id)
        if item is None:
            raise not_found("item", item_id)
        return item

    @route("GET", "/v2/items/{id}")
    def item(req: Request, id: int) -> Response:
        return single(req, get_item(id))

    def apply_item(item: dict[str, Any], body: dict[str, Any]) -> None:
        for key, value in body.items():
            if key in ITEM_WRITABLE and key != "accounting_analytic_code":
                item[key] = value
        try:
            base = Decimal(str(item.get("reference_price") or "0"))
        except InvalidOperation as exc:
            raise bad_request("Validation failed", reference_price="a decimal string is expected") from exc
        tax = st().taxes.get(item.get("tax_id") or 1) or st().taxes[1]
        item["reference_price"] = item["reference_price_taxes_exc"] = item["price_excl_tax"] = money(base)
        item["reference_price_taxes_inc"] = money(base * (1 + Decimal(str(tax["rate"])) / 100))

    @route("POST", "/v2/items")
    def create_item(req: Request) -> Response:
        body = req.json_object()
        require(body, "type", "reference")
        check_types(body, name=str, reference=str, reference_price=str, tax_id=int, unit_id=int, is_archived=bool)
        if body["type"] not in ("product", "service"):
            raise bad_request("Validation failed", type="product or service")
        with st().lock:
            item_id = max(st().items, default=0) + 1
            item: dict[str, Any] = {
                "id": item_id,
                "name": None,
                "reference_price": "0",
                "purchase_amount": "0.00",
                "is_reference_price_taxes_free": True,
                "tax_id": 1,
                "unit_id": 2,
                "category_id": 1,
                "currency": "EUR",
                "standard_quantity": "1",
                "description": None,
                "is_name_included_in_description": False,
                "accounting_code_id": None,
                "accounting_purchase_code_id": None,
                "is_archived": False,
                "is_declined": False,
                "is_einvoicing_compliant": True,
            }
            apply_item(item, body)
            st().items[item_id] = item
            st().item_prices[item_id] = [
                {
                    "rate_category_id": 1,
                    "amount_excl_tax": item["reference_price_taxes_exc"],
                    "amount_incl_tax": item["reference_price_taxes_inc"],
                }
            ]
            return Response.json(201, copy.deepcopy(item))

    @route("PUT", "/v2/items/{id}")
    def update_item(req: Request, id: int) -> Response:
        body = req.json_object()
        check_types(body, name=str, reference=str, reference_price=str, tax_id=int, is_archived=bool)
        with st().lock:
            item = get_item(id)
            apply_item(item, body)
            return Response.json(200, copy.deepcopy(item))

    @route("DELETE", "/v2/items/{id}")
    def delete_item(req: Request, id: int) -> Response:
        with st().lock:
            get_item(id)
            del st().items[id]
            st().item_prices.pop(id, None)
        return Response.empty(204)

    @route("GET", "/v2/items/{id}/prices")
    def item_prices(req: Request, id: int) -> Response:
        get_item(id)
        return paginate(req, st().item_prices.get(id, []), sort_key=lambda p: p["rate_category_id"])

    # -- opportunity pipelines and steps ---------------------------------------------------------
    @route("GET", "/v2/opportunities/pipelines")
    def pipelines(req: Request) -> Response:
        data = [
            {"id": p["id"], "name": p["name"], "is_default": p["id"] == 1, "step": 1, "rank": p["id"]}
            for p in st().pipelines.values()
        ]
        return paginate(req, data)

    @route("GET", "/v2/opportunities/pipelines/{pipelineId}/steps")
    def steps(req: Request, pipelineId: int) -> Response:
        if pipelineId not in st().pipelines:
            raise not_found("pipeline", pipelineId)
        data = [
            {k: v for k, v in s.items() if k != "pipeline_id"}
            for s in st().steps.values()
            if s["pipeline_id"] == pipelineId
        ]
        return paginate(req, data)

    # -- quotas ----------------------------------------------------------------------------------
    @route("GET", "/v2/quotas")
    def quotas(req: Request) -> Response:
        usage = app.quotas.usage()
        names = {
            "per_second": "api_rate_seconds",
            "per_minute": "api_rate_minutes",
            "per_day": "api_rate_days",
            "per_month": "api_rate_months",
        }
        body: dict[str, Any] = {names[k]: v for k, v in usage.items()}
        body["custom_fields"] = {"limit": 100, "used": len(st().custom_fields)}
        body["pipelines"] = {"limit": 10, "used": len(st().pipelines)}
        body["catalog_items"] = {"limit": None, "used": len(st().items)}
        body["documents"] = {"limit": None, "used": 0}
        return Response.json(200, body)
