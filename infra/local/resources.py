"""Create the stack's storage in moto from template.yaml itself, so local and cloud cannot drift.

Tables (keys, GSIs, TTL, PITR, SSE), the bucket (encryption, public access block, lifecycle), queues
(attributes, redrive to the DLQ), secrets and state machines (stored, not run) are read from the template's
resource definitions;
the environment the functions get is derived from the template's function environment variables,
with ``!Ref``/``!GetAtt``/``!Sub`` resolved against what was created here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from secrets import token_urlsafe
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.template_tools import TEMPLATE_PATH, load_template, parameter_defaults, resources_of_type

LOCAL_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "eu-west-3"
DEFAULT_STACK_NAME = "sellsy-bridge-local"
# Local values for parameters whose cloud defaults make no sense on a laptop.
# No ECB download on a laptop or in CI (no network beyond loopback): the rates shipped with the code serve.
LOCAL_PARAMETERS = {"Stage": "local", "SecretsPrefix": "sellsy-bridge/local", "EcbRatesUrl": ""}
# The local gateway has no IAM: a bearer token kept in Secrets Manager stands in for it.
LOCAL_ENV_OVERRIDES = {"API_AUTH_MODE": "bearer"}

TABLE = "AWS::DynamoDB::Table"
BUCKET = "AWS::S3::Bucket"
QUEUE = "AWS::SQS::Queue"
SECRET = "AWS::SecretsManager::Secret"
FUNCTION = "AWS::Serverless::Function"
STATE_MACHINE = "AWS::Serverless::StateMachine"

# CloudFormation property → SQS attribute name (same names; the values become strings).
_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
)


class Unresolvable(ValueError):
    """An intrinsic function that has no local meaning (e.g. a ref to the HTTP API)."""


@dataclass
class LocalStack:
    """What create_stack made: physical ids per logical id, and the functions' environment."""

    stack_name: str
    region: str
    physical: dict[str, str] = field(default_factory=dict)  # logical id → table/bucket name, queue URL, ARN
    arns: dict[str, str] = field(default_factory=dict)  # logical id → ARN
    names: dict[str, str] = field(default_factory=dict)  # logical id → name (queues: queue name)
    env: dict[str, str] = field(default_factory=dict)


class _Resolver:
    """Evaluates the intrinsic functions the template uses, against the local stack."""

    def __init__(self, template: dict[str, Any], stack: LocalStack, parameters: Mapping[str, str]):
        self.template = template
        self.stack = stack
        self.parameters = dict(parameters)
        self.pseudo = {
            "AWS::Region": stack.region,
            "AWS::AccountId": LOCAL_ACCOUNT_ID,
            "AWS::StackName": stack.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": "",
        }

    def ref(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.stack.physical:
            return self.stack.physical[name]
        raise Unresolvable(f"Ref {name}")

    def get_att(self, resource: str, attribute: str) -> str:
        if attribute == "Arn" and resource in self.stack.arns:
            return self.stack.arns[resource]
        if attribute in ("QueueName", "Name") and resource in self.stack.names:
            return self.stack.names[resource]
        if attribute == "QueueUrl" and resource in self.stack.physical:
            return self.stack.physical[resource]
        raise Unresolvable(f"GetAtt {resource}.{attribute}")

    def condition(self, name: str) -> bool:
        return bool(self.value(self.template.get("Conditions", {})[name]))

    def sub(self, spec: Any) -> str:
        text, variables = (spec, {}) if isinstance(spec, str) else (spec[0], spec[1])
        out, pos = [], 0
        while (start := text.find("${", pos)) != -1:
            end = text.index("}", start)
            out.append(text[pos:start])
            name = text[start + 2 : end]
            if name.startswith("!"):  # ${!Literal} escapes
                out.append("${" + name[1:] + "}")
            elif name in variables:
                out.append(str(self.value(variables[name])))
            elif "." in name:
                out.append(self.get_att(*name.split(".", 1)))
            else:
                out.append(self.ref(name))
            pos = end + 1
        out.append(text[pos:])
        return "".join(out)

    def value(self, node: Any) -> Any:
        """Resolve a node; plain values pass through, intrinsics are evaluated recursively."""
        if isinstance(node, list):
            return [self.value(item) for item in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, arg),) = node.items()
            intrinsic = _INTRINSICS.get(key)
            if intrinsic is not None:
                return intrinsic(self, arg)
            if key.startswith("Fn::"):
                raise Unresolvable(key)
        return {key: self.value(item) for key, item in node.items()}


def _get_att(resolver: _Resolver, arg: Any) -> str:
    resource, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
    return resolver.get_att(resource, attribute)


def _if(resolver: _Resolver, arg: Any) -> Any:
    name, when_true, when_false = arg
    return resolver.value(when_true if resolver.condition(name) else when_false)


def _equals(resolver: _Resolver, arg: Any) -> bool:
    left, right = (resolver.value(part) for part in arg)
    return str(left) == str(right)


# The intrinsic functions the template uses, by key; any other "Fn::" is Unresolvable.
_INTRINSICS: dict[str, Callable[[_Resolver, Any], Any]] = {
    "Ref": lambda resolver, arg: resolver.ref(arg),
    "Fn::GetAtt": _get_att,
    "Fn::Sub": lambda resolver, arg: resolver.sub(arg),
    "Fn::Join": lambda resolver, arg: arg[0].join(str(resolver.value(part)) for part in arg[1]),
    "Fn::If": _if,
    "Fn::Equals": _equals,
    "Fn::Not": lambda resolver, arg: not resolver.value(arg[0]),
    "Fn::And": lambda resolver, arg: all(resolver.value(part) for part in arg),
    "Fn::Or": lambda resolver, arg: any(resolver.value(part) for part in arg),
    "Condition": lambda resolver, arg: resolver.condition(arg),
}


def _local_name(stack_name: str, logical_id: str) -> str:
    return f"{stack_name}-{logical_id}"


def _table_request(name: str, props: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if props.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = [
            {"IndexName": gsi["IndexName"], "KeySchema": gsi["KeySchema"], "Projection": gsi["Projection"]}
            for gsi in props["GlobalSecondaryIndexes"]
        ]
    if props.get("LocalSecondaryIndexes"):
        request["LocalSecondaryIndexes"] = props["LocalSecondaryIndexes"]
    if props.get("SSESpecification", {}).get("SSEEnabled"):
        request["SSESpecification"] = {"Enabled": True}
    if "DeletionProtectionEnabled" in props:
        request["DeletionProtectionEnabled"] = bool(props["DeletionProtectionEnabled"])
    return request


def _create_table(dynamodb: Any, name: str, props: dict[str, Any]) -> str:
    try:
        arn = dynamodb.create_table(**_table_request(name, props))["TableDescription"]["TableArn"]
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise
        arn = dynamodb.describe_table(TableName=name)["Table"]["TableArn"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    if props.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled"):
        dynamodb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    return str(arn)


def lifecycle_rule_to_api(rule: dict[str, Any]) -> dict[str, Any]:
    """One CloudFormation lifecycle rule → the S3 API's shape (names differ between the two)."""
    api: dict[str, Any] = {"ID": rule["Id"], "Status": rule["Status"]}
    api["Filter"] = {"Prefix": rule.get("Prefix", "")}
    if "ExpirationInDays" in rule:
        api["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
    if rule.get("Transitions"):
        api["Transitions"] = [
            {"Days": int(t["TransitionInDays"]), "StorageClass": t["StorageClass"]} for t in rule["Transitions"]
        ]
    if "NoncurrentVersionExpiration" in rule:
        days = int(rule["NoncurrentVersionExpiration"]["NoncurrentDays"])
        api["NoncurrentVersionExpiration"] = {"NoncurrentDays": days}
    if "AbortIncompleteMultipartUpload" in rule:
        days = int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
        api["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return api


def _create_bucket(s3: Any, name: str, region: str, props: dict[str, Any]) -> None:
    try:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    except ClientError as error:
        if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise
    encryption = props.get("BucketEncryption")
    if encryption:
        rules = [
            {
                "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                "BucketKeyEnabled": bool(rule.get("BucketKeyEnabled", False)),
            }
            for rule in encryption["ServerSideEncryptionConfiguration"]
        ]
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules})
    if props.get("PublicAccessBlockConfiguration"):
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"])
    if props.get("VersioningConfiguration"):
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=props["VersioningConfiguration"])
    rules = props.get("LifecycleConfiguration", {}).get("Rules")
    if rules:
        s3.put_bucket_lifecycle_configuration(
            Bucket=name, LifecycleConfiguration={"Rules": [lifecycle_rule_to_api(rule) for rule in rules]}
        )


def queue_attributes(props: dict[str, Any]) -> dict[str, str]:
    """CloudFormation queue properties (already resolved) → SQS attribute strings."""
    attributes = {
        name: (str(props[name]).lower() if isinstance(props[name], bool) else str(props[name]))
        for name in _QUEUE_ATTRIBUTES
        if name in props
    }
    if "RedrivePolicy" in props:
        policy = props["RedrivePolicy"]
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": policy["deadLetterTargetArn"],
                "maxReceiveCount": int(policy["maxReceiveCount"]),
            }
        )
    return attributes


def _function_environment(template: dict[str, Any], resolver: _Resolver) -> dict[str, str]:
    """Union of every function's environment (Globals first, function values win), resolved."""
    declared: dict[str, Any] = dict(
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    for function in resources_of_type(template, FUNCTION).values():
        declared.update(function.get("Properties", {}).get("Environment", {}).get("Variables", {}))
    env: dict[str, str] = {}
    for name, node in declared.items():
        try:
            env[name] = str(resolver.value(node))
        except Unresolvable:
            continue  # e.g. a URL of a cloud-only resource: the local stack sets it itself
    return env


def _generated_secret(spec: dict[str, Any] | None) -> str:
    """What CloudFormation's GenerateSecretString makes (random characters), or ``{}`` for a plain secret."""
    if not spec:
        return "{}"
    return token_urlsafe(int(spec.get("PasswordLength", 32)))[: int(spec.get("PasswordLength", 32))]


def create_stack(
    template_path: str | Path = TEMPLATE_PATH,
    endpoint_url: str | None = None,
    *,
    stack_name: str = DEFAULT_STACK_NAME,
    region: str = DEFAULT_REGION,
    parameters: Mapping[str, str] | None = None,
) -> LocalStack:
    """Create every table, bucket, queue and secret of the template in moto at ``endpoint_url``."""
    template = load_template(template_path)
    stack = LocalStack(stack_name=stack_name, region=region)
    resolver = _Resolver(template, stack, {**parameter_defaults(template), **LOCAL_PARAMETERS, **(parameters or {})})
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region)

    def aws(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url)

    _create_tables(aws("dynamodb"), template, resolver)
    _create_buckets(aws("s3"), template, resolver)
    _create_queues(aws("sqs"), template, resolver)
    _create_secrets(aws("secretsmanager"), template, resolver)
    # Functions are not deployed locally (the handlers are called in-process), but their ARNs name them in
    # the state machine definitions, which moto keeps as a store (it cannot run Lambda tasks without Docker).
    for logical_id in resources_of_type(template, FUNCTION):
        name = _local_name(stack_name, logical_id)
        stack.arns[logical_id] = f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT_ID}:function:{name}"
    _create_state_machines(aws("stepfunctions"), template, resolver, Path(template_path).resolve().parent)
    stack.env = {**_function_environment(template, resolver), **LOCAL_ENV_OVERRIDES}
    return stack


def _create_tables(dynamodb: Any, template: dict[str, Any], resolver: _Resolver) -> None:
    stack = resolver.stack
    for logical_id, resource in resources_of_type(template, TABLE).items():
        name = _local_name(stack.stack_name, logical_id)
        stack.arns[logical_id] = _create_table(dynamodb, name, resolver.value(resource["Properties"]))
        stack.physical[logical_id] = stack.names[logical_id] = name


def _create_buckets(s3: Any, template: dict[str, Any], resolver: _Resolver) -> None:
    stack = resolver.stack
    for logical_id, resource in resources_of_type(template, BUCKET).items():
        name = _local_name(stack.stack_name, logical_id).lower()
        _create_bucket(s3, name, stack.region, resolver.value(resource.get("Properties", {})))
        stack.physical[logical_id] = stack.names[logical_id] = name
        stack.arns[logical_id] = f"arn:aws:s3:::{name}"


def _create_queues(sqs: Any, template: dict[str, Any], resolver: _Resolver) -> None:
    stack = resolver.stack
    # Queues without a redrive policy first: the others point at their ARN.
    queues = sorted(
        resources_of_type(template, QUEUE).items(),
        key=lambda item: "RedrivePolicy" in item[1].get("Properties", {}),
    )
    for logical_id, resource in queues:
        props = resolver.value(resource.get("Properties", {}))
        name = props.get("QueueName") or _local_name(stack.stack_name, logical_id)
        url = sqs.create_queue(QueueName=name, Attributes=queue_attributes(props))["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        stack.physical[logical_id], stack.names[logical_id], stack.arns[logical_id] = url, name, arn


def _create_secrets(secrets: Any, template: dict[str, Any], resolver: _Resolver) -> None:
    stack = resolver.stack
    for logical_id, resource in resources_of_type(template, SECRET).items():
        props = resolver.value(resource.get("Properties", {}))
        name = props.get("Name") or _local_name(stack.stack_name, logical_id)
        try:
            arn = secrets.create_secret(
                Name=name,
                Description=props.get("Description", ""),
                SecretString=props.get("SecretString") or _generated_secret(props.get("GenerateSecretString")),
            )["ARN"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceExistsException":
                raise
            arn = secrets.describe_secret(SecretId=name)["ARN"]
        # Ref on a secret is its ARN, as in CloudFormation.
        stack.physical[logical_id], stack.names[logical_id], stack.arns[logical_id] = arn, name, arn


def _create_state_machines(stepfunctions: Any, template: dict[str, Any], resolver: _Resolver, base: Path) -> None:
    stack = resolver.stack
    for logical_id, resource in resources_of_type(template, STATE_MACHINE).items():
        props = resource["Properties"]
        definition = base.joinpath(props["DefinitionUri"]).read_text(encoding="utf-8")
        for key, node in props.get("DefinitionSubstitutions", {}).items():
            definition = definition.replace("${" + key + "}", str(resolver.value(node)))
        name = _local_name(stack.stack_name, logical_id)
        role = f"arn:aws:iam::{LOCAL_ACCOUNT_ID}:role/{name}-role"
        try:
            arn = stepfunctions.create_state_machine(name=name, definition=definition, roleArn=role)["stateMachineArn"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "StateMachineAlreadyExists":
                raise
            arn = f"arn:aws:states:{stack.region}:{LOCAL_ACCOUNT_ID}:stateMachine:{name}"
        stack.physical[logical_id], stack.names[logical_id], stack.arns[logical_id] = arn, name, arn


def create_resources(
    template_path: str | Path = TEMPLATE_PATH,
    endpoint_url: str | None = None,
    **options: Any,
) -> dict[str, str]:
    """Create the template's storage in moto; return the functions' env (variable → name/URL/value)."""
    return create_stack(template_path, endpoint_url, **options).env
