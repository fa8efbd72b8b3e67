"""Sellsy webhook deliveries: signature check and parsing into one event shape.

Standard library only (the receiver Lambda imports this on every cold start).
Deliveries come JSON-encoded, or form-encoded with the JSON in the ``notif`` field. The signature
header ``X-Webhook-Signature`` is the hex SHA-1 of ``sign_key + raw body`` (a plain hash, not an HMAC).
Values in the payload are strings; ids and timestamps are converted here.

Sellsy names the object in several ways (register entries W4, W5): ``relatedtype`` is ``client``,
``prospect`` or ``supplier`` for a company or an individual (the ``individual`` flag or the object
tells which; when nothing does, the entity is ``third`` and the worker reads to find out), ``people``
for a contact, and ``thirdtype`` may carry the same word. Every variant maps to one ``entity``:
estimate, invoice, opportunity, company, individual, third, contact, or the raw word when unknown.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from bridge.sellsy.kinds import COLLECTIONS

SIGNATURE_HEADER = "x-webhook-signature"
MAX_BODY_BYTES = 256 * 1024  # deliveries are small; anything bigger is refused before parsing
# Deliveries carry the unix time of the event (register W6). Older than a day is refused, and so is
# a date ahead of our clock by more than a few minutes (a replayed, forged or broken delivery).
MAX_AGE_SECONDS = 24 * 3600
MAX_AHEAD_SECONDS = 300

THIRD = "third"  # a company or an individual; the payload does not say which
THIRD_TYPES = ("client", "prospect", "supplier")
CONTACT_TYPES = ("people", "contact", "third_party_contact")
# Other names a delivery may use for an object kind: two words of its own and the API collections' plurals.
ENTITY_ALIASES = {
    "corporation": "company",
    "person": "individual",
    **{plural: kind for kind, plural in COLLECTIONS.items() if "_" not in kind},
}
_TRUE = {"1", "true", "y", "yes"}
_FALSE = {"0", "false", "n", "no"}


class InvalidDelivery(ValueError):
    """The body is not a Sellsy delivery; the message names the problem (for a 400 answer)."""


class OutsideWindow(InvalidDelivery):
    """The delivery's timestamp is too old or in the future (a replayed or forged delivery)."""


@dataclass(frozen=True)
class WebhookEvent:
    account_id: str  # Sellsy's corpid
    entity: str  # estimate, invoice, opportunity, company, individual, third, contact, or the raw word
    event: str  # created, updated, deleted, step, ...
    object_id: str  # relatedid
    event_type: str = ""  # docslog, thirdlog, opportunity, ...
    status: str | None = None  # relatedobject.status when the object is in the payload
    timestamp: int | None = None  # unix seconds
    third_type: str | None = None  # client, prospect, supplier, people
    related_type: str = ""  # relatedtype as Sellsy sent it
    owner_type: str | None = None
    owner_id: str | None = None
    related_object: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def config_id(self) -> str:
        """The webhook configuration id this delivery belongs to (``estimate.step``, ``client.updated``)."""
        if self.third_type and self.entity in (THIRD, "company", "individual", "contact"):
            return f"{self.third_type}.{self.event}"
        return f"{self.related_type or self.entity}.{self.event}"

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
            "related_type": self.related_type,
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
    try:
        payload = _decode(raw, (content_type or "").split(";")[0].strip().lower())
        return event_from_payload(payload)
    except InvalidDelivery:
        raise
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # Whatever else a body can break (absurd numbers, nesting too deep) is still the sender's
        # problem: a 400 naming it, never a 5xx that would make Sellsy retry forever.
        raise InvalidDelivery(f"unreadable delivery ({type(exc).__name__})") from exc


def check_freshness(timestamp: int | None, now: float) -> None:
    """Refuse a delivery dated outside ``[now - MAX_AGE_SECONDS, now + MAX_AHEAD_SECONDS]``.

    A delivery without a timestamp passes: the field is not documented by Sellsy, so its absence is
    not proof of a forgery (the signature still is the check).
    """
    if timestamp is None:
        return
    if timestamp < now - MAX_AGE_SECONDS:
        hours = (now - timestamp) / 3600
        raise OutsideWindow(
            f"delivery dated {hours:.0f} h ago; deliveries older than {MAX_AGE_SECONDS // 3600} h are refused"
        )
    if timestamp > now + MAX_AHEAD_SECONDS:
        raise OutsideWindow(
            f"delivery dated {timestamp - now:.0f} s ahead of our clock; the limit is {MAX_AHEAD_SECONDS} s"
        )


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


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, (str, int)) else ""
    return True if text in _TRUE else False if text in _FALSE else None


def _company_or_individual(payload: Mapping[str, Any], related: dict[str, Any] | None) -> str:
    flag = _flag(payload.get("individual"))
    if flag is not None:
        return "individual" if flag else "company"
    if related:
        kind = str(related.get("type") or related.get("_type") or "").lower()
        if kind in ("person", "individual"):
            return "individual"
        if kind in ("corporation", "company"):
            return "company"
        # A v2 object in the payload: companies have a name, individuals a last name.
        if "last_name" in related and "name" not in related:
            return "individual"
        if "name" in related and "last_name" not in related:
            return "company"
    return THIRD


def entity_of(related_type: str, third_type: str | None, payload: Mapping[str, Any], related: Any) -> str:
    """Our entity for Sellsy's ``relatedtype``/``thirdtype`` pair (module docstring)."""
    words = (related_type, (third_type or "").lower())
    if any(word in CONTACT_TYPES for word in words):
        return "contact"
    if related_type in ("company", "individual"):
        return related_type
    if related_type in (*THIRD_TYPES, THIRD, "thirdparty", "thirds") or words[1] in THIRD_TYPES:
        return _company_or_individual(payload, related if isinstance(related, dict) else None)
    return ENTITY_ALIASES.get(related_type, related_type)


def event_from_payload(payload: Mapping[str, Any]) -> WebhookEvent:
    account_id = _text(payload, "corpid", required=True)
    related_type = _text(payload, "relatedtype", required=True)
    event = _text(payload, "event", required=True)
    object_id = _text(payload, "relatedid", required=True)
    assert account_id and related_type and event and object_id  # for type checkers; _text raised otherwise
    if not (object_id.isascii() and object_id.isdigit()):
        raise InvalidDelivery("field 'relatedid' must be a numeric id")
    if not (account_id.isascii() and account_id.isdigit()):
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
    timestamp = _unix_time(timestamp_text) if timestamp_text else None
    related_type = related_type.lower()
    third_type = _text(payload, "thirdtype", required=False)
    return WebhookEvent(
        account_id=account_id,
        entity=entity_of(related_type, third_type, payload, related_object),
        related_type=related_type,
        event=event,
        object_id=object_id,
        event_type=(_text(payload, "eventType", required=False) or "").lower(),
        status=str(status) if isinstance(status, (str, int)) and status != "" else None,
        timestamp=timestamp,
        third_type=third_type.lower() if third_type else None,
        owner_type=_text(payload, "ownertype", required=False),
        owner_id=_text(payload, "ownerid", required=False),
        related_object=related_object,
    )


def _unix_time(text: str) -> int:
    try:
        value = float(text)
    except ValueError as exc:
        raise InvalidDelivery("field 'timestamp' must be unix seconds") from exc
    if not math.isfinite(value) or not 0 <= value < 2**40:
        raise InvalidDelivery("field 'timestamp' must be unix seconds")
    return int(value)
