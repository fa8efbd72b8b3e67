"""Helpers shared by route modules: body checks, embeds, custom field values, third-party events."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from infra.local.sandbox.http import ApiError, Request, bad_request

if TYPE_CHECKING:
    from infra.local.sandbox.app import SandboxApp
    from infra.local.sandbox.state import State


def require(body: dict[str, Any], *names: str) -> None:
    missing = {name: "This value is required." for name in names if body.get(name) in (None, "")}
    if missing:
        raise ApiError(400, "Validation failed: required fields are missing", missing)


def check_types(body: dict[str, Any], **types: type | tuple[type, ...]) -> None:
    wrong = {}
    for name, expected in types.items():
        if name in body and body[name] is not None and not isinstance(body[name], expected):
            wrong[name] = f"This value should be of type {getattr(expected, '__name__', expected)}."
    if wrong:
        raise ApiError(400, "Validation failed: wrong field types", wrong)


def only_known(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = {name: "This field is not allowed." for name in body if name not in allowed}
    if unknown:
        raise ApiError(400, "Validation failed: unknown fields", unknown)


def is_verify(req: Request) -> bool:
    return (req.arg("verify") or "").lower() in ("1", "true")


def cf_list(state: State, kind: str, object_id: int, only: set[int] | None = None) -> list[dict[str, Any]]:
    """Custom field definitions applying to an object, each with its value (null when unset)."""
    related = {
        "company": {"client", "prospect", "supplier"},
        "individual": {"client", "prospect", "supplier"},
        "contact": {"contact"},
        "opportunity": {"opportunity"},
        "estimate": {"document"},
        "invoice": {"document"},
        "creditnote": {"document"},
    }[kind]
    values = state.cf_values.get((kind, object_id))
    if values is None and kind in ("estimate", "invoice") and object_id % 5 == 0:
        values = {
            1: object_id % 10 == 0,
            3: f"S{object_id:04d}",
        }  # lazily derived, like the rendered documents
    values = values or {}
    out = []
    for cf_id, definition in sorted(state.custom_fields.items()):
        if only is not None and cf_id not in only:
            continue
        if not related & set(definition["related_object"]):
            continue
        item = copy.deepcopy(definition)
        item["value"] = values.get(cf_id)
        out.append(item)
    return out


def cf_embed_ids(req: Request) -> set[int]:
    ids = set()
    for name in req.args("embed"):
        if name.startswith("cf."):
            try:
                ids.add(int(name[3:]))
            except ValueError as exc:
                raise bad_request("Invalid embed", embed=f"{name!r} is not cf.<id>") from exc
    return ids


def address_embed(state: State, address_id: int | None) -> dict[str, Any] | None:
    if not address_id:
        return None
    address = state.addresses.get(address_id)
    return copy.deepcopy(address) if address else None


THIRD_SHAPES = ("flagged", "unflagged")


def third_fields(kind: str, thirdtype: str, shape: str) -> dict[str, Any]:
    """The routing fields of a thirdlog delivery, in the shape receivers of real Sellsy deliveries see.

    Real deliveries name the third party by its type (``relatedtype`` client/prospect, ``people`` for a
    contact) with ``thirdtype`` beside it; ``individual`` says whether a client is a person. "unflagged"
    leaves that flag out (the receiver must find out by reading), "v2" uses the v2 object names.
    """
    if shape == "v2":
        return {"relatedtype": kind, "thirdtype": thirdtype}
    if kind == "contact":
        return {"relatedtype": "people", "thirdtype": "people"}
    fields: dict[str, Any] = {"relatedtype": thirdtype, "thirdtype": thirdtype}
    if shape == "flagged":
        fields["individual"] = "1" if kind == "individual" else "0"
    return fields


def third_event(app: SandboxApp, kind: str, event: str, obj: dict[str, Any]) -> None:
    """thirdlog webhooks: company/individual → client.* or prospect.*, contact → people.*."""
    if kind == "contact":
        thirdtype = "people"
    else:
        thirdtype = obj.get("type", "client")
        if thirdtype not in ("client", "prospect"):
            return
    shape = app.config.webhook_third_shape
    if shape == "cycle":
        shape = THIRD_SHAPES[next(app.webhooks.third_deliveries) % len(THIRD_SHAPES)]
    app.webhooks.emit(
        f"{thirdtype}.{event}",
        {"eventType": "thirdlog", "event": event, "relatedid": obj["id"], **third_fields(kind, thirdtype, shape)},
        obj,
    )
