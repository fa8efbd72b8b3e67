from decimal import Decimal

from bridge.domain.revenue import stable_hash
from bridge.flows.importer.merge import merge_record

KW = {
    "pk": "A#a#R#products#0",
    "key": "1",
    "stream": "products",
    "account_id": "a",
    "now": "2026-11-21T00:00:00",
}


def first(data, run="r1"):
    return merge_record(data=data, stored=None, run_id=run, **KW)


def test_new_record_is_created():
    m = first({"name": "Pump", "price": Decimal("10")})
    assert m.outcome == "created" and m.item["created_run"] == "r1" and m.item["last_seen_run"] == "r1"


def test_same_content_next_run_is_unchanged_and_only_marked_seen():
    stored = first({"name": "Pump", "price": Decimal("10")}).item
    m = merge_record(data={"name": "Pump", "price": Decimal("10.00")}, stored=stored, run_id="r2", **KW)
    assert m.outcome == "unchanged" and m.item["last_seen_run"] == "r2" and m.item["changed_run"] == "r1"


def test_change_is_an_update():
    stored = first({"name": "Pump"}).item
    m = merge_record(data={"name": "Pump XL"}, stored=stored, run_id="r2", **KW)
    assert m.outcome == "updated" and m.item["data"]["name"] == "Pump XL" and m.item["created_run"] == "r1"


def test_locked_field_survives_and_is_counted():
    stored = first({"name": "Pump", "ref": "P1"}).item
    stored["locked_fields"] = ["name"]
    stored["data"]["name"] = "Pump (edited)"
    stored["hash"] = stable_hash(stored["data"])  # as the API's PATCH stores it
    m = merge_record(data={"name": "Pump v2", "ref": "P1"}, stored=stored, run_id="r2", **KW)
    assert m.outcome == "locked_skipped" and m.item["data"]["name"] == "Pump (edited)"
    m2 = merge_record(data={"name": "Pump v2", "ref": "P2"}, stored=stored, run_id="r2", **KW)
    assert m2.outcome == "updated" and m2.item["data"] == {"name": "Pump (edited)", "ref": "P2"}
    assert m2.item["locked_fields"] == ["name"]


def test_redo_of_a_page_after_a_crash_counts_the_same():
    created = first({"name": "Pump"}).item
    redo = merge_record(data={"name": "Pump"}, stored=created, run_id="r1", **KW)
    assert redo.outcome == "created" and redo.item is None  # already written by this run: nothing to write
    updated = merge_record(data={"name": "Pump XL"}, stored=created, run_id="r2", **KW).item
    redo2 = merge_record(data={"name": "Pump XL"}, stored=updated, run_id="r2", **KW)
    assert redo2.outcome == "updated" and redo2.item is None


def test_seen_again_clears_not_seen_flag():
    stored = {**first({"name": "Pump"}).item, "not_seen_since": "2026-11-01"}
    m = merge_record(data={"name": "Pump"}, stored=stored, run_id="r2", **KW)
    assert m.outcome == "unchanged" and "not_seen_since" not in m.item
