"""Field → Sellsy customers (F2): the intervention address and main contact travel back.

- ``accept_customer_change`` (API): checks the account's direction, stores the change on the field
  customer (origin ``field``), enqueues ``customer.push``.
- ``run_customer_push`` (worker): writes the address and the contact's phone/email to Sellsy, then
  remembers what was written (echo memory) so the webhooks our own writes cause are skipped, and logs
  each write in the exchange log. Updates (PUT) are safe to repeat; a new address (POST) is first
  looked for among the customer's addresses, so a retried push never adds it twice.
- A replayed push (``replay_of`` set) sends what the field customer holds *now* for the parts the original
  change touched, never the values the failed message carried: a newer change, or a newer Sellsy value
  synced meanwhile, is not overwritten by an old one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bridge.adapters import accounts_repo, field_repo, queue
from bridge.domain.interventions import FieldCustomer, address, person
from bridge.flows.exchange_log import record_exchange
from bridge.flows.outbound.completion import UnknownAccount
from bridge.flows.outbound.models import AddressChange, ContactChange, CustomerChange
from bridge.flows.outbound.sellsy_ops import CUSTOMER_ROUTES, SellsyPort
from bridge.sellsy.errors import NeedsReconnect

KIND = "customer.push"
PUSH_DIRECTIONS = ("field_to_sellsy", "both")
NEW_ADDRESS_NAME = "Intervention"


class UnknownCustomer(LookupError):
    pass


class DirectionNotAllowed(RuntimeError):
    pass


@dataclass(frozen=True)
class PushAccepted:
    customer_id: str
    correlation_id: str


def accept_customer_change(
    account_id: str, customer_id: str, change: CustomerChange, *, correlation_id: str
) -> PushAccepted:
    account = accounts_repo.get_account(account_id)
    if account is None:
        raise UnknownAccount(f"account {account_id!r} does not exist")
    if account.settings.sync_direction not in PUSH_DIRECTIONS:
        raise DirectionNotAllowed(
            f"account {account_id!r} syncs customers {account.settings.sync_direction}: "
            "changes from the field are not sent to Sellsy (set sync_direction to field_to_sellsy or both)"
        )
    if field_repo.get_customer(account_id, customer_id) is None:
        raise UnknownCustomer(f"customer {customer_id!r} does not exist in account {account_id!r}")

    def apply(current: FieldCustomer | None) -> FieldCustomer | None:
        if current is None:
            return None
        data = current.model_dump()
        if change.address is not None:
            kept_id = (data.get("address") or {}).get("id")
            data["address"] = {**change.address.model_dump(), "id": kept_id, "origin": "field"}
        if change.main_contact is not None:
            contact = dict(data.get("main_contact") or {})
            contact.update(change.main_contact.model_dump(exclude_unset=True))
            data["main_contact"] = contact
        return FieldCustomer.model_validate(data)

    field_repo.update_customer(account_id, customer_id, apply)
    queue.enqueue(
        {
            "kind": KIND,
            "account_id": account_id,
            "correlation_id": correlation_id,
            "payload": {"customer_id": customer_id, "change": change.model_dump(mode="json", exclude_unset=True)},
        }
    )
    return PushAccepted(customer_id=customer_id, correlation_id=correlation_id)


# --- worker --------------------------------------------------------------------------------------


def current_change(customer: FieldCustomer, change: CustomerChange) -> CustomerChange | None:
    """The change to send on a replay: the field customer's current values for the parts ``change`` touched."""
    current: dict[str, Any] = {}
    held = customer.address
    if change.address is not None and held is not None:
        current["address"] = {
            "lines": held.lines,
            "postal_code": held.postal_code,
            "city": held.city,
            "country_code": held.country_code,
        }
    if change.main_contact is not None:
        contact = customer.main_contact
        now = {
            "phone": (contact.phone if contact else None) or customer.phone,
            "mobile": contact.mobile if contact else None,
            "email": (contact.email if contact else None) or customer.email,
        }
        values = {k: now[k] for k in change.main_contact.model_fields_set if now.get(k)}
        if values:
            current["main_contact"] = values
    try:
        return CustomerChange.model_validate(current)
    except ValidationError:
        return None  # nothing left to send (or the field holds no complete address any more)


def _address_body(address: AddressChange) -> dict[str, Any]:
    body: dict[str, Any] = {f"address_line_{i + 1}": line for i, line in enumerate(address.lines)}
    for i in range(len(address.lines), 4):
        body[f"address_line_{i + 1}"] = None
    body.update(postal_code=address.postal_code, city=address.city, country_code=address.country_code)
    return body


def _same_address(existing: dict[str, Any], body: dict[str, Any]) -> bool:
    def norm(value: Any) -> str:
        return str(value or "").strip().casefold()

    return all(norm(existing.get(k)) == norm(v) for k, v in body.items())


def _set_field_view(account_id: str, customer_id: str, **views: Any) -> None:
    """Store on the field customer exactly what Sellsy will show after our write.

    Done *before* the write: the webhook our write causes may be processed at once, and the inbound
    sync then finds nothing changed and recognises its own echo (instead of "updating" the customer).
    """

    def apply(current: FieldCustomer | None) -> FieldCustomer | None:
        if current is None:
            return None
        return current.model_copy(update=views)

    field_repo.update_customer(account_id, customer_id, apply)


def _push_address(
    sellsy: SellsyPort, account_id: str, customer: FieldCustomer, change: AddressChange
) -> tuple[str, int, dict[str, Any]]:
    base = CUSTOMER_ROUTES[customer.sellsy_type].format(id=customer.sellsy_id) + "/addresses"
    body = _address_body(change)
    written = {k: v for k, v in body.items() if v is not None}
    address_id = customer.address.id if customer.address else None
    if address_id:
        current = sellsy.get(f"{base}/{address_id}") or {}
        _set_field_view(account_id, customer.id, address=address({**current, **body}, "customer"))
        field_repo.remember_written(account_id, "address", address_id, written)
        sellsy.put(f"{base}/{address_id}", json=body)
        return "address", int(address_id), written
    found = next((a for a in sellsy.iterate(base, search=False) if _same_address(a, body)), None)
    if found is None:
        found = sellsy.post(base, json={"name": NEW_ADDRESS_NAME, **body, "is_delivery_address": True})
    address_id = int(found["id"])
    field_repo.remember_written(account_id, "address", address_id, written)
    _set_field_view(account_id, customer.id, address=address(found, "customer"))
    return "address", address_id, written


def _push_contact(
    sellsy: SellsyPort, account_id: str, customer: FieldCustomer, change: ContactChange
) -> tuple[str, int, dict[str, Any]]:
    values = change.model_dump(exclude_unset=True)
    body = {
        {"phone": "phone_number", "mobile": "mobile_number", "email": "email"}[name]: value
        for name, value in values.items()
    }
    contact_id = customer.main_contact.id if customer.main_contact else None
    if contact_id:
        sellsy_type, sellsy_id, path = "contact", int(contact_id), f"/contacts/{contact_id}"
    else:
        # An individual (or a company without contact) carries its phone and email itself.
        sellsy_type, sellsy_id = customer.sellsy_type, customer.sellsy_id
        path = CUSTOMER_ROUTES[customer.sellsy_type].format(id=customer.sellsy_id)
    merged = {**(sellsy.get(path) or {}), **body}
    views: dict[str, Any] = {"main_contact": person(merged)}
    if sellsy_type != "contact":
        views.update(
            email=merged.get("email") or None, phone=merged.get("phone_number") or merged.get("mobile_number") or None
        )
    _set_field_view(account_id, customer.id, **views)
    field_repo.remember_written(account_id, sellsy_type, sellsy_id, body)
    sellsy.put(path, json=body)
    return sellsy_type, sellsy_id, body


def run_customer_push(message: dict[str, Any], *, sellsy: SellsyPort | None = None) -> list[tuple[str, int]]:
    """Returns the Sellsy objects written, as (type, id)."""
    account_id = str(message["account_id"])
    payload = queue.payload_of(message, queue.CustomerPushPayload)
    customer_id = payload.customer_id
    correlation_id = message.get("correlation_id")
    account = accounts_repo.get_account(account_id)
    customer = field_repo.get_customer(account_id, customer_id) if customer_id else None
    if account is None or customer is None or account.settings.sync_direction not in PUSH_DIRECTIONS:
        reason = (
            "unknown account"
            if account is None
            else "unknown customer"
            if customer is None
            else f"direction is {account.settings.sync_direction}"
        )
        record_exchange(
            account_id=account_id,
            direction="outbound",
            kind="customer_push_skipped",
            status="skipped",
            field_id=customer_id or None,
            reason=reason,
            correlation_id=correlation_id,
        )
        return []
    change = CustomerChange.model_validate(payload.change)
    if message.get("replay_of"):
        replayed = current_change(customer, change)
        if replayed is None:
            record_exchange(
                account_id=account_id,
                direction="outbound",
                kind="customer_push_skipped",
                status="skipped",
                field_id=customer_id,
                reason="replay: the field customer holds nothing current to send",
                correlation_id=correlation_id,
            )
            return []
        change = replayed
    if sellsy is None:
        from bridge.sellsy.factory import client_for_account

        sellsy = client_for_account(account_id)
    written: list[tuple[str, int]] = []
    client: SellsyPort = sellsy
    address_change, contact_change = change.address, change.main_contact
    steps: list[tuple[str, Callable[[], tuple[str, int, dict[str, Any]]]]] = []
    if address_change is not None:
        steps.append(("address", lambda: _push_address(client, account_id, customer, address_change)))
    if contact_change is not None:
        steps.append(("contact", lambda: _push_contact(client, account_id, customer, contact_change)))
    for what, step in steps:
        try:
            sellsy_type, sellsy_id, values = step()
        except NeedsReconnect as exc:
            accounts_repo.mark_needs_reconnect(account_id, str(exc))
            _failed(account_id, customer_id, what, exc, message, correlation_id)
            return written
        except Exception as exc:
            _failed(account_id, customer_id, what, exc, message, correlation_id)
            raise
        written.append((sellsy_type, sellsy_id))
        record_exchange(
            account_id=account_id,
            direction="outbound",
            kind="customer_pushed",
            status="ok",
            sellsy_type=sellsy_type,
            sellsy_id=sellsy_id,
            field_id=customer_id,
            request={"fields": sorted(values)},
            correlation_id=correlation_id,
        )
    return written


def _failed(
    account_id: str, customer_id: str, what: str, exc: Exception, message: dict[str, Any], correlation_id: str | None
) -> None:
    record_exchange(
        account_id=account_id,
        direction="outbound",
        kind="customer_push_failed",
        status="failed",
        field_id=customer_id,
        reason=f"{what}: {type(exc).__name__}: {exc}",
        correlation_id=correlation_id,
        replay=queue.replayable(message),
    )
