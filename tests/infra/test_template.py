"""Assertions on the CloudFormation that SAM produces from template.yaml (transformed offline)."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest

from bridge.domain import access
from infra.template_tools import REPO_ROOT, load_template
from infra.validate import asl_graph_problems, lint, state_machine_definitions, transformed_template

CFN = transformed_template()
RESOURCES: dict[str, Any] = CFN["Resources"]
SOURCE = load_template()
DATA_SERVICES = ("dynamodb", "s3", "sqs", "secretsmanager", "sns", "kms")
FUNCTIONS = {
    "WebhookFunction": "bridge.handlers.webhook.lambda_handler",
    "ApiFunction": "bridge.handlers.api.lambda_handler",
    "WorkerFunction": "bridge.handlers.worker.lambda_handler",
    "ImportFunction": "bridge.handlers.import_step.lambda_handler",
}
TABLES = {
    # logical id: (key names, has gsi1, TTL attribute)
    "AccountsTable": (("pk", "sk"), False, None),
    "RecordsTable": (("pk", "sk"), True, None),
    "FieldTable": (("pk", "sk"), True, "expires_at"),
    "ExchangesTable": (("pk", "sk"), True, "expires_at"),
    "IdempotencyTable": (("id",), False, "expiration"),
}


def of_type(resource_type: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == resource_type}


def ref_or_att(node: Any) -> str | None:
    """Logical id a Ref / GetAtt points at."""
    if isinstance(node, dict):
        if "Ref" in node:
            return str(node["Ref"])
        if "Fn::GetAtt" in node:
            return str(node["Fn::GetAtt"][0])
    return None


def test_transformed_template_is_lint_clean():
    assert lint(CFN) == []


# ------------------------------------------------------------------ functions


def test_functions_runtime_architecture_handler_and_json_logging():
    functions = of_type("AWS::Lambda::Function")
    assert set(functions) == set(FUNCTIONS)
    for name, function in functions.items():
        props = function["Properties"]
        assert props["Handler"] == FUNCTIONS[name]
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["arm64"]
        assert props["LoggingConfig"]["LogFormat"] == "JSON"
        assert props["TracingConfig"] == {"Mode": "Active"}
    assert functions["ImportFunction"]["Properties"]["Timeout"] <= 900


def test_every_function_gets_the_shared_environment():
    required = {
        "STAGE",
        "ACCOUNTS_TABLE",
        "RECORDS_TABLE",
        "FIELD_TABLE",
        "EXCHANGES_TABLE",
        "IDEMPOTENCY_TABLE",
        "REPORTS_BUCKET",
        "EVENTS_QUEUE_URL",
        "SECRETS_PREFIX",
        "SELLSY_API_URL",
        "EXCHANGE_RETENTION_DAYS",
        "POWERTOOLS_SERVICE_NAME",
        "POWERTOOLS_METRICS_NAMESPACE",
        "LOG_LEVEL",
    }
    for name, function in of_type("AWS::Lambda::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert required <= variables.keys(), (name, required - variables.keys())
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "SellsyBridge"
        assert ref_or_att(variables["EVENTS_QUEUE_URL"]) == "EventsQueue"
        assert ref_or_att(variables["ACCOUNTS_TABLE"]) == "AccountsTable"
        assert ref_or_att(variables["SECRETS_PREFIX"]) == "SecretsPrefix"


def test_template_sets_every_variable_the_settings_read():
    """bridge.settings reads one variable per field (its name in upper case); the template must provide each."""
    from bridge.settings import Settings

    read = {name.upper() for name in Settings.model_fields}
    local_only = {"LOCAL_API_TOKEN_SECRET"}  # the embedded default's bearer token
    assert {"ACCOUNTS_TABLE", "EVENTS_QUEUE_URL", "SECRETS_PREFIX"} <= read
    declared = SOURCE["Globals"]["Function"]["Environment"]["Variables"]
    assert read - local_only <= declared.keys(), read - local_only - declared.keys()


def test_api_function_trusts_iam_and_only_it_has_the_auth_mode():
    for name, function in of_type("AWS::Lambda::Function").items():
        mode = function["Properties"]["Environment"]["Variables"].get("API_AUTH_MODE")
        assert mode == ("iam" if name == "ApiFunction" else None), name


# ------------------------------------------------------------------ queue + worker


def test_worker_event_source_mapping_reports_batch_item_failures():
    mappings = of_type("AWS::Lambda::EventSourceMapping")
    assert len(mappings) == 1
    props = next(iter(mappings.values()))["Properties"]
    assert ref_or_att(props["EventSourceArn"]) == "EventsQueue"
    assert ref_or_att(props["FunctionName"]) == "WorkerFunction"
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert ref_or_att(props["ScalingConfig"]["MaximumConcurrency"]) == "WorkerMaxConcurrency"


def test_events_queue_redrives_to_the_dlq_and_outlives_the_worker_timeout():
    queue = RESOURCES["EventsQueue"]["Properties"]
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["EventsDLQ", "Arn"]}, "maxReceiveCount": 5}
    worker_timeout = RESOURCES["WorkerFunction"]["Properties"]["Timeout"]
    assert queue["VisibilityTimeout"] >= 6 * worker_timeout
    assert RESOURCES["EventsDLQ"]["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_every_queue_is_encrypted():
    for name, queue in of_type("AWS::SQS::Queue").items():
        assert queue["Properties"].get("SqsManagedSseEnabled") is True, name


# ------------------------------------------------------------------ storage


@pytest.mark.parametrize("logical_id", TABLES)
def test_table_keys_indexes_ttl_pitr_and_encryption(logical_id):
    keys, has_gsi, ttl_attribute = TABLES[logical_id]
    props = RESOURCES[logical_id]["Properties"]
    assert tuple(k["AttributeName"] for k in props["KeySchema"]) == keys
    assert all(a["AttributeType"] == "S" for a in props["AttributeDefinitions"])
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    gsis = {g["IndexName"]: g for g in props.get("GlobalSecondaryIndexes", [])}
    if has_gsi:
        assert [k["AttributeName"] for k in gsis["gsi1"]["KeySchema"]] == ["gsi1pk", "gsi1sk"]
        assert gsis["gsi1"]["Projection"] == {"ProjectionType": "ALL"}
    else:
        assert gsis == {}
    if ttl_attribute:
        assert props["TimeToLiveSpecification"] == {"AttributeName": ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props


def test_all_tables_are_listed_and_protected():
    tables = of_type("AWS::DynamoDB::Table")
    assert set(tables) == set(TABLES)
    for name, table in tables.items():
        assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True, name


def test_bucket_encrypted_private_with_lifecycle_and_tls_only():
    props = RESOURCES["ReportsBucket"]["Properties"]
    rule = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    rules = {r.get("Prefix"): r for r in props["LifecycleConfiguration"]["Rules"]}
    assert {"exports/", "reports/", "tmp/"} <= rules.keys()
    for prefix in ("exports/", "reports/", "tmp/"):
        assert rules[prefix]["Status"] == "Enabled"
        assert "ExpirationInDays" in rules[prefix] or rules[prefix].get("Transitions"), prefix
    assert rules["tmp/"]["ExpirationInDays"] <= 7
    # Replay messages of exchange records expire with the records (DynamoDB TTL).
    assert rules["replay/"]["ExpirationInDays"] == {"Ref": "ExchangeRetentionDays"}
    policy = RESOURCES["ReportsBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy)


# ------------------------------------------------------------------ IAM


def _allow_statements() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, role in of_type("AWS::IAM::Role").items():
        for policy in role["Properties"].get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                if statement["Effect"] == "Allow":
                    found.append((name, statement))
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_no_wildcard_actions_anywhere_and_no_wildcard_resource_for_data_actions():
    statements = _allow_statements()
    assert len(statements) > 10
    for role, statement in statements:
        actions = _as_list(statement["Action"])
        assert not [a for a in actions if "*" in a], (role, actions)
        data_actions = [a for a in actions if a.split(":")[0] in DATA_SERVICES]
        if data_actions:
            assert "*" not in _as_list(statement["Resource"]), (role, data_actions)


def test_only_expected_managed_policies_are_attached():
    allowed = {
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    }
    for name, role in of_type("AWS::IAM::Role").items():
        assert set(role["Properties"].get("ManagedPolicyArns", [])) <= allowed, name


def test_secret_access_is_limited_to_the_secrets_prefix():
    for role, statement in _allow_statements():
        if any(a.startswith("secretsmanager:") for a in _as_list(statement["Action"])):
            for resource in _as_list(statement["Resource"]):
                assert ":secret:${SecretsPrefix}/" in resource["Fn::Sub"], role
    webhook = [s for r, s in _allow_statements() if r == "WebhookFunctionRole"]
    secret_actions = {a for s in webhook for a in _as_list(s["Action"]) if a.startswith("secretsmanager:")}
    assert secret_actions == {"secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"}
    s3 = [s for s in webhook if any(a.startswith("s3:") for a in _as_list(s["Action"]))]
    replay_objects = {"Fn::Sub": "${ReportsBucket.Arn}/replay/*"}
    assert [(s["Action"], s["Resource"]) for s in s3] == [(["s3:PutObject"], replay_objects)]


def _secret_resources(role: str, action: str) -> list[str]:
    return [
        resource["Fn::Sub"].split(":secret:")[1]
        for r, statement in _allow_statements()
        if r == role and action in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
    ]


def _iam_pattern(resource: str) -> re.Pattern[str]:
    """An IAM resource pattern as a regex: ``*`` is any run of characters (``/`` included), ``?`` one."""
    return re.compile("^" + "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in resource) + "$")


# Secret names as Secrets Manager ARNs end (name + "-" + 6 random characters).
SECRET_KINDS = {
    "api-token": "${SecretsPrefix}/api-token-AbCdEf",
    "sellsy": "${SecretsPrefix}/accounts/acme/sellsy-AbCdEf",
    "signing-key": "${SecretsPrefix}/accounts/acme/webhook-AbCdEf",
    "oauth-pending": "${SecretsPrefix}/accounts/acme/oauth-pending/n0nce-AbCdEf",
    "oauth-app": "${SecretsPrefix}/app/sellsy-oauth-client-AbCdEf",
    "console-session-key": "${SecretsPrefix}/console-session-key-AbCdEf",
    # An account named like a secret kind must not widen anyone's reach.
    "sellsy-of-account-webhook-x": "${SecretsPrefix}/accounts/webhook-x/sellsy-AbCdEf",
    "signing-key-of-account-sellsy-x": "${SecretsPrefix}/accounts/sellsy-x/webhook-AbCdEf",
}
WRITE_ACTIONS = ("secretsmanager:PutSecretValue", "secretsmanager:CreateSecret", "secretsmanager:DeleteSecret")


def _roles_allowed(action: str, secret: str) -> set[str]:
    return {
        role
        for role, statement in _allow_statements()
        if action in _as_list(statement["Action"])
        for resource in _as_list(statement["Resource"])
        if _iam_pattern(resource["Fn::Sub"].split(":secret:")[1]).match(secret)
    }


def test_each_function_reads_and_writes_only_the_secrets_it_owns():
    prefix = "${SecretsPrefix}"
    # The public webhook function reads signing keys only: not a tenant's Sellsy tokens.
    assert _secret_resources("WebhookFunctionRole", "secretsmanager:GetSecretValue") == [
        f"{prefix}/accounts/*/webhook-*"
    ]
    for role in ("WorkerFunctionRole", "ImportFunctionRole"):
        for action in ("secretsmanager:PutSecretValue", "secretsmanager:CreateSecret"):
            # The Sellsy tokens they refresh; never the API token, signing keys or the OAuth app.
            assert _secret_resources(role, action) == [f"{prefix}/accounts/*/sellsy-*"], (role, action)
    writers = {
        r
        for r, statement in _allow_statements()
        if {"secretsmanager:PutSecretValue", "secretsmanager:CreateSecret"} & set(_as_list(statement["Action"]))
        for resource in _as_list(statement["Resource"])
        if resource["Fn::Sub"].endswith(f"{prefix}/*")
    }
    assert writers == set(), writers  # no function writes the whole prefix


@pytest.mark.parametrize(
    ("kind", "readers", "writers"),
    [
        # In AWS operators sign with IAM: no function reads or writes the local operator token.
        ("api-token", set(), set()),
        # Sellsy credentials: written where they are set (API: connect) and renewed (API, worker, import).
        ("sellsy", {"ApiFunctionRole", "WorkerFunctionRole", "ImportFunctionRole"}, None),
        # Signing keys: set and rotated through the API only; read by the webhook function to verify.
        ("signing-key", {"ApiFunctionRole", "WebhookFunctionRole"}, {"ApiFunctionRole"}),
        ("oauth-pending", {"ApiFunctionRole"}, {"ApiFunctionRole"}),
        # Our Sellsy OAuth application: created by the deploy, filled by the operator, read by token users.
        ("oauth-app", {"ApiFunctionRole", "WorkerFunctionRole", "ImportFunctionRole"}, set()),
        # The console's session signing key: generated by the deploy, read by the API function only.
        ("console-session-key", {"ApiFunctionRole"}, set()),
        ("sellsy-of-account-webhook-x", {"ApiFunctionRole", "WorkerFunctionRole", "ImportFunctionRole"}, None),
        ("signing-key-of-account-sellsy-x", {"ApiFunctionRole", "WebhookFunctionRole"}, {"ApiFunctionRole"}),
    ],
)
def test_who_reads_and_who_writes_each_kind_of_secret(kind: str, readers: set[str], writers: set[str] | None):
    secret = SECRET_KINDS[kind]
    assert _roles_allowed("secretsmanager:GetSecretValue", secret) == readers
    renewers = {"ApiFunctionRole", "WorkerFunctionRole", "ImportFunctionRole"}
    for action in ("secretsmanager:PutSecretValue", "secretsmanager:CreateSecret"):
        assert _roles_allowed(action, secret) == (renewers if writers is None else writers), (kind, action)
    # Deleting is the API's alone (disconnect, consumed OAuth states), and only account secrets.
    expected_deleters = {"ApiFunctionRole"} if "/accounts/" in secret else set()
    assert _roles_allowed("secretsmanager:DeleteSecret", secret) == expected_deleters, kind


# ------------------------------------------------------------------ HTTP API


def _http_api_security() -> dict[tuple[str, str], Any]:
    paths = RESOURCES["HttpApi"]["Properties"]["Body"]["paths"]
    return {
        (method, path): operation["security"]
        for path, methods in paths.items()
        for method, operation in methods.items()
    }


def test_http_api_routes_and_authorization():
    security = _http_api_security()
    public = {
        ("post", "/webhooks/sellsy/{account_id}"),
        ("get", "/webhooks/sellsy/{account_id}"),
        ("get", "/openapi.json"),
        ("get", "/oauth/callback"),
        # The console checks its own session cookie (a JWT authorizer cannot read a cookie).
        ("get", "/console"),
        ("x-amazon-apigateway-any-method", "/console/{proxy+}"),
    }
    field = {(method.lower(), path) for method, path in access.FIELD_ROUTES}
    assert security == {
        **{route: [{"NONE": []}] for route in public | field},
        ("x-amazon-apigateway-any-method", "/{proxy+}"): [{"AWS_IAM": []}],
    }
    stage = next(iter(of_type("AWS::ApiGatewayV2::Stage").values()))["Properties"]
    assert ref_or_att(stage["AccessLogSettings"]["DestinationArn"]) == "HttpApiAccessLogGroup"


def test_every_route_is_iam_or_a_field_route_or_public_to_the_gate():
    """Nothing management becomes reachable without IAM: each open route is one the function checks
    itself (a field route: field key) or one the gate treats as public (webhooks, OAuth, the console)."""
    for (method, path), security in _http_api_security().items():
        if security == [{"AWS_IAM": []}]:
            continue
        assert security == [{"NONE": []}], (method, path, security)
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        assert access.is_field_operation(method, path) or access.is_public(concrete), (method, path)
    # The function itself refuses a management request that arrives without IAM (see the API tests).
    api = RESOURCES["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert api["API_AUTH_MODE"] == "iam"


# ------------------------------------------------------------------ schedule + state machine


def test_nightly_schedule_has_timezone_stack_unique_name_and_targets_the_state_machine():
    schedules = of_type("AWS::Scheduler::Schedule")
    nightly = [
        s for s in schedules.values() if s["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}-nightly-import"}
    ]
    assert len(nightly) == 1
    props = nightly[0]["Properties"]
    assert props["ScheduleExpressionTimezone"] == "Europe/Paris"
    assert props["Name"] == {"Fn::Sub": "${AWS::StackName}-nightly-import"}
    assert ref_or_att(props["ScheduleExpression"]) == "ImportScheduleExpression"
    assert ref_or_att(props["Target"]["Arn"]) == "ImportStateMachine"
    assert ref_or_att(props["Target"]["DeadLetterConfig"]["Arn"]) == "ImportScheduleDLQ"
    assert '"action": "list_accounts"' in props["Target"]["Input"]["Fn::Sub"]


def test_hourly_sweep_schedule_invokes_the_import_function_with_a_dlq():
    schedules = of_type("AWS::Scheduler::Schedule")
    hourly = [s for s in schedules.values() if s["Properties"]["Name"] == {"Fn::Sub": "${AWS::StackName}-hourly-sweep"}]
    assert len(hourly) == 1 and len(schedules) == 2
    props = hourly[0]["Properties"]
    assert props["ScheduleExpression"] == "rate(1 hour)"
    assert ref_or_att(props["Target"]["Arn"]) == "ImportFunction"
    assert ref_or_att(props["Target"]["DeadLetterConfig"]["Arn"]) == "ImportScheduleDLQ"
    assert json.loads(props["Target"]["Input"]) == {"action": "sweep_all", "mode": "hourly"}


def test_state_machine_invokes_only_the_import_function():
    definitions = state_machine_definitions(CFN)
    assert set(definitions) == {"ImportStateMachine"}
    assert asl_graph_problems(definitions["ImportStateMachine"]) == []
    props = RESOURCES["ImportStateMachine"]["Properties"]
    assert props["DefinitionSubstitutions"] == {"ImportFunctionArn": {"Fn::GetAtt": ["ImportFunction", "Arn"]}}
    text = json.dumps(definitions["ImportStateMachine"])
    assert set(re.findall(r"\$\{(\w+)\}", text)) == {"ImportFunctionArn"}
    invoke = [
        s for r, s in _allow_statements() if r == "ImportStateMachineRole" and "lambda:InvokeFunction" in s["Action"]
    ]
    assert len(invoke) == 1
    assert invoke[0]["Resource"]["Fn::Sub"][1]["functionName"] == {"Ref": "ImportFunction"}


def test_asl_checker_sees_broken_transitions():
    broken = {"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "C": {"Type": "Succeed"}}}
    problems = asl_graph_problems(broken)
    assert "A goes to unknown state 'B'" in problems
    assert "C is unreachable" in problems


# ------------------------------------------------------------------ observability


def test_every_function_logs_to_its_own_log_group_with_retention():
    groups = of_type("AWS::Logs::LogGroup")
    for group in groups.values():
        assert ref_or_att(group["Properties"]["RetentionInDays"]) == "LogRetentionDays"
    for name, function in of_type("AWS::Lambda::Function").items():
        target = ref_or_att(function["Properties"]["LoggingConfig"]["LogGroup"])
        assert target in groups, name


def test_saved_queries_cover_the_common_questions_over_the_json_log_keys():
    queries = {
        q["Properties"]["Name"]["Fn::Sub"].split("/", 1)[1]: q["Properties"]
        for q in of_type("AWS::Logs::QueryDefinition").values()
    }
    assert set(queries) == {"failures-per-account", "one-object-history", "slowest-exchanges", "quota-usage"}
    expectations = {
        "failures-per-account": ["account_id", 'level = "ERROR"', "by account_id"],
        "one-object-history": ["account_id", "sellsy_type", "sellsy_id", "correlation_id", "sort @timestamp"],
        "slowest-exchanges": ["exchange_id", "duration_ms", "sort duration_ms desc"],
        "quota-usage": ["quota_remaining_day", "by account_id"],
    }
    for name, needles in expectations.items():
        for needle in needles:
            assert needle in queries[name]["QueryString"], (name, needle)
        log_groups = {ref_or_att(group) for group in queries[name]["LogGroupNames"]}
        assert log_groups and log_groups <= set(of_type("AWS::Logs::LogGroup")), name


def _alarms_on(namespace: str, metric: str) -> list[dict[str, Any]]:
    return [
        a["Properties"]
        for a in of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == namespace and a["Properties"].get("MetricName") == metric
    ]


def test_alarms_on_dlq_errors_throttles_and_reconnection_notify_the_topic():
    dlq = _alarms_on("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert {ref_or_att(a["Dimensions"][0]["Value"]) for a in dlq} >= {"EventsDLQ", "ImportScheduleDLQ"}
    for metric in ("Errors", "Throttles"):
        watched = {ref_or_att(a["Dimensions"][0]["Value"]) for a in _alarms_on("AWS/Lambda", metric)}
        assert watched == set(FUNCTIONS), metric
    reconnect = _alarms_on("SellsyBridge", "NeedsReconnect")
    assert len(reconnect) == 1
    assert reconnect[0]["Dimensions"] == [{"Name": "service", "Value": "sellsy-bridge"}]
    for name, alarm in of_type("AWS::CloudWatch::Alarm").items():
        props = alarm["Properties"]
        assert [ref_or_att(action) for action in props["AlarmActions"]] == ["AlarmTopic"]
        # Silence is good news, except for the alarm whose point is that something stopped happening.
        expected = "breaching" if name == "NoSuccessfulImportAlarm" else "notBreaching"
        assert props["TreatMissingData"] == expected, name


SERVICE_DIMENSION = [{"Name": "service", "Value": "sellsy-bridge"}]


def test_alarms_on_trouble_operators_must_see():
    """Each watches a metric of ours with the dimensions the code emits (the behaviour tests check the EMF)."""
    (exchanges,) = _alarms_on("SellsyBridge", "Exchanges")
    assert exchanges["Dimensions"] == [*SERVICE_DIMENSION, {"Name": "outcome", "Value": "failed"}]
    assert exchanges["Threshold"] == 1
    (stopped,) = _alarms_on("SellsyBridge", "ImportRunStopped")
    assert stopped["Dimensions"] == SERVICE_DIMENSION and stopped["Threshold"] == 1
    (silent,) = _alarms_on("SellsyBridge", "ImportRunSucceeded")
    assert silent["Dimensions"] == SERVICE_DIMENSION
    assert silent["Period"] * silent["EvaluationPeriods"] == 26 * 3600
    assert silent["DatapointsToAlarm"] == silent["EvaluationPeriods"]
    assert (silent["ComparisonOperator"], silent["Threshold"]) == ("LessThanThreshold", 1)
    rate = RESOURCES["WebhookRejectionRateAlarm"]["Properties"]
    stats = {m["Id"]: m["MetricStat"]["Metric"] for m in rate["Metrics"] if "MetricStat" in m}
    assert {m["MetricName"] for m in stats.values()} == {"WebhookRejected", "WebhookAccepted"}
    assert all(m["Namespace"] == "SellsyBridge" and m["Dimensions"] == SERVICE_DIMENSION for m in stats.values())
    [expression] = [m for m in rate["Metrics"] if m.get("ReturnData", True)]
    assert "rejected / (" in expression["Expression"].replace("FILL(rejected, 0)", "rejected")
    assert (rate["ComparisonOperator"], rate["Threshold"]) == ("GreaterThanThreshold", 0.5)


def test_every_metric_an_alarm_watches_is_emitted_somewhere_in_the_code():
    source = "\n".join(path.read_text() for path in (REPO_ROOT / "functions/bridge").rglob("*.py"))
    watched = set()
    for alarm in of_type("AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        if props.get("Namespace") == "SellsyBridge":
            watched.add(props["MetricName"])
        for metric in props.get("Metrics", []):
            if "MetricStat" in metric:
                watched.add(metric["MetricStat"]["Metric"]["MetricName"])
    assert watched >= {"Exchanges", "ImportRunStopped", "ImportRunSucceeded", "NeedsReconnect", "WebhookRejected"}
    for name in watched:
        assert f'"{name}' in source, name


def test_outputs_name_the_api_the_webhook_pattern_the_dashboard_the_state_machine_and_the_topic():
    outputs = SOURCE["Outputs"]
    assert set(outputs) == {
        "ApiUrl",
        "WebhookUrlPattern",
        "DashboardUrl",
        "ImportStateMachineArn",
        "AlarmTopicArn",
        "ConsoleUrl",
        "ConsoleUserPoolId",
    }
    api = outputs["ApiUrl"]["Value"]["Fn::Sub"]
    assert api == "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    assert outputs["WebhookUrlPattern"]["Value"]["Fn::Sub"] == api + "/webhooks/sellsy/{account_id}"
    assert "${OverviewDashboard}" in outputs["DashboardUrl"]["Value"]["Fn::Sub"]
    assert outputs["ImportStateMachineArn"]["Value"] == {"Ref": "ImportStateMachine"}
    assert outputs["AlarmTopicArn"]["Value"] == {"Ref": "AlarmTopic"}
    assert set(CFN["Outputs"]) == set(outputs)  # kept through the SAM transform


def test_dashboard_body_is_valid_json_showing_functions_queues_and_reconnections():
    props = next(iter(of_type("AWS::CloudWatch::Dashboard").values()))["Properties"]
    body = props["DashboardBody"]["Fn::Sub"]
    placeholders = set(re.findall(r"\$\{([\w:.]+)\}", body))
    assert {f"{name}" for name in FUNCTIONS} <= placeholders
    assert {"EventsDLQ.QueueName", "EventsQueue.QueueName", "ImportStateMachine"} <= placeholders
    dashboard = json.loads(re.sub(r"\$\{[\w:.]+\}", "x", body))
    metrics = [m for w in dashboard["widgets"] for m in w["properties"].get("metrics", [])]
    assert metrics[next(i for i, m in enumerate(metrics) if m[1] == "NeedsReconnect")][:4] == [
        "SellsyBridge",
        "NeedsReconnect",
        "service",
        "sellsy-bridge",
    ]
    assert any(w["type"] == "log" for w in dashboard["widgets"])


# ------------------------------------------------------------------ parameters + samconfig


def test_parameters_for_stage_log_level_and_schedule():
    assert {"Stage", "LogLevel", "ImportScheduleExpression", "ImportMaxConcurrency", "SecretsPrefix"} <= set(
        SOURCE["Parameters"]
    )


def test_samconfig_has_dev_and_prod_with_known_parameters():
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text())
    for env in ("dev", "prod"):
        deploy = config[env]["deploy"]["parameters"]
        assert config[env]["global"]["parameters"]["stack_name"].endswith(env)
        overrides = dict(item.split("=", 1) for item in deploy["parameter_overrides"])
        assert overrides["Stage"] == env
        for name, value in overrides.items():
            spec = SOURCE["Parameters"][name]
            if "AllowedValues" in spec:
                assert value in [str(v) for v in spec["AllowedValues"]], (env, name)


# ------------------------------------------------------------------ imports on demand


def test_only_the_api_function_and_the_schedule_may_start_import_executions():
    found = {
        (role, action): statement["Resource"]
        for role, statement in _allow_statements()
        for action in _as_list(statement["Action"])
        if action.startswith("states:")
    }
    executions_of_the_machine = {
        "Fn::Sub": "arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:execution:"
        "${ImportStateMachine.Name}:*"
    }
    assert found == {
        ("ApiFunctionRole", "states:StartExecution"): {"Ref": "ImportStateMachine"},
        ("ApiFunctionRole", "states:DescribeExecution"): executions_of_the_machine,
        ("ImportStateMachineNightlyRole", "states:StartExecution"): {"Ref": "ImportStateMachine"},
    }
    variables = RESOURCES["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["IMPORT_STATE_MACHINE_ARN"] == {"Ref": "ImportStateMachine"}


def test_console_sign_in_is_a_cognito_pool_with_a_public_pkce_client_and_a_hosted_ui_domain():
    pool = SOURCE["Resources"]["ConsoleUserPool"]["Properties"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    client = SOURCE["Resources"]["ConsoleUserPoolClient"]["Properties"]
    assert client["GenerateSecret"] is False and client["AllowedOAuthFlows"] == ["code"]
    assert "openid" in client["AllowedOAuthScopes"]
    assert client["CallbackURLs"] == [{"Fn::Sub": "${PublicApiUrl}/console/auth/callback"}]
    for name in ("ConsoleUserPool", "ConsoleUserPoolClient", "ConsoleUserPoolDomain"):
        assert SOURCE["Resources"][name]["Condition"] == "HasConsoleSignIn"
    env = SOURCE["Resources"]["ApiFunction"]["Properties"]["Environment"]["Variables"]
    assert {"CONSOLE_AUTH_DOMAIN", "CONSOLE_AUTH_CLIENT_ID", "CONSOLE_AUTH_ISSUER"} <= set(env)
    from bridge.console import session_cognito

    with open(session_cognito.__file__) as module:
        source = module.read()
    for variable in ("CONSOLE_AUTH_DOMAIN", "CONSOLE_AUTH_CLIENT_ID", "CONSOLE_AUTH_ISSUER"):
        assert variable in source
