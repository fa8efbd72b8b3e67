from bridge.domain.revenue import stable_hash
from bridge.flows.importer.phases import PRICE_REFRESH_DAYS, prices_due

ITEM = {"id": 15, "name": "Pump", "reference": "P-15", "reference_price_taxes_exc": "10.00"}


def test_new_item_reads_its_prices():
    assert prices_due(ITEM, None, run_day=1)


def test_changed_item_reads_its_prices():
    stored = {"summary_hash": stable_hash({**ITEM, "reference_price_taxes_exc": "9.00"})}
    assert prices_due(ITEM, stored, run_day=1)


def test_unchanged_item_reads_prices_once_a_week():
    stored = {"summary_hash": stable_hash(ITEM)}
    days = [day for day in range(14) if prices_due(ITEM, stored, run_day=day)]
    assert len(days) == 2 and days[1] - days[0] == PRICE_REFRESH_DAYS
