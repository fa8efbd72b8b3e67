"""Every field the saved Logs Insights queries of template.yaml read is written by the code: the queries'
field names are checked against the log lines of a real run on the embedded default (account through the
API, an on-demand import played as the state machine, a quote accepted in Sellsy becoming an intervention
completed with its invoice, a delivery signed with a stale key), and each query's filter matches lines."""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from typing import Any

import httpx
import pytest

from infra.local import demo
from infra.template_tools import load_template

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

_KEYWORDS = {
    "fields", "filter", "stats", "sort", "limit", "by", "as", "and", "or", "not", "desc", "asc", "like", "in",
    "count", "min", "max", "avg", "sum", "latest", "earliest", "ispresent", "bin", "display", "parse",
}  # fmt: skip


def saved_queries() -> dict[str, str]:
    resources = load_template()["Resources"].values()
    return {
        r["Properties"]["Name"]["Fn::Sub"].split("/", 1)[1]: r["Properties"]["QueryString"]
        for r in resources
        if r["Type"] == "AWS::Logs::QueryDefinition"
    }


def field_names(query: str) -> set[str]:
    """Log fields a query reads: identifiers that are not keywords, functions, aliases, @-fields or literals."""
    text = "\n".join(line for line in query.splitlines() if not line.lstrip().startswith("#"))
    text = re.sub(r'"[^"]*"', " ", text)  # string literals (placeholders such as "ACCOUNT_ID")
    aliases = set(re.findall(r"\bas\s+([A-Za-z_]\w*)", text))
    names = set(re.findall(r"(?<![\w@.])([A-Za-z_]\w*)", text))
    return names - _KEYWORDS - aliases


def test_the_field_name_reader_finds_fields_and_skips_the_rest():
    query = 'fields @timestamp, a_b\n# x_y\n| filter c = "D_E" and ispresent(f)\n| stats min(g) as low by h, bin(1h)'
    assert field_names(query) == {"a_b", "c", "f", "g", "h"}


def _matches(query_name: str, line: dict[str, Any], sample: dict[str, Any]) -> bool:
    """Each saved query's filter, evaluated on one parsed line (placeholders filled from ``sample``)."""
    present = lambda *keys: all(line.get(k) is not None for k in keys)  # noqa: E731
    if query_name == "failures-per-account":
        return present("account_id") and (line.get("level") == "ERROR" or line.get("status") == "failed")
    if query_name == "one-object-history":
        return all(line.get(k) == sample.get(k) for k in ("account_id", "sellsy_type", "sellsy_id"))
    if query_name == "slowest-exchanges":
        return present("exchange_id", "duration_ms")
    if query_name == "quota-usage":
        return present("account_id", "quota_remaining_day")
    raise AssertionError(f"no filter known for the saved query {query_name!r}: add it here")


def _import(api: httpx.Client, account_id: str) -> str:
    """Start an import through the API; the embedded default plays the execution. Its final status."""
    started = api.post(f"/accounts/{account_id}/imports")
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + 300
    while (status := api.get(f"/accounts/{account_id}/imports").json()["items"][0]["status"]) == "running":
        assert time.monotonic() < deadline, "the on-demand import did not finish"
        time.sleep(0.5)
    return str(status)


def _run_the_main_job(stack: Any) -> str:
    account_id = demo.create_demo_account(stack, None, account_id=f"sq{uuid.uuid4().hex[:8]}")
    with httpx.Client(base_url=stack.api_url, headers={"Authorization": f"Bearer {stack.api_token}"}) as api:
        assert _import(api, account_id) == "done"
        demo.play_field_story(stack, account_id)
        stack.sandbox.set_faults(rate_5xx=1.0)  # Sellsy down: the next import fails
        try:
            assert _import(api, account_id) == "failed"
        finally:
            stack.sandbox.clear_faults()
        body = b"notif=%7B%7D"
        stale = hashlib.sha1(b"a-key-sellsy-no-longer-has" + body, usedforsecurity=False).hexdigest()
        refused = api.post(
            f"/webhooks/sellsy/{account_id}",
            content=body,
            headers={"content-type": "application/x-www-form-urlencoded", "x-webhook-signature": stale},
        )
        assert refused.status_code == 401
    return account_id


def test_every_saved_query_reads_fields_the_code_writes(stack, log_lines):
    account_id = _run_the_main_job(stack)
    lines = [line for line in log_lines.lines if line.get("account_id") == account_id or "account_id" not in line]
    assert len(lines) > 10, "the capture saw nothing of the run"
    written = {key for line in lines for key in line}
    objects = [line for line in lines if line.get("sellsy_type") and line.get("sellsy_id")]
    assert objects, "no line names a Sellsy object"
    sample = objects[-1]

    queries = saved_queries()
    assert queries
    for name, query in queries.items():
        missing = field_names(query) - written
        assert not missing, f"{name} reads {sorted(missing)}, which no line of the run carries"
        assert any(_matches(name, line, sample) for line in lines), f"{name}: its filter matches no line"
