import datetime as dt
from decimal import Decimal

from bridge.domain import revenue
from bridge.domain.currency import BaseCurrencyConverter
from tests.unit.importer.test_currency import TABLE

INVOICE = {
    "id": 501,
    "number": "F-2024-0001",
    "status": "paid",
    "date": "2024-05-05",
    "due_date": "2024-06-05",
    "currency": "USD",
    "amounts": {"total_excl_tax": "190.00", "total_incl_tax": "228.00"},
    "related": [{"type": "contact", "id": 9}, {"type": "individual", "id": 77}],
    "service_dates": {"start": "2024-05-01", "end": "2024-05-31"},
    "rows": [
        {"id": 1, "type": "title", "text": "Maintenance"},
        {
            "id": 2,
            "type": "catalog",
            "related": {"id": 31, "type": "service"},
            "reference": "SRV-1",
            "description": "Annual service",
            "quantity": "2",
            "unit_amount": "100.00",
            "discount": {"type": "percent", "value": "10", "total": "20.00"},
            "amount_tax_exc": "180.00",
            "tax_rate": "20.00",
            "tax_amount": "36.00",
            "amount_tax_inc": "216.00",
        },
        {
            "id": 3,
            "type": "single",
            "quantity": "1",
            "unit_amount": "10.00",
            "amount_tax_exc": "10.00",
            "tax_rate": "20.00",
            "tax_amount": "2.00",
            "amount_tax_inc": "12.00",
            "description": "Travel",
        },
        {"id": 4, "type": "single", "is_optional": True, "quantity": "1", "amount_tax_exc": "99.00"},
        {"id": 5, "type": "sub-total", "amount": "190.00"},
    ],
}


def converter():
    return BaseCurrencyConverter("EUR", TABLE, source="test")


def test_invoice_and_lines_field_by_field():
    key, record, lines = revenue.map_document("invoice", INVOICE, converter())
    assert key == "501"
    assert record["original_id"] == 501 and record["invoice_number"] == "F-2024-0001"
    assert record["customer_id"] == "individual-77" and record["currency"] == "USD"
    assert record["status"] == "paid" and record["date"] == "2024-05-05"
    assert record["amount_excl_tax"] == Decimal("190.00")
    assert [k for k, _ in lines] == ["501-2", "501-3"]  # title, optional and sub-total rows are not revenue
    line = lines[0][1]
    assert line["original_invoice_id"] == 501 and line["original_product_id"] == 31
    assert line["quantity"] == Decimal("2") and line["amount_excl_tax"] == Decimal("180.00")
    assert line["discount_amount"] == Decimal("20.00") and line["discount_type"] == "percent"
    assert line["tax_rate"] == Decimal("20.00") and line["tax_amount"] == Decimal("36.00")
    assert (line["period_start"], line["period_end"]) == ("2024-05-01", "2024-05-31")
    # Sunday 5 May: Friday's rate, with provenance
    rate = (Decimal(1) / Decimal("1.0795")).quantize(Decimal("1E-10"))
    assert line["fx_rate"] == rate and line["fx_rate_date"] == "2024-05-03" and line["fx_source"] == "test"
    assert line["amount_excl_tax_base"] == (Decimal("180.00") * rate).quantize(Decimal("0.01"))
    assert line["base_currency"] == "EUR" and line["fx_missing"] is None


def test_credit_note_amounts_negative_and_linked():
    doc = {**INVOICE, "id": 900, "number": "AV-1", "status": "spent", "currency": "EUR"}
    _key, record, lines = revenue.map_document("credit_note", doc, converter(), linked_invoice_ids=[501, 12])
    assert record["credit_note_number"] == "AV-1" and record["original_invoice_ids"] == [12, 501]
    assert record["amount_excl_tax"] == Decimal("-190.00")
    line = lines[0][1]
    assert line["original_credit_note_id"] == 900
    assert line["amount_excl_tax"] == Decimal("-180.00") and line["tax_amount"] == Decimal("-36.00")
    assert line["quantity"] == Decimal("2")
    assert line["amount_excl_tax_base"] == Decimal("-180.00") and line["fx_source"] == "identity"


def test_currency_without_rate_is_flagged_on_the_line():
    doc = {**INVOICE, "currency": "XOF"}
    _, _, lines = revenue.map_document("invoice", doc, converter())
    line = lines[0][1]
    assert line["fx_rate"] is None and line["amount_excl_tax_base"] is None and "XOF" in line["fx_missing"]
    assert line["amount_excl_tax"] == Decimal("180.00")


def test_customers_products_prices():
    cust = revenue.MAPPINGS[revenue.CUSTOMERS]
    src = {
        "kind": "individual",
        "obj": {"id": 7, "first_name": "Léa", "last_name": "Martin", "email": "l@x.fr"},
    }
    assert cust.key(src) == "individual-7"
    assert cust.map(src)["name"] == "Léa Martin" and cust.map(src)["email"] == "l@x.fr"
    prod = revenue.MAPPINGS[revenue.PRODUCTS]
    assert prod.map({"item": {"id": 3, "name": None, "reference": "REF-3", "type": "product"}})["name"] == "REF-3"
    price = revenue.MAPPINGS[revenue.PRICES]
    psrc = {
        "item": {"id": 3, "currency": None},
        "price": {"rate_category_id": 2, "amount_excl_tax": "12.50"},
        "category": {"label": "Wholesale", "currency": None},
        "default_currency": "EUR",
    }
    assert price.key(psrc) == "3-2"
    assert price.map(psrc)["amount_excl_tax"] == Decimal("12.50") and price.map(psrc)["currency"] == "EUR"


def test_summary_hash_tracks_status_amounts_dates_number_only():
    base = revenue.summary_hash(INVOICE)
    assert revenue.summary_hash({**INVOICE, "subject": "other", "rows": []}) == base
    assert revenue.summary_hash({**INVOICE, "status": "late"}) != base
    assert revenue.summary_hash({**INVOICE, "amounts": {"total_excl_tax": "1"}}) != base
    assert revenue.summary_hash({**INVOICE, "number": "F-2"}) != base


def test_stable_hash_ignores_decimal_representation():
    assert revenue.stable_hash({"a": Decimal("1.50"), "b": 5}) == revenue.stable_hash(
        {"b": Decimal("5"), "a": Decimal("1.5")}
    )


def test_mapping_table_lists_every_field_once():
    table = revenue.mapping_table_markdown()
    for mapping in revenue.MAPPINGS.values():
        for field in mapping.fields:
            assert f"`{field.name}`" in table
    assert table.count("**invoice_lines**") == 1


def test_mapping_is_pure_and_deterministic():
    a = revenue.map_document("invoice", INVOICE, converter())
    b = revenue.map_document("invoice", INVOICE, converter())
    assert a == b
    assert dt.date.fromisoformat(a[2][0][1]["fx_rate_date"])
