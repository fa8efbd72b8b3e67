"""Sellsy webhook deliveries: signature check and parsing into one event shape.

Standard library only (the receiver Lambda imports this on every cold start).
Deliveries come JSON-encoded, or form-encoded with the JSON in the ``notif`` field. The signature
header ``X-Webhook-Signature`` is the hex SHA-1 of ``sign_key + raw body`` (a plain hash, not an HMAC).
Values in the payload are strings; ids and timestamps are converted here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

SIGNATURE_HEADER = "x-webhook-signature"
MAX_BODY_BYTES = 256 * 1024  # deliveries are small; anything bigger is refused before parsing


class InvalidDelivery(ValueError):
    """The body is not a Sellsy delivery; the message names the problem (for a 400 answer)."""


@dataclass(frozen=True)
class WebhookEvent:
    account_id: str  # Sellsy's corpid
    entity: str  # relatedtype: estimate, invoice, opportunity, company, individual, contact, ...
    event: str  # created, updated, deleted, step, ...
    object_id: str  # relatedid
    event_type: str = ""  # docslog, thirdlog, opportunity, ...
    status: str | None = None  # relatedobject.status when the object is in the payload
    timestamp: int | None = None  # unix seconds
    third_type: str | None = None  # client, prospect, people (thirdlog only)
    owner_type: str | None = None
    owner_id: str | None = None
    related_object: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def config_id(self) -> str:
        """The webhook configuration id this delivery belongs to (``estimate.step``, ``client.updated``)."""
        if self.event_type == "thirdlog" and self.third_type:
            return f"{self.third_type}.{self.event}"
        return f"{self.entity}.{self.event}"

    def dedupe_key(self) -> str:
        """Same object, same change, same moment: the same delivery (Sellsy has no delivery id)."""
        return ":".join(
            [
                self.account_id,
                self.entity,
                self.object_id,
                self.event,
                self.status or "",
                str(self.timestamp or ""),
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "entity": self.entity,
            "event": self.event,
            "object_id": self.object_id,
            "event_type": self.event_type,
            "status": self.status,
            "timestamp": self.timestamp,
            "third_type": self.third_type,
            "owner_type": self.owner_type,
            "owner_id": self.owner_id,
        }


def expected_signature(body: bytes, sign_key: str) -> str:
    return hashlib.sha1(sign_key.encode("utf-8") + body, usedforsecurity=False).hexdigest()


def verify_signature(body: bytes, signature: str | None, sign_keys: str | Iterable[str]) -> bool:
    """Constant-time check against one key or several (current + previous, during a key rotation)."""
    if not signature:
        return False
    received = signature.strip().lower().encode("ascii", "replace")
    keys = [sign_keys] if isinstance(sign_keys, str) else list(sign_keys)
    matched = False
    for key in keys:
        if key:
            # Compare against every key (no early exit) so timing does not tell which key matched.
            matched |= hmac.compare_digest(expected_signature(body, key).encode("ascii"), received)
    return matched


def signature_from_headers(headers: Mapping[str, str] | None) -> str | None:
    for name, value in (headers or {}).items():
        if name.lower() == SIGNATURE_HEADER:
            return value
    return None


def is_ping(method: str) -> bool:
    """Sellsy checks an endpoint with a GET; it carries no event."""
    return method.upper() in ("GET", "HEAD")


def parse_delivery(body: bytes | str, content_type: str | None = None) -> WebhookEvent:
    """Parse a JSON or form (``notif=<json>``) delivery; raise ``InvalidDelivery`` naming the problem."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if len(raw) > MAX_BODY_BYTES:
        raise InvalidDelivery(f"body too large ({len(raw)} bytes, max {MAX_BODY_BYTES})")
    if not raw.strip():
        raise InvalidDelivery("empty body")
    payload = _decode(raw, (content_type or "").split(";")[0].strip().lower())
    return event_from_payload(payload)


def _decode(raw: bytes, content_type: str) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidDelivery("body is not UTF-8") from exc
    # Some senders label a form body as JSON (or not at all): the ``notif=`` prefix gives it away.
    looks_like_form = content_type == "application/x-www-form-urlencoded" or text.lstrip().startswith("notif=")
    if looks_like_form:
        fields = parse_qs(text, keep_blank_values=True)
        if "notif" not in fields:
            raise InvalidDelivery("form body without a 'notif' field")
        text = fields["notif"][0]
    try:
        payload = json.loads(text)
    except ValueError as exc:
        raise InvalidDelivery("payload is not valid JSON") from exc
    if not isinstance(payload, dict):
        raise InvalidDelivery("payload is not a JSON object")
    return payload


def _text(payload: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = payload.get(name)
    if value is None or value == "":
        if required:
            raise InvalidDelivery(f"missing field '{name}'")
        return None
    if isinstance(value, (dict, list, bool)):
        raise InvalidDelivery(f"field '{name}' must be a string or a number")
    return str(value).strip()


def event_from_payload(payload: Mapping[str, Any]) -> WebhookEvent:
    account_id = _text(payload, "corpid", required=True)
    entity = _text(payload, "relatedtype", required=True)
    event = _text(payload, "event", required=True)
    object_id = _text(payload, "relatedid", required=True)
    assert account_id and entity and event and object_id  # for type checkers; _text raised otherwise
    if not object_id.isdigit():
        raise InvalidDelivery("field 'relatedid' must be a numeric id")
    if not account_id.isdigit():
        raise InvalidDelivery("field 'corpid' must be a numeric id")
    related = payload.get("relatedobject")
    if isinstance(related, str) and related.strip().startswith("{"):
        try:
            related = json.loads(related)
        except ValueError:
            related = None
    related_object = related if isinstance(related, dict) else None
    status = related_object.get("status") if related_object else None
    timestamp_text = _text(payload, "timestamp", required=False)
    timestamp = int(float(timestamp_text)) if timestamp_text and _is_number(timestamp_text) else None
    return WebhookEvent(
        account_id=account_id,
        entity=entity.lower(),
        event=event,
        object_id=object_id,
        event_type=(_text(payload, "eventType", required=False) or "").lower(),
        status=str(status) if isinstance(status, (str, int)) and status != "" else None,
        timestamp=timestamp,
        third_type=_text(payload, "thirdtype", required=False),
        owner_type=_text(payload, "ownertype", required=False),
        owner_id=_text(payload, "ownerid", required=False),
        related_object=related_object,
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
