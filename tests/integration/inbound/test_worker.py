"""The worker against moto + the Sellsy sandbox: idempotency, forged ids, reconnection, poison messages."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

import bridge.handlers.api
import bridge.handlers.webhook  # noqa: F401  (loaded before the gateway/pump threads import them concurrently)
from bridge.adapters import accounts_repo, exchanges_repo, field_repo
from bridge.domain.accounts import AccountSettings
from bridge.flows import accounts as account_flows
from bridge.flows import exchange_log
from bridge.handlers import worker
from bridge.sellsy import factory
from bridge.sellsy.auth import CLIENT_CREDENTIALS, Credentials
from infra.local.lambda_context import LocalContext
from infra.local.pump import sqs_event


def _account(stack: Any, **settings: Any) -> str:
    account_id = f"wk-{uuid.uuid4().hex[:10]}"
    account_flows.create_account(
        name="Worker", account_id=account_id, settings=AccountSettings.model_validate(settings)
    )
    account_flows.connect_client_credentials(
        account_id, client_id=stack.sandbox.client_id, client_secret=stack.sandbox.client_secret
    )
    return account_id


def _message(account_id: str, entity: str, object_id: int | str, *, delivery_id: str | None = None) -> dict[str, Any]:
    delivery_id = delivery_id or uuid.uuid4().hex
    return {
        "MessageId": uuid.uuid4().hex,
        "ReceiptHandle": "local",
        "Body": json.dumps(
            {
                "kind": "sellsy.webhook",
                "account_id": account_id,
                "delivery_id": delivery_id,
                "correlation_id": f"corr-{delivery_id}",
                "payload": {"entity": entity, "event": "step", "object_id": str(object_id)},
            }
        ),
        "MessageAttributes": {"correlation_id": {"DataType": "String", "StringValue": f"corr-{delivery_id}"}},
    }


def _run(*messages: dict[str, Any]) -> dict[str, Any]:
    event = sqs_event("arn:aws:sqs:eu-west-3:000000000000:events", list(messages))
    return worker.lambda_handler(event, LocalContext("WorkerFunction"))


def _exchanges(account_id: str, **filters: Any) -> list[Any]:
    return exchange_log.list_exchanges(account_id, limit=200, **filters)[0]


@pytest.fixture()
def sellsy(stack: Any) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {stack.sandbox.access_token()}"}
    with httpx.Client(base_url=stack.sandbox.api_url, headers=headers, timeout=30) as client:
        yield client


def test_a_duplicate_delivery_does_no_work_twice(stack: Any) -> None:
    account_id = _account(stack)
    message = _message(account_id, "estimate", 4, delivery_id="same-delivery")
    first = _run(message)
    calls_before = stack.sandbox.calls()["total"]
    second = _run(dict(message, MessageId="another-sqs-id"))
    assert first == second == {"batchItemFailures": []}
    assert stack.sandbox.calls()["total"] == calls_before, "the duplicate re-read Sellsy"
    assert field_repo.get_intervention(account_id, "est-4") is not None
    assert [e.kind for e in _exchanges(account_id, direction="inbound")] == ["intervention_created"]


def test_forged_or_unknown_ids_are_skipped_with_a_reason_not_retried(stack: Any) -> None:
    account_id = _account(stack)
    answer = _run(_message(account_id, "estimate", 987654), _message(account_id, "company", 987654))
    assert answer == {"batchItemFailures": []}
    skipped = _exchanges(account_id, status="skipped")
    assert sorted(e.kind for e in skipped) == ["object_not_found", "object_not_found"]
    assert all("987654" in (e.reason or "") for e in skipped)


def test_events_not_used_and_statuses_that_create_nothing_are_logged_skips(stack: Any) -> None:
    account_id = _account(stack)
    # Other tests share the sandbox and may accept seeded quotes: take one that is 'sent' now.
    sent = next(e["id"] for e in stack.sandbox.state("estimates") if e["status"] == "sent")
    answer = _run(_message(account_id, "invoice", 1), _message(account_id, "estimate", sent))
    assert answer == {"batchItemFailures": []}
    kinds = sorted(e.kind for e in _exchanges(account_id, status="skipped"))
    assert kinds == ["event_ignored", "no_intervention"]
    assert field_repo.get_intervention(account_id, f"est-{sent}") is None


def test_refused_credentials_mark_the_account_and_stop_without_retry(stack: Any) -> None:
    account_id = _account(stack)
    factory.token_store().save_credentials(
        account_id, Credentials(grant_type=CLIENT_CREDENTIALS, client_id=stack.sandbox.client_id, client_secret="wrong")
    )
    factory.forget_account(account_id)
    answer = _run(_message(account_id, "estimate", 4))
    assert answer == {"batchItemFailures": []}  # no retry storm
    account = accounts_repo.require_account(account_id, consistent=True)
    assert account.status == "needs_reconnect"
    failed = _exchanges(account_id, status="failed")
    assert [e.kind for e in failed] == ["needs_reconnect"]
    stored = exchanges_repo.get(account_id, failed[0].id)
    assert stored is not None and stored.get("replay_key"), "no replay message kept"
    assert "wrong" not in json.dumps([e.model_dump(mode="json") for e in failed])

    # Later deliveries are not lost while the account waits for reconnection: each stays replayable.
    assert _run(_message(account_id, "estimate", 7)) == {"batchItemFailures": []}
    waiting = _exchanges(account_id, status="failed", kind="account_needs_reconnect")
    assert len(waiting) == 1 and waiting[0].sellsy_id == "7"


def test_a_poison_message_fails_and_ends_in_the_dlq(stack: Any, aws: Any) -> None:
    bad = {"MessageId": "poison-1", "ReceiptHandle": "local", "Body": "{not json", "MessageAttributes": {}}
    no_kind = dict(bad, MessageId="poison-2", Body=json.dumps({"account_id": "x"}))
    listed_payload = dict(
        bad, MessageId="poison-3", Body=json.dumps({"kind": "sellsy.webhook", "account_id": "x", "payload": []})
    )
    answer = _run(bad, no_kind, listed_payload)
    assert sorted(f["itemIdentifier"] for f in answer["batchItemFailures"]) == ["poison-1", "poison-2", "poison-3"]

    marker = f"poison-{uuid.uuid4().hex}"
    sqs = aws.client("sqs")
    sqs.send_message(QueueUrl=stack.env["EVENTS_QUEUE_URL"], MessageBody=marker)
    dlq = aws.stack.physical["EventsDLQ"]
    deadline = time.monotonic() + 60
    found = False
    while time.monotonic() < deadline and not found:
        received = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=0)
        found = any(m["Body"] == marker for m in received.get("Messages", []))
    assert found, "the poison message never reached the DLQ"


def test_echo_of_our_own_write_is_skipped_and_a_user_edit_is_not(stack: Any, sellsy: httpx.Client) -> None:
    account_id = _account(stack, sync_direction="both")
    assert _run(_message(account_id, "company", 8)) == {"batchItemFailures": []}
    customer = field_repo.get_customer(account_id, "company-8")
    assert customer is not None

    # What the outbound push does: field side first, then Sellsy, then remember what it wrote.
    def field_edit(current: Any) -> Any:
        current.phone = "+33 4 00 00 00 08"
        return current

    field_repo.update_customer(account_id, "company-8", field_edit)
    sellsy.put("/companies/8", json={"phone_number": "+33 4 00 00 00 08"}).raise_for_status()
    field_repo.remember_written(account_id, "company", 8, {"phone_number": "+33 4 00 00 00 08"})
    version = field_repo.get_customer(account_id, "company-8").version  # type: ignore[union-attr]

    assert _run(_message(account_id, "company", 8)) == {"batchItemFailures": []}
    latest = _exchanges(account_id, sellsy_type="company")[0]
    assert (latest.kind, latest.status) == ("echo_suppressed", "skipped")
    assert "our own write" in (latest.reason or "")
    assert field_repo.get_customer(account_id, "company-8").version == version  # type: ignore[union-attr]

    stack.sandbox.act_edit("company", 8, name="Renamed by a user")
    assert _run(_message(account_id, "company", 8)) == {"batchItemFailures": []}
    updated = field_repo.get_customer(account_id, "company-8")
    assert updated is not None and updated.name == "Renamed by a user"
    assert _exchanges(account_id, sellsy_type="company")[0].kind == "customer_updated"


def test_customer_sync_respects_the_direction(stack: Any) -> None:
    account_id = _account(stack, sync_direction="field_to_sellsy")
    assert _run(_message(account_id, "company", 8)) == {"batchItemFailures": []}
    assert field_repo.get_customer(account_id, "company-8") is None
    assert _exchanges(account_id, status="skipped")[0].kind == "customer_not_synced"


def test_the_correlation_id_reaches_every_worker_log_line_and_exchange(stack: Any) -> None:
    from bridge.observability import logger

    account_id = _account(stack)
    handler = logger._logger.handlers[0]
    captured = io.StringIO()
    original = handler.setStream(captured)  # type: ignore[attr-defined]
    try:
        assert _run(_message(account_id, "estimate", 3, delivery_id="corr-check")) == {"batchItemFailures": []}
    finally:
        handler.setStream(original)  # type: ignore[attr-defined]
    lines = [json.loads(line) for line in captured.getvalue().splitlines() if line.startswith('{"level"')]
    ours = [line for line in lines if line.get("account_id") == account_id]
    assert ours, "the worker logged nothing for this message"
    assert all(line.get("correlation_id") == "corr-corr-check" for line in ours)
    assert [e.correlation_id for e in _exchanges(account_id, direction="inbound")] == ["corr-corr-check"]


def test_individuals_and_contacts_reach_the_field_side(stack: Any, sellsy: httpx.Client) -> None:
    account_id = _account(stack, sync_direction="sellsy_to_field")
    assert _run(_message(account_id, "individual", 3), _message(account_id, "company", 9)) == {"batchItemFailures": []}
    person = sellsy.get("/individuals/3").json()
    individual = field_repo.get_customer(account_id, "individual-3")
    assert individual is not None and individual.main_contact is not None
    assert individual.name == f"{person['first_name']} {person['last_name']}"
    assert individual.main_contact.email == person["email"]

    company = sellsy.get("/companies/9").json()
    contact_id = company["main_contact_id"]
    stack.sandbox.act_edit("contact", contact_id, phone_number="+33 9 99 99 99 09")
    assert _run(_message(account_id, "contact", contact_id)) == {"batchItemFailures": []}
    refreshed = field_repo.get_customer(account_id, "company-9")
    assert refreshed is not None and refreshed.main_contact is not None
    assert refreshed.main_contact.phone == "+33 9 99 99 99 09"

    assert _run(_message(account_id, "contact", 999999)) == {"batchItemFailures": []}
    assert _exchanges(account_id, sellsy_type="contact")[0].kind == "contact_not_used"


def test_a_quote_and_its_opportunity_make_one_intervention(stack: Any, sellsy: httpx.Client) -> None:
    account_id = _account(stack)
    opportunity = sellsy.post(
        "/opportunities",
        json={"name": "Job", "amount": "500.00", "related": [{"type": "company", "id": 2}], "pipeline": 1, "step": 1},
    ).json()
    row = {"type": "single", "unit_amount": "500.00", "quantity": "1", "tax_id": 1, "description": "Job"}
    quote = {"related": [{"type": "company", "id": 2}, {"type": "opportunity", "id": opportunity["id"]}], "rows": [row]}
    chosen = sellsy.post("/estimates", json={**quote, "subject": "Variant A"}).json()
    other = sellsy.post("/estimates", json={**quote, "subject": "Variant B"}).json()
    for estimate_id, status in ((chosen["id"], "accepted"), (other["id"], "refused")):
        sellsy.put(f"/estimates/{estimate_id}/status", json={"status": status}).raise_for_status()
    sellsy.put(f"/opportunities/{opportunity['id']}", json={"status": "won"}).raise_for_status()

    first = _run(_message(account_id, "opportunity", opportunity["id"]))
    then = _run(_message(account_id, "estimate", chosen["id"]), _message(account_id, "estimate", other["id"]))
    assert first == then == {"batchItemFailures": []}
    job = field_repo.get_intervention(account_id, f"opp-{opportunity['id']}")
    assert job is not None and job.estimate_id == chosen["id"] and job.flags == []
    assert field_repo.get_intervention(account_id, f"est-{chosen['id']}") is None
    assert field_repo.list_interventions(account_id)[0] == [job]

    sellsy.put(f"/estimates/{chosen['id']}/status", json={"status": "cancelled"}).raise_for_status()
    assert _run(_message(account_id, "estimate", chosen["id"])) == {"batchItemFailures": []}
    flagged = field_repo.get_intervention(account_id, f"opp-{opportunity['id']}")
    assert flagged is not None and [f.code for f in flagged.flags] == ["estimate_cancelled"]


def test_a_quote_deleted_after_its_intervention_flags_it(stack: Any, sellsy: httpx.Client) -> None:
    account_id = _account(stack)
    row = {"type": "single", "unit_amount": "80.00", "quantity": "1", "tax_id": 1, "description": "x"}
    estimate = sellsy.post("/estimates", json={"related": [{"type": "company", "id": 2}], "rows": [row]}).json()
    sellsy.put(f"/estimates/{estimate['id']}/status", json={"status": "accepted"}).raise_for_status()
    assert _run(_message(account_id, "estimate", estimate["id"])) == {"batchItemFailures": []}
    stack.sandbox.act_delete_document("estimate", estimate["id"])
    assert _run(_message(account_id, "estimate", estimate["id"])) == {"batchItemFailures": []}
    kept = field_repo.get_intervention(account_id, f"est-{estimate['id']}")
    assert kept is not None and [f.code for f in kept.flags] == ["estimate_deleted"]


def _received(message: dict[str, Any], received_at: datetime, *, receive_count: int = 1) -> dict[str, Any]:
    """``message`` as the receiver enqueues it (stamped), as SQS hands it over the ``receive_count``-th time."""
    body = {**json.loads(message["Body"]), "received_at": received_at.isoformat()}
    return {**message, "Body": json.dumps(body), "Attributes": {"ApproximateReceiveCount": str(receive_count)}}


def test_each_delivery_is_logged_as_received_once_dated_when_the_receiver_took_it(stack: Any) -> None:
    account_id = _account(stack)
    received_at = datetime.now(UTC) - timedelta(seconds=3)
    first = _received(_message(account_id, "estimate", 987654, delivery_id="logged"), received_at)
    # Sellsy sends the same body again: a second delivery (recorded), but no second run (idempotency).
    again = _received(dict(first, MessageId="another-sqs-id"), received_at + timedelta(seconds=1))
    assert _run(first) == _run(again) == {"batchItemFailures": []}
    # SQS hands the first message over again (say, after a timeout): not a new delivery.
    assert _run(_received(first, received_at, receive_count=2)) == {"batchItemFailures": []}

    inbound = _exchanges(account_id, direction="inbound")
    # Newest first: each receipt sits before what the worker then did, whenever the worker wrote it.
    assert [e.kind for e in inbound] == ["object_not_found", "webhook_received", "webhook_received"]
    oldest = inbound[-1]
    assert oldest.created_at == received_at and oldest.id.startswith(received_at.strftime("%Y%m%dT%H%M%S"))
    assert (oldest.sellsy_type, oldest.sellsy_id, oldest.correlation_id) == ("estimate", "987654", "corr-logged")
    assert oldest.request == {"entity": "estimate", "event": "step", "object_id": "987654"}


def test_a_third_party_of_unsaid_kind_is_read_as_both_and_suppliers_are_not_created(
    stack: Any, sellsy: httpx.Client
) -> None:
    account_id = _account(stack, sync_direction="sellsy_to_field")
    company = sellsy.post("/companies", json={"type": "client", "name": "Unsaid Kind SARL"}).json()
    supplier = sellsy.post("/companies", json={"type": "supplier", "name": "Fournisseur SA"}).json()
    assert _run(_message(account_id, "third", company["id"]), _message(account_id, "company", supplier["id"])) == {
        "batchItemFailures": []
    }
    found = field_repo.get_customer(account_id, f"company-{company['id']}")
    assert found is not None and found.name == "Unsaid Kind SARL"
    assert field_repo.get_customer(account_id, f"company-{supplier['id']}") is None
    kinds = {e.kind for e in _exchanges(account_id)}
    assert {"customer_created", "supplier_not_synced"} <= kinds

    assert _run(_message(account_id, "third", 987654)) == {"batchItemFailures": []}  # neither kind exists
    assert "object_not_found" in {e.kind for e in _exchanges(account_id, sellsy_type="third")}
