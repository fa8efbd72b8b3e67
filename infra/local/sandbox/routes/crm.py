"""Companies, individuals, contacts, addresses, company↔contact links, custom field values, smart tags."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from infra.local.sandbox.http import ApiError, Request, Response, bad_request, not_found
from infra.local.sandbox.listing import in_range, paginate, single
from infra.local.sandbox.routes.common import (
    address_embed,
    cf_embed_ids,
    cf_list,
    check_types,
    is_verify,
    require,
    third_event,
)

if TYPE_CHECKING:
    from infra.local.sandbox.app import SandboxApp

ROLES = {"main", "invoicing", "dunning"}
COMPANY_WRITABLE = {
    "type",
    "name",
    "email",
    "website",
    "phone_number",
    "mobile_number",
    "fax_number",
    "legal_france",
    "capital",
    "reference",
    "note",
    "auxiliary_code",
    "social",
    "rate_category_id",
    "accounting_code_id",
    "accounting_purchase_code_id",
    "owner_id",
    "is_archived",
    "business_segment",
    "number_of_employees",
    "marketing_campaigns_subscriptions",
    "created",
}
INDIVIDUAL_WRITABLE = {
    "type",
    "last_name",
    "first_name",
    "civility",
    "email",
    "website",
    "phone_number",
    "mobile_number",
    "fax_number",
    "reference",
    "note",
    "auxiliary_code",
    "social",
    "rate_category_id",
    "accounting_code_id",
    "accounting_purchase_code_id",
    "owner_id",
    "is_archived",
    "marketing_campaigns_subscriptions",
    "sync",
    "created",
}
CONTACT_WRITABLE = {
    "civility",
    "first_name",
    "last_name",
    "email",
    "website",
    "phone_number",
    "mobile_number",
    "fax_number",
    "position",
    "birth_date",
    "note",
    "social",
    "sync",
    "owner_id",
    "is_archived",
    "marketing_campaigns_subscriptions",
}
ADDRESS_FIELDS = (
    "name",
    "address_line_1",
    "address_line_2",
    "address_line_3",
    "address_line_4",
    "postal_code",
    "city",
    "country_code",
    "geocode",
)
COUNTRIES = {
    "FR": "France",
    "BE": "Belgique",
    "CH": "Suisse",
    "LU": "Luxembourg",
    "DE": "Allemagne",
    "ES": "Espagne",
    "IT": "Italie",
    "GB": "Royaume-Uni",
    "US": "États-Unis",
    "CA": "Canada",
}


def _by_field(field: str) -> Any:
    return lambda obj: (obj[field], obj["id"])


def register(app: SandboxApp) -> None:
    route = app.router.route

    def st() -> Any:
        return app.state

    # -- rendering -------------------------------------------------------------------------------
    def render_third(kind: str, obj: dict[str, Any], req: Request) -> dict[str, Any]:
        out = dict(obj)
        embeds = set(req.args("embed"))
        if not embeds:
            return out
        state = st()
        embed: dict[str, Any] = {}
        # An embed that resolves to nothing is left out (the file does not allow null there).
        for name in ("invoicing_address", "delivery_address"):
            address = address_embed(state, obj.get(f"{name}_id"))
            if name in embeds and address:
                embed[name] = address
        for name in ("main_contact", "dunning_contact", "invoicing_contact"):
            contact = state.contacts.get(obj.get(f"{name}_id") or 0)
            if name in embeds and contact:
                embed[name] = copy.deepcopy(contact)
        if "smart_tags" in embeds:
            embed["smart_tags"] = [st().smart_tags[t] for t in state.tag_links.get((kind, obj["id"]), [])][:20]
        if "owner" in embeds:
            embed["owner"] = state.staffs.get(obj["owner"]["id"])
        if "opportunities" in embeds and kind != "contact":
            embed["opportunities"] = sum(
                1 for o in state.opportunities.values() if {"id": obj["id"], "type": kind} in o["related"]
            )
        cf_ids = cf_embed_ids(req)
        if cf_ids:
            embed["custom_fields"] = cf_list(state, kind, obj["id"], cf_ids)
        out["_embed"] = embed
        return out

    def third_store(kind: str) -> dict[int, dict[str, Any]]:
        return {"company": st().companies, "individual": st().individuals, "contact": st().contacts}[kind]

    def get_third(kind: str, object_id: int) -> dict[str, Any]:
        obj = third_store(kind).get(object_id)
        if obj is None:
            raise not_found(kind, object_id)
        return obj

    # -- filters ---------------------------------------------------------------------------------
    def filters_of(req: Request) -> dict[str, Any]:
        body = req.json_object()
        filters = body.get("filters")
        if not isinstance(filters, dict):
            raise bad_request("Validation failed", filters="This value is required and must be an object.")
        return filters

    def match_third(kind: str, obj: dict[str, Any], filters: dict[str, Any]) -> bool:
        state = st()
        for key, wanted in filters.items():
            if key in ("updated_at", "updated"):
                if not in_range(obj.get("updated_at") or obj.get("updated"), wanted):
                    return False
            elif key == "created":
                if not in_range(obj.get("created"), wanted):
                    return False
            elif key == "type":
                allowed = wanted if isinstance(wanted, list) else [wanted]
                if obj.get("type") not in allowed:
                    return False
            elif key == "name":
                text = obj.get("name") or f"{obj.get('first_name') or ''} {obj.get('last_name') or ''}"
                if str(wanted).lower() not in text.lower():
                    return False
            elif key == "last_name":
                if str(wanted).lower() not in (obj.get("last_name") or "").lower():
                    return False
            elif key in ("email", "phone_number", "mobile_number"):
                if str(wanted).lower() not in (obj.get(key) or "").lower():
                    return False
            elif key == "is_archived":
                if bool(obj.get("is_archived")) != bool(wanted):
                    return False
            elif key == "id":
                if obj["id"] not in wanted:
                    return False
            elif key == "reference":
                refs = {str(r).lower() for r in (wanted if isinstance(wanted, list) else [wanted])}
                if (obj.get("reference") or "").lower() not in refs:
                    return False
            elif key == "siret":
                if (obj.get("legal_france") or {}).get("siret") != wanted:
                    return False
            elif key in ("postal_code", "country_code"):
                address = state.addresses.get(obj.get("invoicing_address_id") or 0) or {}
                values = wanted if isinstance(wanted, list) else [wanted]
                if address.get(key) not in values:
                    return False
            elif key == "companies":
                linked = {co for (co, ct) in state.company_contacts if ct == obj["id"]}
                if not linked & set(wanted):
                    return False
            elif key == "is_linked":
                has_link = any(ct == obj["id"] for (_, ct) in state.company_contacts)
                if has_link != bool(wanted):
                    return False
        return True

    updated_key = {"company": "updated_at", "individual": "updated_at", "contact": "updated"}
    orders_for = {
        kind: {
            "id": lambda o: o["id"],
            "created": lambda o: (o["created"], o["id"]),
            "updated_at": _by_field(key),
            "updated": _by_field(key),
            "name": lambda o: ((o.get("name") or o.get("last_name") or "").lower(), o["id"]),
            "last_name": lambda o: ((o.get("last_name") or "").lower(), o["id"]),
        }
        for kind, key in updated_key.items()
    }

    def list_third(kind: str, req: Request, items: Any) -> Response:
        with st().lock:
            return paginate(req, list(items), lambda o: render_third(kind, o, req), orders=orders_for[kind])

    # -- create / update -------------------------------------------------------------------------
    def create_third(kind: str, req: Request) -> Response:
        body = req.json_object()
        if kind == "company":
            require(body, "type", "name")
        elif kind == "individual":
            require(body, "type", "last_name")
        check_types(
            body,
            name=str,
            last_name=str,
            first_name=str,
            email=str,
            reference=str,
            note=str,
            is_archived=bool,
            owner_id=int,
        )
        if kind != "contact" and body["type"] not in ("prospect", "client", "supplier"):
            raise bad_request("Validation failed", type="must be prospect, client or supplier")
        if is_verify(req):
            return Response.empty(204)
        state = st()
        with state.lock:
            object_id = (max(third_store(kind), default=0) + 1) if kind != "contact" else state.new_id("contact")
            now = app.now()
            obj: dict[str, Any] = {
                "id": object_id,
                "note": "",
                "social": {},
                "owner": {"id": body.get("owner_id") or 1, "type": "staff"},
                "created": now,
                "is_archived": False,
                "marketing_campaigns_subscriptions": [],
            }
            if kind == "company":
                obj.update(
                    {
                        "legal_france": {},
                        "main_contact_id": None,
                        "invoicing_address_id": None,
                        "delivery_address_id": None,
                        "updated_at": now,
                        "rate_category_id": 1,
                    }
                )
            elif kind == "individual":
                obj.update(
                    {
                        "invoicing_address_id": None,
                        "delivery_address_id": None,
                        "updated_at": now,
                        "sync": {"mailchimp": False, "mailjet": False, "simplemail": False},
                        "rate_category_id": 1,
                    }
                )
            else:
                obj.update(
                    {
                        "updated": now,
                        "invoicing_address_id": None,
                        "delivery_address_id": None,
                        "sync": {"mailchimp": False, "mailjet": False, "simplemail": False},
                    }
                )
            apply_third(kind, obj, body)
            third_store(kind)[object_id] = obj
            rendered = render_third(kind, obj, req)
        third_event(app, kind, "created", obj)
        return single(req, rendered, 201)

    def apply_third(kind: str, obj: dict[str, Any], body: dict[str, Any]) -> None:
        writable = {
            "company": COMPANY_WRITABLE,
            "individual": INDIVIDUAL_WRITABLE,
            "contact": CONTACT_WRITABLE,
        }[kind]
        for key, value in body.items():
            if key not in writable or key == "created":
                continue
            if key == "owner_id":
                obj["owner"] = {"id": value or 1, "type": "staff"}
            elif key in ("business_segment", "number_of_employees"):
                continue
            elif key == "legal_france" and isinstance(value, dict):
                obj["legal_france"] = {**obj.get("legal_france", {}), **value}
            else:
                obj[key] = value
        if kind == "contact":
            obj["updated"] = app.now()
        else:
            obj["updated_at"] = app.now()

    def update_third(kind: str, req: Request, object_id: int) -> Response:
        body = req.json_object()
        check_types(
            body,
            name=str,
            last_name=str,
            first_name=str,
            email=str,
            phone_number=str,
            mobile_number=str,
            is_archived=bool,
        )
        state = st()
        with state.lock:
            obj = get_third(kind, object_id)
            if is_verify(req):
                return Response.empty(204)
            apply_third(kind, obj, body)
            rendered = render_third(kind, obj, req)
        third_event(app, kind, "updated", obj)
        return single(req, rendered)

    def delete_third(kind: str, object_id: int) -> Response:
        state = st()
        with state.lock:
            obj = get_third(kind, object_id)
            del third_store(kind)[object_id]
            for key in [
                k
                for k in state.company_contacts
                if (kind == "company" and k[0] == object_id) or (kind == "contact" and k[1] == object_id)
            ]:
                del state.company_contacts[key]
        third_event(app, kind, "deleted", obj)
        return Response.empty(204)

    for kind, plural in (("company", "companies"), ("individual", "individuals"), ("contact", "contacts")):

        def make(kind: str = kind, plural: str = plural) -> None:
            route("GET", f"/v2/{plural}")(lambda req: list_third(kind, req, third_store(kind).values()))

            @route("POST", f"/v2/{plural}/search")
            def search(req: Request) -> Response:
                filters = filters_of(req)
                with st().lock:
                    items = [o for o in third_store(kind).values() if match_third(kind, o, filters)]
                return list_third(kind, req, items)

            route("POST", f"/v2/{plural}")(lambda req: create_third(kind, req))

            @route("GET", f"/v2/{plural}/{{id}}")
            def get_one(req: Request, id: int) -> Response:
                with st().lock:
                    return single(req, render_third(kind, get_third(kind, id), req))

            route("PUT", f"/v2/{plural}/{{id}}")(lambda req, id: update_third(kind, req, id))
            route("DELETE", f"/v2/{plural}/{{id}}")(lambda req, id: delete_third(kind, id))
            if kind != "contact":
                route("POST", f"/v2/{plural}/{{id}}/convert")(lambda req, id: convert_third(kind, req, id))

        make()

    def convert_third(kind: str, req: Request, object_id: int) -> Response:
        """Prospect → client (POST /companies/{id}/convert, /individuals/{id}/convert); nothing else converts.

        Both body fields are required by the file; a client or supplier is refused (the less convenient
        reading: the file documents the conversion of a prospect only).
        """
        body = req.json_object()
        missing = {
            k: "This value is required." for k in ("target", "also_enable_custom_fields_on_target") if k not in body
        }
        if missing:
            raise ApiError(400, "Validation failed: required fields are missing", missing)
        if body["target"] != "client":
            raise bad_request("Validation failed", target="client")
        with st().lock:
            obj = get_third(kind, object_id)
            if obj.get("type") != "prospect":
                raise bad_request(
                    f"Only a prospect can be converted; {kind} {object_id} is a {obj.get('type')}",
                    type=f"{kind} {object_id} is a {obj.get('type')}",
                )
            obj["type"] = "client"
            obj["updated_at"] = app.now()
            rendered = render_third(kind, obj, req)
        third_event(app, kind, "transform", obj)  # Sellsy's id for a prospect becoming a client
        return Response.json(200, rendered)

    # -- addresses -------------------------------------------------------------------------------
    def owner_addresses(kind: str, owner_id: int) -> list[dict[str, Any]]:
        get_third(kind, owner_id)
        return [a for aid, a in st().addresses.items() if st().address_owner.get(aid) == (kind, owner_id)]

    def set_address_flags(kind: str, owner_id: int, address: dict[str, Any], body: dict[str, Any]) -> None:
        owner = get_third(kind, owner_id)
        for flag, field in (
            ("is_invoicing_address", "invoicing_address_id"),
            ("is_delivery_address", "delivery_address_id"),
        ):
            if body.get(flag) or (flag == "is_delivery_address" and field in owner and not owner.get(field)):
                for other in owner_addresses(kind, owner_id):
                    other[flag] = False
                address[flag] = True
                if field in owner:
                    owner[field] = address["id"]

    def address_body(req: Request, *, create: bool) -> dict[str, Any]:
        body = req.json_object()
        if create:
            require(body, "name", "address_line_1", "postal_code", "city", "country_code")
        check_types(
            body,
            name=str,
            address_line_1=str,
            postal_code=str,
            city=str,
            country_code=str,
            is_invoicing_address=bool,
            is_delivery_address=bool,
        )
        if "country_code" in body and not (isinstance(body["country_code"], str) and len(body["country_code"]) == 2):
            raise bad_request("Validation failed", country_code="two-letter ISO country code expected")
        return body

    for kind, plural, param in (
        ("company", "companies", "companyId"),
        ("individual", "individuals", "individualId"),
        ("contact", "contacts", "contactId"),
    ):

        def make_addresses(kind: str = kind, plural: str = plural, param: str = param) -> None:
            base = f"/v2/{plural}/{{{param}}}/addresses"

            @route("GET", base)
            def list_addresses(req: Request, **params: int) -> Response:
                with st().lock:
                    return paginate(req, owner_addresses(kind, params[param]), copy.deepcopy)

            @route("POST", base)
            def create_address(req: Request, **params: int) -> Response:
                body = address_body(req, create=True)
                state = st()
                with state.lock:
                    owner = get_third(kind, params[param])
                    if is_verify(req):
                        return Response.empty(204)
                    fields = {k: body.get(k) for k in ADDRESS_FIELDS}
                    fields["geocode"] = body.get("geocode") or {"lat": None, "lng": None}
                    fields["country"] = COUNTRIES.get(body["country_code"].upper(), body["country_code"])
                    address_id = state.new_id("address")
                    address = {
                        "id": address_id,
                        **fields,
                        "is_invoicing_address": False,
                        "is_delivery_address": False,
                    }
                    state.addresses[address_id] = address
                    state.address_owner[address_id] = (kind, params[param])
                    set_address_flags(kind, params[param], address, body)
                    result = copy.deepcopy(address)
                if kind != "contact":
                    third_event(app, kind, "addressadded", owner)  # Sellsy's address event ids
                return Response.json(201, result)

            def find(kind: str, owner_id: int, address_id: int) -> dict[str, Any]:
                get_third(kind, owner_id)
                if st().address_owner.get(address_id) != (kind, owner_id):
                    raise not_found("address", address_id)
                return st().addresses[address_id]

            @route("GET", f"{base}/{{id}}")
            def get_address(req: Request, id: int, **params: int) -> Response:
                with st().lock:
                    return Response.json(200, copy.deepcopy(find(kind, params[param], id)))

            @route("PUT", f"{base}/{{id}}")
            def update_address(req: Request, id: int, **params: int) -> Response:
                body = address_body(req, create=False)
                with st().lock:
                    address = find(kind, params[param], id)
                    if is_verify(req):
                        return Response.empty(204)
                    for key in ADDRESS_FIELDS:
                        if key in body:
                            address[key] = body[key]
                    if "country_code" in body:
                        address["country"] = COUNTRIES.get(body["country_code"].upper(), body["country_code"])
                    set_address_flags(kind, params[param], address, body)
                    result = copy.deepcopy(address)
                    owner = get_third(kind, params[param])
                if kind != "contact":
                    third_event(app, kind, "addressupdated", owner)
                return Response.json(200, result)

            @route("DELETE", f"{base}/{{id}}")
            def delete_address(req: Request, id: int, **params: int) -> Response:
                with st().lock:
                    find(kind, params[param], id)
                    del st().addresses[id]
                    del st().address_owner[id]
                    owner = get_third(kind, params[param])
                if kind != "contact":
                    third_event(app, kind, "addressremoved", owner)
                return Response.empty(204)

        make_addresses()

    # -- company ↔ contact links -----------------------------------------------------------------
    def roles_of(req: Request) -> list[str]:
        body = req.json(required=False) or {}
        if not isinstance(body, dict):
            raise bad_request("Request body must be a JSON object", body="expected an object")
        roles = body.get("roles", [])
        if not isinstance(roles, list) or not set(roles) <= ROLES:
            raise bad_request("Validation failed", roles="a list of main, invoicing, dunning")
        return roles

    def apply_roles(company: dict[str, Any], contact_id: int, roles: list[str]) -> None:
        state = st()
        for role in ROLES:
            field = f"{role}_contact_id"
            if role in roles:
                for key, other in state.company_contacts.items():
                    if key[0] == company["id"] and key[1] != contact_id and role in other:
                        other.remove(role)
                company[field] = contact_id
            elif company.get(field) == contact_id:
                company[field] = None
        state.company_contacts[(company["id"], contact_id)] = list(roles)

    @route("POST", "/v2/companies/{companyId}/contacts/{contactId}")
    def link_contact(req: Request, companyId: int, contactId: int) -> Response:
        roles = roles_of(req)
        with st().lock:
            company = get_third("company", companyId)
            get_third("contact", contactId)
            if (companyId, contactId) in st().company_contacts:
                raise ApiError(409, "Contact already linked to this company", {"contactId": "already linked"})
            apply_roles(company, contactId, roles)
        third_event(app, "company", "updated", company)
        return Response.empty(201)

    @route("PUT", "/v2/companies/{companyId}/contacts/{contactId}")
    def relink_contact(req: Request, companyId: int, contactId: int) -> Response:
        roles = roles_of(req)
        with st().lock:
            company = get_third("company", companyId)
            if (companyId, contactId) not in st().company_contacts:
                raise not_found("company contact link", contactId)
            apply_roles(company, contactId, roles)
        third_event(app, "company", "updated", company)
        return Response.empty(200)

    @route("DELETE", "/v2/companies/{companyId}/contacts/{contactId}")
    def unlink_contact(req: Request, companyId: int, contactId: int) -> Response:
        with st().lock:
            company = get_third("company", companyId)
            if st().company_contacts.pop((companyId, contactId), None) is None:
                raise not_found("company contact link", contactId)
            apply_roles(company, contactId, [])
            st().company_contacts.pop((companyId, contactId), None)
        return Response.empty(204)

    @route("GET", "/v2/companies/{id}/contacts")
    def company_contacts(req: Request, id: int) -> Response:
        with st().lock:
            get_third("company", id)
            contacts = [st().contacts[ct] for (co, ct) in st().company_contacts if co == id and ct in st().contacts]
        return list_third("contact", req, contacts)

    @route("GET", "/v2/contacts/{id}/companies")
    def contact_companies(req: Request, id: int) -> Response:
        with st().lock:
            get_third("contact", id)
            companies = [st().companies[co] for (co, ct) in st().company_contacts if ct == id and co in st().companies]
        return list_third("company", req, companies)

    # -- custom field values and smart tags on third parties ----------------------------------------
    for kind, plural, param in (
        ("company", "companies", "id"),
        ("individual", "individuals", "id"),
        ("contact", "contacts", "contactId"),
    ):

        def make_values(kind: str = kind, plural: str = plural, param: str = param) -> None:
            @route("GET", f"/v2/{plural}/{{{param}}}/custom-fields")
            def get_values(req: Request, **params: int) -> Response:
                with st().lock:
                    get_third(kind, params[param])
                    return paginate(req, cf_list(st(), kind, params[param]))

            @route("PUT", f"/v2/{plural}/{{{param}}}/custom-fields")
            def put_values(req: Request, **params: int) -> Response:
                with st().lock:
                    obj = get_third(kind, params[param])
                    write_values(kind, params[param], req)
                    if is_verify(req):
                        return Response.empty(204)
                    values = cf_list(st(), kind, params[param])
                third_event(app, kind, "updated", obj)
                return paginate(req, values)

            tag_param = "companyId" if kind == "company" else param
            tag_base = f"/v2/{plural}/{{{tag_param}}}/smart-tags"

            @route("GET", tag_base)
            def get_tags(req: Request, **params: int) -> Response:
                with st().lock:
                    get_third(kind, params[tag_param])
                    tags = [st().smart_tags[t] for t in st().tag_links.get((kind, params[tag_param]), [])]
                return paginate(req, tags)

            @route("POST", tag_base)
            def add_tags(req: Request, **params: int) -> Response:
                with st().lock:
                    get_third(kind, params[tag_param])
                    tags = link_tags(kind, params[tag_param], req)
                return paginate(req, tags)

        make_values()

    def write_values(kind: str, object_id: int, req: Request) -> None:
        body = req.json()
        if not isinstance(body, list):
            raise bad_request("Validation failed", body="an array of {id, value} is expected")
        state = st()
        pending = {}
        for index, entry in enumerate(body):
            if not isinstance(entry, dict) or "id" not in entry or "value" not in entry:
                raise bad_request("Validation failed", **{f"[{index}]": "id and value are required"})
            definition = state.custom_fields.get(entry["id"])
            if definition is None:
                raise bad_request("Validation failed", **{f"[{index}].id": f"unknown custom field {entry['id']}"})
            value = entry["value"]
            if definition["type"] == "boolean" and value is not None and not isinstance(value, bool):
                raise bad_request("Validation failed", **{f"[{index}].value": "boolean expected"})
            pending[entry["id"]] = value
        if not is_verify(req):
            current = state.cf_values.setdefault((kind, object_id), {})
            current.update(pending)

    def link_tags(kind: str, object_id: int, req: Request) -> list[dict[str, Any]]:
        body = req.json()
        if not isinstance(body, list):
            raise bad_request("Validation failed", body="an array of {value} or {id} is expected")
        state = st()
        linked = state.tag_links.setdefault((kind, object_id), [])
        for entry in body:
            if isinstance(entry, dict) and "id" in entry:
                if entry["id"] not in state.smart_tags:
                    raise bad_request("Validation failed", id=f"unknown smart tag {entry['id']}")
                tag_id = entry["id"]
            elif isinstance(entry, dict) and isinstance(entry.get("value"), str):
                found = [t for t in state.smart_tags.values() if t["value"] == entry["value"]]
                if found:
                    tag_id = found[0]["id"]
                else:
                    tag_id = state.new_id("smart_tag")
                    state.smart_tags[tag_id] = {"id": tag_id, "value": entry["value"]}
            else:
                raise bad_request("Validation failed", body="each tag needs a value or an id")
            if tag_id not in linked:
                linked.append(tag_id)
        return [state.smart_tags[t] for t in linked]

    app.crm_render_third = render_third  # type: ignore[attr-defined]
    app.crm_write_values = write_values  # type: ignore[attr-defined]
    app.crm_link_tags = link_tags  # type: ignore[attr-defined]
