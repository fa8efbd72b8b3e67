"""The embedded default's resources are exactly the template's: same keys, GSIs, TTL, redrive, ..."""

from __future__ import annotations

import json
import uuid

from infra.template_tools import load_template, parameter_defaults, resources_of_type

TEMPLATE = load_template()
TABLES = resources_of_type(TEMPLATE, "AWS::DynamoDB::Table")
QUEUES = resources_of_type(TEMPLATE, "AWS::SQS::Queue")
BUCKETS = resources_of_type(TEMPLATE, "AWS::S3::Bucket")
SECRETS = resources_of_type(TEMPLATE, "AWS::SecretsManager::Secret")


def _resolved(value):
    """A literal, or the default of the parameter it refers to."""
    return parameter_defaults(TEMPLATE)[value["Ref"]] if isinstance(value, dict) else value


def _gsis(definition: dict) -> dict:
    indexes = definition.get("GlobalSecondaryIndexes", [])
    return {gsi["IndexName"]: (gsi["KeySchema"], gsi["Projection"]) for gsi in indexes}


def test_every_storage_resource_of_the_template_exists_locally(aws):
    for logical_id in [*TABLES, *QUEUES, *BUCKETS, *SECRETS]:
        assert logical_id in aws.stack.physical, logical_id


def test_tables_match_template(aws):
    dynamodb = aws.client("dynamodb")
    for logical_id, resource in TABLES.items():
        props = resource["Properties"]
        name = aws.stack.physical[logical_id]
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["KeySchema"] == props["KeySchema"], logical_id
        assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
            props["AttributeDefinitions"], key=lambda a: a["AttributeName"]
        )
        assert table["BillingModeSummary"]["BillingMode"] == props["BillingMode"]
        local_gsis = {
            gsi["IndexName"]: (gsi["KeySchema"], gsi["Projection"]) for gsi in table.get("GlobalSecondaryIndexes", [])
        }
        template_gsis = {
            gsi["IndexName"]: (gsi["KeySchema"], gsi["Projection"]) for gsi in props.get("GlobalSecondaryIndexes", [])
        }
        assert local_gsis == template_gsis, logical_id

        ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        template_ttl = props.get("TimeToLiveSpecification")
        if template_ttl:
            assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": template_ttl["AttributeName"]}
        else:
            assert ttl["TimeToLiveStatus"] == "DISABLED", logical_id

        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
        pitr = backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
        assert pitr == "ENABLED", logical_id


def test_table_env_vars_point_at_the_local_tables(aws):
    expected = {
        "ACCOUNTS_TABLE": "AccountsTable",
        "RECORDS_TABLE": "RecordsTable",
        "FIELD_TABLE": "FieldTable",
        "EXCHANGES_TABLE": "ExchangesTable",
        "IDEMPOTENCY_TABLE": "IdempotencyTable",
        "REPORTS_BUCKET": "ReportsBucket",
        "EVENTS_QUEUE_URL": "EventsQueue",
    }
    for variable, logical_id in expected.items():
        assert aws.env[variable] == aws.stack.physical[logical_id], variable


def test_local_api_uses_the_bearer_token_instead_of_iam(aws):
    assert aws.env["API_AUTH_MODE"] == "bearer"
    assert aws.env["STAGE"] == "local"


def test_queues_match_template_including_redrive(aws):
    sqs = aws.client("sqs")
    for logical_id, resource in QUEUES.items():
        props = resource["Properties"]
        attributes = sqs.get_queue_attributes(QueueUrl=aws.stack.physical[logical_id], AttributeNames=["All"])[
            "Attributes"
        ]
        for name in ("VisibilityTimeout", "MessageRetentionPeriod"):
            if name in props:
                assert attributes[name] == str(props[name]), (logical_id, name)
        if "RedrivePolicy" in props:
            redrive = json.loads(attributes["RedrivePolicy"])
            target = props["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
            assert redrive["deadLetterTargetArn"] == aws.stack.arns[target]
            assert int(redrive["maxReceiveCount"]) == props["RedrivePolicy"]["maxReceiveCount"]
        else:
            assert "RedrivePolicy" not in attributes


def test_bucket_matches_template(aws):
    s3 = aws.client("s3")
    for logical_id, resource in BUCKETS.items():
        props = resource["Properties"]
        bucket = aws.stack.physical[logical_id]
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        expected_algorithm = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert (
            rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
            == (expected_algorithm["ServerSideEncryptionByDefault"]["SSEAlgorithm"])
        )
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert block == props["PublicAccessBlockConfiguration"]
        lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        assert {rule["ID"] for rule in lifecycle} == {rule["Id"] for rule in props["LifecycleConfiguration"]["Rules"]}
        by_id = {rule["ID"]: rule for rule in lifecycle}
        for rule in props["LifecycleConfiguration"]["Rules"]:
            if "ExpirationInDays" in rule:
                assert by_id[rule["Id"]]["Expiration"]["Days"] == int(_resolved(rule["ExpirationInDays"]))
            if "Prefix" in rule:
                assert by_id[rule["Id"]]["Filter"]["Prefix"] == rule["Prefix"]


def test_secrets_exist_under_the_local_prefix(aws):
    secrets = aws.client("secretsmanager")
    for logical_id in SECRETS:
        described = secrets.describe_secret(SecretId=aws.stack.physical[logical_id])
        assert described["Name"].startswith(aws.env["SECRETS_PREFIX"] + "/")


def test_app_code_sees_the_local_stack(aws, no_pump):
    from bridge.adapters.aws import client, dynamodb_table
    from bridge.settings import get_settings

    settings = get_settings()
    table = dynamodb_table(settings.accounts_table)
    table.put_item(Item={"pk": "A#acc-1#ACCOUNT", "sk": "ACCOUNT", "name": "demo"})
    assert table.get_item(Key={"pk": "A#acc-1#ACCOUNT", "sk": "ACCOUNT"})["Item"]["name"] == "demo"
    attributes = client("sqs").get_queue_attributes(QueueUrl=settings.events_queue_url, AttributeNames=["QueueArn"])
    assert attributes["Attributes"]["QueueArn"] == aws.stack.arns["EventsQueue"]
    # Round trip through the DLQ: a running local pump (the `stack` fixture) would consume the events queue.
    dlq = aws.stack.physical["EventsDLQ"]
    probe = json.dumps({"probe": uuid.uuid4().hex})
    client("sqs").send_message(QueueUrl=dlq, MessageBody=probe)
    # Other tests on this stack may have parked their own failures in the DLQ: look for ours only.
    seen: list[str] = []
    for _ in range(10):
        for message in (
            aws.client("sqs")
            .receive_message(QueueUrl=dlq, WaitTimeSeconds=1, MaxNumberOfMessages=10, VisibilityTimeout=30)
            .get("Messages", [])
        ):
            seen.append(message["Body"])
            if message["Body"] == probe:
                aws.client("sqs").delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
        if probe in seen:
            break
    assert probe in seen


def test_reset_wipes_data_but_keeps_resources(aws, no_pump):
    table = aws.client("dynamodb")
    name = aws.env["RECORDS_TABLE"]
    for i in range(60):  # more than one batch of deletes
        table.put_item(TableName=name, Item={"pk": {"S": "A#x#R"}, "sk": {"S": str(i)}})
    s3, sqs, secrets = aws.client("s3"), aws.client("sqs"), aws.client("secretsmanager")
    bucket = aws.env["REPORTS_BUCKET"]
    s3.put_object(Bucket=bucket, Key="reports/a.pdf", Body=b"1")
    s3.put_object(Bucket=bucket, Key="reports/a.pdf", Body=b"2")  # versioned: two versions
    sqs.send_message(QueueUrl=aws.env["EVENTS_QUEUE_URL"], MessageBody="{}")
    sqs.send_message(QueueUrl=aws.stack.physical["EventsDLQ"], MessageBody="{}")
    sqs.receive_message(QueueUrl=aws.stack.physical["EventsDLQ"])  # in flight is forgotten too
    prefix = aws.env["SECRETS_PREFIX"]
    secrets.create_secret(Name=f"{prefix}/accounts/x/sellsy", SecretString="{}")
    oauth = f"{prefix}/app/sellsy-oauth-client"
    template_value = secrets.get_secret_value(SecretId=oauth)["SecretString"]
    secrets.put_secret_value(SecretId=oauth, SecretString='{"client_id": "changed"}')
    sfn = aws.client("stepfunctions")
    machine = aws.stack.arns["ImportStateMachine"]
    sfn.start_execution(stateMachineArn=machine, name="before-reset", input="{}")

    aws.reset()

    assert table.scan(TableName=name)["Count"] == 0
    assert aws.client("dynamodb").describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    versions = s3.list_object_versions(Bucket=bucket)
    assert not versions.get("Versions") and not versions.get("DeleteMarkers")
    for queue in (aws.env["EVENTS_QUEUE_URL"], aws.stack.physical["EventsDLQ"]):
        counts = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
        assert counts["ApproximateNumberOfMessages"] == counts["ApproximateNumberOfMessagesNotVisible"] == "0"
    # The template's own secrets stay (the session key as generated); others are gone.
    # A running `stack` fixture puts its API token back after each reset (its after_reset hook).
    restored = {f"{prefix}/api-token"} if aws.after_reset else set()
    names = {s["Name"] for s in secrets.list_secrets()["SecretList"]}
    assert names - restored == {oauth, f"{prefix}/console-session-key"}
    assert secrets.get_secret_value(SecretId=oauth)["SecretString"] == template_value
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"  # the resources keep their settings
    assert sfn.list_executions(stateMachineArn=machine)["executions"] == []
    assert json.loads(sfn.describe_state_machine(stateMachineArn=machine)["definition"])["States"]


def test_recreate_wipes_moto_and_creates_the_template_again(aws):
    aws.client("dynamodb").put_item(TableName=aws.env["RECORDS_TABLE"], Item={"pk": {"S": "p"}, "sk": {"S": "1"}})
    aws.recreate()
    assert aws.client("dynamodb").scan(TableName=aws.env["RECORDS_TABLE"])["Count"] == 0
    assert set(aws.stack.physical) >= {"EventsQueue", "EventsDLQ", "ReportsBucket", "ImportStateMachine"}


def test_reset_runs_the_hooks_of_session_fixtures(aws):
    secrets = aws.client("secretsmanager")
    name = f"{aws.env['SECRETS_PREFIX']}/test-hook"

    def restore() -> None:
        secrets.create_secret(Name=name, SecretString="kept")

    aws.after_reset.append(restore)
    try:
        aws.reset()
    finally:
        aws.after_reset.remove(restore)
    assert secrets.get_secret_value(SecretId=name)["SecretString"] == "kept"


def test_state_machine_is_stored_with_the_definition_file_and_local_function_arn(aws):
    from infra.template_tools import REPO_ROOT

    props = TEMPLATE["Resources"]["ImportStateMachine"]["Properties"]
    described = aws.client("stepfunctions").describe_state_machine(stateMachineArn=aws.stack.arns["ImportStateMachine"])
    definition = json.loads(described["definition"])
    expected = (REPO_ROOT / props["DefinitionUri"]).read_text()
    expected = expected.replace("${ImportFunctionArn}", aws.stack.arns["ImportFunction"])
    assert definition == json.loads(expected)
    assert definition["States"]["ListAccounts"]["Parameters"]["FunctionName"].endswith("ImportFunction")
