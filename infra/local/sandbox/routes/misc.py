"""Comments, files (multipart upload on documents and opportunities) and webhooks configuration."""

from __future__ import annotations

import hashlib
from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING, Any

from infra.local.sandbox.http import ApiError, Request, Response, bad_request, not_found
from infra.local.sandbox.listing import in_range, paginate, single

if TYPE_CHECKING:
    from infra.local.sandbox.app import SandboxApp

COMMENT_RELATED = {
    "opportunity",
    "company",
    "individual",
    "contact",
    "item",
    "estimate",
    "creditnote",
    "order",
    "delivery",
    "proforma",
    "invoice",
    "model",
}
FILE_OWNERS = {
    "estimates": ("estimate", "documentId"),
    "invoices": ("invoice", "documentId"),
    "credit-notes": ("creditnote", "documentId"),
    "opportunities": ("opportunity", "opportunityId"),
    "companies": ("company", "companyId"),
    "individuals": ("individual", "individualId"),
}
FILE_RELATED_TYPE = {"creditnote": "credit-note"}
EXTENSIONS = {"pdf", "png", "jpg", "jpeg", "gif", "doc", "docx", "xls", "xlsx", "odt", "ods", "txt", "csv", "zip"}
# Third-party event ids as public code registering real Sellsy webhooks uses them (register W7);
# document and opportunity ids are unconfirmed guesses (register W8).
THIRD_PARTY_EVENTS = {
    "created": "Creation",
    "updated": "Update",
    "deleted": "Deletion",
    "addressadded": "Address added",
    "addressupdated": "Address updated",
    "addressremoved": "Address removed",
    "mainaddress": "Main address changed",
    "transform": "Prospect converted",
    "archived": "Archived",
    "unarchived": "Unarchived",
    "editPrefs": "Preferences edited",
}
WEBHOOK_EVENTS = [
    {"id": "client", "description": "Clients", "events": THIRD_PARTY_EVENTS},
    {"id": "prospect", "description": "Prospects", "events": THIRD_PARTY_EVENTS},
    {
        "id": "people",
        "description": "Contacts",
        "events": {
            "created": "Creation",
            "updated": "Update",
            "deleted": "Deletion",
            "created_address": "Address added",
            "updated_address": "Address updated",
            "deleted_address": "Address removed",
            "updatedmain_address": "Main address changed",
            "archived": "Archived",
            "unarchived": "Unarchived",
        },
    },
    {
        "id": "third_party_contact",
        "description": "Contacts of a third party",
        "events": {"created": "Link created", "main": "Main contact changed", "deleted": "Link removed"},
    },
    {"id": "estimate", "description": "Estimates", "events": {"created": "Creation", "step": "Status change"}},
    {"id": "invoice", "description": "Invoices", "events": {"created": "Creation", "step": "Status change"}},
    {"id": "opportunity", "description": "Opportunities", "events": {"step": "Status change"}},
]


def register(app: SandboxApp) -> None:
    route = app.router.route

    def st() -> Any:
        return app.state

    def related_exists(kind: str, object_id: int) -> bool:
        state = st()
        if kind in ("estimate", "invoice", "creditnote"):
            return bool(state.docs[kind].exists(object_id))
        store = {
            "opportunity": state.opportunities,
            "company": state.companies,
            "individual": state.individuals,
            "contact": state.contacts,
            "item": state.items,
        }.get(kind)
        return store is not None and object_id in store

    # -- comments --------------------------------------------------------------------------------
    def get_comment(comment_id: int) -> dict[str, Any]:
        comment = st().comments.get(comment_id)
        if comment is None:
            raise not_found("comment", comment_id)
        return comment

    def comment_match(comment: dict[str, Any], filters: dict[str, Any]) -> bool:
        for key, wanted in filters.items():
            if key in ("created", "updated") and not in_range(comment.get(key), wanted):
                return False
            if key == "owners" and comment["owner"]["id"] not in wanted:
                return False
            if key == "parent_id" and comment.get("parent_id") != wanted:
                return False
            if key == "related_objects":
                related = {(r["type"], r["id"]) for r in comment["related"]}
                if not any((w.get("type"), w.get("id")) in related for w in wanted):
                    return False
            for field, name in (
                ("companies", "company_id"),
                ("individuals", "individual_id"),
                ("contacts", "contact_id"),
            ):
                if key == field and comment.get(name) not in wanted:
                    return False
        return True

    comment_orders = {
        "id": lambda c: c["id"],
        "created": lambda c: (c["created"], c["id"]),
        "updated": lambda c: (c["updated"], c["id"]),
    }

    @route("GET", "/v2/comments")
    def list_comments(req: Request) -> Response:
        with st().lock:
            return paginate(req, list(st().comments.values()), orders=comment_orders)

    @route("POST", "/v2/comments/search")
    def search_comments(req: Request) -> Response:
        body = req.json_object()
        filters = body.get("filters")
        if not isinstance(filters, dict):
            raise bad_request("Validation failed", filters="This value is required and must be an object.")
        with st().lock:
            return paginate(
                req, [c for c in st().comments.values() if comment_match(c, filters)], orders=comment_orders
            )

    def check_comment_body(body: dict[str, Any], *, create: bool) -> None:
        if create and not isinstance(body.get("description"), str):
            raise bad_request("Validation failed", description="This value is required.")
        related = body.get("related", [])
        if not isinstance(related, list) or len(related) > 1:
            raise bad_request("Validation failed", related="at most one related object")
        for entry in related:
            if not isinstance(entry, dict) or entry.get("type") not in COMMENT_RELATED:
                raise bad_request("Validation failed", related="unsupported related type")
            if not related_exists(entry["type"], entry.get("id") or 0):
                raise bad_request("Validation failed", related=f"no {entry['type']} with id {entry.get('id')}")

    @route("POST", "/v2/comments")
    def create_comment(req: Request) -> Response:
        body = req.json_object()
        with st().lock:
            check_comment_body(body, create=True)
            if (req.arg("verify") or "") in ("1", "true"):
                return Response.empty(204)
            comment_id = st().new_id("comment")
            related = [{"id": r["id"], "type": r["type"]} for r in body.get("related", [])]
            comment = {
                "id": comment_id,
                "owner": {"id": 1, "type": "staff"},
                "description": body["description"],
                "created": app.now(),
                "updated": app.now(),
                "parent_id": body.get("parent_id"),
                "related": related,
                "company_id": None,
                "individual_id": None,
                "contact_id": None,
            }
            for entry in related:
                if entry["type"] in ("company", "individual", "contact"):
                    comment[f"{entry['type']}_id"] = entry["id"]
            st().comments[comment_id] = comment
            return Response.json(201, comment)

    @route("GET", "/v2/comments/{id}")
    def get_one_comment(req: Request, id: int) -> Response:
        return single(req, get_comment(id))

    @route("PUT", "/v2/comments/{id}")
    def update_comment(req: Request, id: int) -> Response:
        body = req.json_object()
        with st().lock:
            comment = get_comment(id)
            if "description" in body:
                if not isinstance(body["description"], str):
                    raise bad_request("Validation failed", description="a string is expected")
                comment["description"] = body["description"]
            comment["updated"] = app.now()
            return Response.json(200, comment)

    @route("DELETE", "/v2/comments/{id}")
    def delete_comment(req: Request, id: int) -> Response:
        with st().lock:
            get_comment(id)
            del st().comments[id]
        return Response.empty(204)

    # -- files -----------------------------------------------------------------------------------
    def parse_upload(req: Request) -> tuple[str, bytes]:
        if len(req.body) > app.config.max_upload_bytes:
            raise ApiError(
                413,
                "Payload too large: files are limited to 15 MB",
                {"file": f"{len(req.body)} bytes exceed {app.config.max_upload_bytes}"},
            )
        if req.content_type != "multipart/form-data":
            raise bad_request("Validation failed", file="multipart/form-data with a `file` part is required")
        head = f"Content-Type: {req.headers.get('content-type')}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + req.body)
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == "file":
                payload = part.get_payload(decode=True)
                name = part.get_filename() or "file"
                return name, payload if isinstance(payload, bytes) else b""
        raise bad_request("Validation failed", file="This value is required.")

    for plural, (kind, param) in FILE_OWNERS.items():

        def make_files(plural: str = plural, kind: str = kind, param: str = param) -> None:
            @route("POST", f"/v2/{plural}/{{{param}}}/files")
            def upload(req: Request, **params: int) -> Response:
                object_id = params[param]
                name, payload = parse_upload(req)
                if not payload:
                    raise bad_request("Validation failed", file="the file is empty")
                extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
                if extension not in EXTENSIONS:
                    raise bad_request("Validation failed", file=f"extension {extension!r} is not allowed")
                with st().lock:
                    if not related_exists(kind, object_id):
                        raise not_found(kind, object_id)
                    file_id = st().new_id("file")
                    record = {
                        "id": file_id,
                        "type": "file",
                        "name": name,
                        "created": app.now(),
                        "size": len(payload),
                        "extension": extension,
                        "public_link": f"{app.base_url}/_sandbox/files/{file_id}/{name}",
                        "related": [{"type": FILE_RELATED_TYPE.get(kind, kind), "id": object_id}],
                        "breadcrumbs": [{"type": "directory", "id": 1, "name": "Documents"}],
                        "_sha256": hashlib.sha256(payload).hexdigest(),
                    }
                    st().files[file_id] = record
                    return Response.json(201, public_file(record))

            @route("GET", f"/v2/{plural}/{{{param}}}/files")
            def list_files(req: Request, **params: int) -> Response:
                object_id = params[param]
                with st().lock:
                    if not related_exists(kind, object_id):
                        raise not_found(kind, object_id)
                    files = [
                        public_file(f)
                        for f in st().files.values()
                        if f["related"] == [{"type": FILE_RELATED_TYPE.get(kind, kind), "id": object_id}]
                    ]
                return paginate(req, files)

        make_files()

    def public_file(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if not k.startswith("_")}

    @route("GET", "/v2/files/{id}")
    def get_file(req: Request, id: int) -> Response:
        record = st().files.get(id)
        if record is None:
            raise not_found("file", id)
        return Response.json(200, public_file(record))

    @route("DELETE", "/v2/files/{id}")
    def delete_file(req: Request, id: int) -> Response:
        with st().lock:
            if st().files.pop(id, None) is None:
                raise not_found("file", id)
        return Response.empty(204)

    # -- webhooks --------------------------------------------------------------------------------
    def webhook_view(hook: dict[str, Any]) -> dict[str, Any]:
        return dict(hook)

    def check_webhook(body: dict[str, Any], *, create: bool) -> None:
        if create:
            missing = {k: "This value is required." for k in ("type", "endpoint", "configuration") if k not in body}
            if missing:
                raise ApiError(400, "Validation failed: required fields are missing", missing)
        if "type" in body and body["type"] not in ("http", "slack"):
            raise bad_request("Validation failed", type="http or slack")
        if "endpoint" in body and not (isinstance(body["endpoint"], str) and body["endpoint"].startswith("http")):
            raise bad_request("Validation failed", endpoint="an http(s) URL is expected")
        configuration = body.get("configuration", [])
        if not isinstance(configuration, list) or any(
            not isinstance(c, dict) or not isinstance(c.get("id"), str) or not isinstance(c.get("is_enabled"), bool)
            for c in configuration
        ):
            raise bad_request("Validation failed", configuration="a list of {id, is_enabled}")
        known = {f"{e['id']}.{name}" for e in WEBHOOK_EVENTS for name in e["events"]}
        unknown = [c["id"] for c in configuration if c["id"] not in known]
        if unknown:
            raise bad_request("Validation failed", configuration=f"unknown event ids {unknown}")

    @route("GET", "/v2/webhooks")
    def list_webhooks(req: Request) -> Response:
        return paginate(req, [webhook_view(h) for h in st().webhooks.values()])

    @route("POST", "/v2/webhooks/search")
    def search_webhooks(req: Request) -> Response:
        body = req.json_object()
        filters = body.get("filters") or {}
        hooks = [
            h
            for h in st().webhooks.values()
            if all(h.get(k) == v for k, v in filters.items() if k in ("endpoint", "is_enabled", "name", "type"))
        ]
        return paginate(req, [webhook_view(h) for h in hooks])

    @route("GET", "/v2/webhooks/events")
    def webhook_events(req: Request) -> Response:
        return Response.json(200, WEBHOOK_EVENTS)

    @route("POST", "/v2/webhooks")
    def create_webhook(req: Request) -> Response:
        body = req.json_object()
        check_webhook(body, create=True)
        with st().lock:
            hook_id = st().new_id("webhook")
            hook = {
                "id": hook_id,
                "type": body["type"],
                "name": body.get("name"),
                "endpoint": body["endpoint"],
                "is_enabled": bool(body.get("is_enabled", True)),
                "created": app.now(),
                "updated": None,
                "last_succeeded": None,
                "last_failed": None,
                "nb_failures": 0,
                "object_in_payload": bool(body.get("object_in_payload", False)),
                "json_content_type": bool(body.get("json_content_type", False)),
                "sign_key": body.get("sign_key") or "",
                "configuration": [{"id": c["id"], "is_enabled": c["is_enabled"]} for c in body["configuration"]],
            }
            st().webhooks[hook_id] = hook
            return Response.json(201, webhook_view(hook))

    def get_webhook(hook_id: int) -> dict[str, Any]:
        hook = st().webhooks.get(hook_id)
        if hook is None:
            raise not_found("webhook", hook_id)
        return hook

    @route("GET", "/v2/webhooks/{id}")
    def get_one_webhook(req: Request, id: int) -> Response:
        return Response.json(200, webhook_view(get_webhook(id)))

    @route("PUT", "/v2/webhooks/{id}")
    def update_webhook(req: Request, id: int) -> Response:
        body = req.json_object()
        check_webhook(body, create=False)
        with st().lock:
            hook = get_webhook(id)
            for key in ("name", "endpoint", "is_enabled", "object_in_payload", "json_content_type", "sign_key", "type"):
                if key in body:
                    hook[key] = body[key]
            if "configuration" in body:
                hook["configuration"] = [{"id": c["id"], "is_enabled": c["is_enabled"]} for c in body["configuration"]]
            hook["updated"] = app.now()
            return Response.json(200, webhook_view(hook))

    @route("DELETE", "/v2/webhooks/{id}")
    def delete_webhook(req: Request, id: int) -> Response:
        with st().lock:
            get_webhook(id)
            del st().webhooks[id]
        return Response.empty(204)
