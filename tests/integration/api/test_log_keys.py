"""Log lines carry the keys of the function that wrote them, even with every function in one process (the
embedded default), and our own ids stay readable through the data masking."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from infra.local.gateway import build_event
from infra.local.lambda_context import LocalContext


def test_each_real_handler_writes_its_own_lambda_context(aws_clean, log_lines):
    from bridge.handlers.import_step import lambda_handler as import_handler
    from bridge.handlers.webhook import lambda_handler as webhook_handler

    import_context = LocalContext("sellsy-bridge-local-ImportFunction")
    import_handler({"action": "list_accounts"}, import_context)
    with pytest.raises(ValueError):
        import_handler({"action": "nope"}, import_context)  # leaves the import's keys behind, as before
    webhook_context = LocalContext("sellsy-bridge-local-WebhookFunction")
    event = build_event("POST", "/webhooks/sellsy/nobody", "", {"content-type": "application/json"}, b"{}")
    assert webhook_handler(event, webhook_context)["statusCode"] == 404

    [rejected] = log_lines.named("webhook rejected")
    assert rejected["function_name"] == "sellsy-bridge-local-WebhookFunction"
    assert rejected["function_request_id"] == webhook_context.aws_request_id
    assert rejected["correlation_id"] == event["requestContext"]["requestId"]
    assert "cold_start" in rejected
    assert rejected["account_id"] == "nobody"  # the account it was addressed to
    assert "run_id" not in rejected and "execution_arn" not in rejected  # nothing of the import's keys


def test_functions_running_at_once_in_one_process_keep_their_own_keys(log_lines):
    """The local gateway, the pump and the execution runner call handlers from threads of one process."""
    from bridge.observability import ContextThreadPool, invocation_log_keys, logger

    both_inside = threading.Barrier(2, timeout=10)

    @invocation_log_keys
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> None:
        logger.append_keys(account_id=event["account"])
        both_inside.wait()  # the other function has appended its keys too
        logger.info("first line")
        with ContextThreadPool(max_workers=1) as pool:  # work handed to a thread logs with our keys
            pool.submit(logger.info, "from a worker thread").result()
        both_inside.wait()
        logger.info("last line")

    threads = [
        threading.Thread(target=handler, args=({"account": name}, LocalContext(f"fn-{name}"))) for name in ("a", "b")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    written = [
        line for line in log_lines.lines if line["message"] in ("first line", "from a worker thread", "last line")
    ]
    assert len(written) == 6
    for line in written:
        assert line["function_name"] == f"fn-{line['account_id']}", line
    logger.info("between invocations")
    [after] = log_lines.named("between invocations")
    assert "function_name" not in after and "account_id" not in after


def test_our_own_ids_are_never_masked_but_secrets_under_other_keys_are(log_lines):
    from bridge.domain.masking import mask
    from bridge.flows.inbound.receive import delivery_id_for
    from bridge.observability import logger

    delivery_id = delivery_id_for("acme", b'{"id": 1}')  # 32 hex characters: shaped like a credential
    logger.info(
        "ids",
        extra={
            "delivery_id": delivery_id,
            "exchange_id": "20261202T010203123456Z-1a2b3c4d",
            "run_id": "someone@example.com",  # not an id: masked all the same
            "api_key": delivery_id,
        },
    )
    [line] = log_lines.named("ids")
    assert line["delivery_id"] == delivery_id
    assert line["exchange_id"] == "20261202T010203123456Z-1a2b3c4d"
    assert line["run_id"] != "someone@example.com" and line["api_key"] != delivery_id
    assert mask({"request": {"delivery_id": delivery_id}}) == {"request": {"delivery_id": delivery_id}}
