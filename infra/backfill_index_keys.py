"""Give the items stored before the console's indexes existed their index keys, once, after the deploy that
adds them: failed and skipped exchanges (the outcome index: failures-only log, replay of failures) and
interventions (one customer's interventions).

    python -m infra.backfill_index_keys --stack sellsy-bridge     # a deployed stack (CloudFormation names the tables)
    python -m infra.backfill_index_keys                           # the tables the environment names (embedded default)

Until it has run, those pages miss what was stored before the deploy. Running it again does no harm.
"""

from __future__ import annotations

import argparse
import os
import sys

import boto3

TABLES = {"ExchangesTable": "EXCHANGES_TABLE", "FieldTable": "FIELD_TABLE"}


def use_stack_tables(stack_name: str) -> None:
    """Point the adapters at the stack's tables (their physical names)."""
    cloudformation = boto3.client("cloudformation")
    for logical_id, variable in TABLES.items():
        found = cloudformation.describe_stack_resource(StackName=stack_name, LogicalResourceId=logical_id)
        os.environ[variable] = found["StackResourceDetail"]["PhysicalResourceId"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", help="deployed stack name: its ExchangesTable and FieldTable")
    args = parser.parse_args(argv)
    if args.stack:
        use_stack_tables(args.stack)
    from bridge.adapters import exchanges_repo, field_repo

    exchanges = exchanges_repo.backfill_outcome_keys()
    interventions = field_repo.backfill_customer_keys()
    print(f"index keys given to {exchanges} exchange(s) and {interventions} intervention(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
