"""The ECB file refresh on moto's S3 with the file served from loopback (never the real ECB)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import pytest

from bridge.adapters import fx_rates
from bridge.domain import revenue
from bridge.domain.currency import business_days_between, parse_day
from bridge.flows.importer.run import ImportDeps, run_chunk
from tests.fixtures.ecb import ecb_history_zip, publication_days
from tests.integration.importer.fake_sellsy import FakeSellsy
from tests.integration.importer.test_import_flow import stream_records

D = dt.date
PATH = "/stats/eurofxref/eurofxref-hist.zip"
# Generated rates that end on Friday 2026-03-13, with a USD rate that is easy to recognise.
GENERATED = {
    day: {"USD": Decimal("2.0000"), "GBP": Decimal("0.5000")} for day in publication_days(D(2026, 2, 2), D(2026, 3, 13))
}


@pytest.fixture
def bucket(aws_clean: Any) -> str:
    fx_rates._loaded.clear()
    return str(aws_clean.env["REPORTS_BUCKET"])


def stored_object(aws: Any, bucket: str) -> dict[str, Any]:
    return aws.client("s3").head_object(Bucket=bucket, Key=fx_rates.RATES_KEY)


def test_refresh_stores_the_file_once_a_day_and_the_run_reads_it_back(aws_clean, bucket, ecb_server):
    ecb_server.files[PATH] = ecb_history_zip(GENERATED)
    url = ecb_server.file_url(PATH)
    info = fx_rates.refresh_rates(bucket, url, D(2026, 3, 14))
    assert info["origin"] == "refreshed" and info["last_day"] == "2026-03-13" and info["error"] is None
    head = stored_object(aws_clean, bucket)
    assert head["Metadata"] == {"fetched-on": "2026-03-14", "last-day": "2026-03-13"}

    again = fx_rates.refresh_rates(bucket, url, D(2026, 3, 14))
    assert again["origin"] == "stored" and again["version_id"] == info["version_id"]
    assert ecb_server.requests == [PATH]  # one download per day, whatever the number of runs

    fx_rates._loaded.clear()  # a cold process reads the recorded version from S3
    table = fx_rates.load_rates(info, bucket)
    assert table.rate_on("USD", D(2026, 3, 13)) == Decimal("2.0000")
    assert table.last_day("EUR") == D(2026, 3, 13)


@pytest.mark.parametrize("failure", ["http_error", "not_a_zip", "not_ecb", "unreachable"])
def test_a_failed_refresh_keeps_the_stored_file(aws_clean, bucket, ecb_server, failure):
    ecb_server.files[PATH] = ecb_history_zip(GENERATED)
    first = fx_rates.refresh_rates(bucket, ecb_server.file_url(PATH), D(2026, 3, 14))
    url = ecb_server.file_url(PATH)
    if failure == "http_error":
        ecb_server.status = 503
    elif failure == "not_a_zip":
        ecb_server.files[PATH] = b"<html>maintenance</html>"
    elif failure == "not_ecb":
        ecb_server.files[PATH] = ecb_history_zip({D(2026, 3, 16): {"XXX": Decimal(1)}})
    else:
        url = "http://127.0.0.1:9/eurofxref-hist.zip"  # nothing listens on the discard port
    info = fx_rates.refresh_rates(bucket, url, D(2026, 3, 16))
    assert info["origin"] == "stored" and info["version_id"] == first["version_id"]
    assert info["error"] and info["error"].startswith("refresh failed")
    assert stored_object(aws_clean, bucket)["Metadata"]["fetched-on"] == "2026-03-14"  # nothing overwritten


def test_no_stored_file_and_no_network_falls_back_to_the_shipped_file(aws_clean, bucket):
    info = fx_rates.refresh_rates(bucket, "http://127.0.0.1:9/eurofxref-hist.zip", D(2026, 3, 16))
    assert info["origin"] == "shipped" and "refresh failed" in info["error"]
    assert fx_rates.refresh_rates(bucket, "", D(2026, 3, 16))["error"].endswith("refresh turned off")
    shipped = fx_rates.load_rates(info, bucket)
    assert shipped.last_day("EUR") is not None and str(shipped.last_day("EUR")) == info["last_day"]


def test_an_import_converts_with_the_refreshed_file_and_flags_lines_after_it(
    aws_clean, bucket, ecb_server, monkeypatch
):
    ecb_server.files[PATH] = ecb_history_zip(GENERATED)
    monkeypatch.setenv(fx_rates.URL_ENV, ecb_server.file_url(PATH))
    account_id = f"fx{uuid.uuid4().hex[:8]}"
    sellsy = FakeSellsy(invoices=60, credit_notes=2)
    deps = ImportDeps(client=sellsy, base_currency="EUR", export_bucket=bucket)
    answer: dict[str, Any] = {}
    for _ in range(100):
        answer = run_chunk(account_id, deps, run_id=answer.get("run_id"))
        if answer["done"]:
            break
    assert answer["status"] == "done"
    lines = [item["data"] for item in stream_records(account_id, revenue.INVOICE_LINES).values()]
    usd = [line for line in lines if line["currency"] == "USD"]
    assert usd and all(line["fx_rate"] == Decimal("0.5") for line in usd)  # 1 / 2.0000: the generated file
    assert all(line["fx_source"].startswith("ECB reference rate (eurofxref-hist fetched") for line in usd)
    docs = {item["data"]["original_id"]: item["data"] for item in stream_records(account_id, revenue.INVOICES).values()}
    checked = {"fresh": 0, "stale": 0}
    for line in usd:
        day = parse_day(docs[line["original_invoice_id"]]["date"])
        assert day is not None
        gap = business_days_between(D(2026, 3, 13), day)
        if gap > 4:
            assert line["fx_stale"] == gap and line["fx_rate_date"] == "2026-03-13"
            checked["stale"] += 1
        else:
            assert line["fx_stale"] is None
            checked["fresh"] += 1
    assert checked["stale"] and checked["fresh"], checked
    xof = [line for line in lines if line["currency"] == "XOF"]
    assert xof and all(line["fx_missing"] and line["amount_excl_tax_base"] is None for line in xof)
    assert ecb_server.requests == [PATH]


def test_the_embedded_default_never_downloads_rates(aws):
    assert aws.env["ECB_RATES_URL"] == ""  # the template's URL is overridden locally: no network
