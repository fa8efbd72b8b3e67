"""The Glue tables over the snapshot, the Athena workgroup and the rates settings, in the transformed template."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.domain import revenue, snapshot_schema
from bridge.flows.importer import snapshot
from infra import glue_tables
from infra.template_tools import TEMPLATE_PATH, load_template
from infra.validate import transformed_template

CFN = transformed_template()
RESOURCES: dict[str, Any] = CFN["Resources"]
SOURCE = load_template()


def glue_tables_by_name() -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["TableInput"]["Name"]: r["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::Glue::Table"
    }


def test_the_template_block_is_the_generated_one():
    assert glue_tables.current_block(TEMPLATE_PATH.read_text(encoding="utf-8")) == glue_tables.block(), (
        "template.yaml's analytics block is stale: run `python -m infra.glue_tables`"
    )


def test_one_table_per_stream_whose_columns_are_the_mapping_fields():
    tables = glue_tables_by_name()
    assert set(tables) == set(revenue.STREAMS)
    for stream, props in tables.items():
        columns = props["TableInput"]["StorageDescriptor"]["Columns"]
        names = [c["Name"] for c in columns]
        # Straight from the mapping, not from the generator's own column list.
        assert names == ["id", *(f.name for f in revenue.MAPPINGS[stream].fields), "locked_fields", "not_seen_since"]
        assert [(c["Name"], c["Type"]) for c in columns] == snapshot_schema.columns(stream)


def test_amount_and_date_columns_are_typed():
    lines = dict(snapshot_schema.columns(revenue.INVOICE_LINES))
    assert lines["amount_excl_tax_base"] == "decimal(18,2)" and lines["amount_excl_tax"].startswith("decimal(")
    assert lines["period_start"] == lines["period_end"] == lines["fx_rate_date"] == "date"
    assert lines["fx_stale"] == "int" and lines["fx_rate"] == "decimal(20,10)"
    assert lines["original_invoice_id"] == "bigint" and lines["fx_missing"] == "string"
    assert dict(snapshot_schema.columns(revenue.CREDIT_NOTES))["original_invoice_ids"] == "array<bigint>"
    assert dict(snapshot_schema.columns(revenue.PRICES))["original_id"] == "string"  # `{item}-{category}`


@pytest.mark.parametrize("stream", revenue.STREAMS)
def test_partition_projection_points_at_the_snapshot_layout(stream):
    props = glue_tables_by_name()[stream]["TableInput"]
    parameters = props["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.account.type"] == "injected"
    assert props["PartitionKeys"] == [{"Name": "account", "Type": "string", "Comment": "our account id"}]
    template = parameters["storage.location.template"]["Fn::Sub"]
    assert template == f"s3://${{ReportsBucket}}/snapshots/{stream}/account=${{!account}}/"
    key = snapshot.snapshot_key("acme", stream, 3)  # where the import writes
    assert key.startswith(template.replace("s3://${ReportsBucket}/", "").replace("${!account}", "acme"))
    serde = props["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    assert serde == "org.apache.hive.hcatalog.data.JsonSerDe"


def test_snapshots_never_expire_and_query_results_do():
    rules = SOURCE["Resources"]["ReportsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    for rule in rules:
        prefix = rule.get("Prefix", "")
        if "snapshots/".startswith(prefix) or prefix.startswith("snapshots/"):
            assert "ExpirationInDays" not in rule, rule  # current snapshot objects are kept
    results = next(r for r in rules if r.get("Prefix") == "athena-results/")
    assert results["ExpirationInDays"] <= 30
    workgroup = next(r for r in RESOURCES.values() if r["Type"] == "AWS::Athena::WorkGroup")["Properties"]
    output = workgroup["WorkGroupConfiguration"]["ResultConfiguration"]["OutputLocation"]
    assert output == {"Fn::Sub": "s3://${ReportsBucket}/athena-results/"}


def test_the_query_policy_reads_the_exports_and_nothing_else_of_the_bucket():
    policy = next(r for r in RESOURCES.values() if r["Type"] == "AWS::IAM::ManagedPolicy")["Properties"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    reads = [r["Fn::Sub"] for r in statements["ReadExports"]["Resource"]]
    assert reads == ["${ReportsBucket.Arn}/snapshots/*", "${ReportsBucket.Arn}/exports/*"]
    assert statements["WriteQueryResults"]["Resource"] == {"Fn::Sub": "${ReportsBucket.Arn}/athena-results/*"}


def test_only_the_import_gets_the_rates_url_and_it_comes_from_a_parameter():
    for name, resource in SOURCE["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        variables = resource["Properties"].get("Environment", {}).get("Variables", {})
        if name == "ImportFunction":
            assert variables["ECB_RATES_URL"] == {"Ref": "EcbRatesUrl"}
        else:
            assert "ECB_RATES_URL" not in variables, name
    assert SOURCE["Parameters"]["EcbRatesUrl"]["Default"].endswith("/eurofxref-hist.zip")
