"""The embedded default: the whole product on one machine, no cloud, no Docker.

moto in server mode plays AWS (resources created from template.yaml), the Sellsy sandbox plays Sellsy,
the local gateway plays API Gateway, the pump plays the SQS event source mapping and the execution runner
plays the import state machine's executions; the handlers are the real ones. Endpoints reach the code
through the environment (AWS_ENDPOINT_URL, SELLSY_API_URL, ...).
"""

from __future__ import annotations

import importlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "template.yaml"
STACK_FILE = REPO_ROOT / ".local" / "stack.json"
LOCAL_ACCOUNT_ID = "demo"

AWS_DEFAULTS = {
    "AWS_DEFAULT_REGION": "eu-west-3",
    "AWS_REGION": "eu-west-3",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_SERVICE_NAME": "sellsy-bridge",
    "POWERTOOLS_METRICS_NAMESPACE": "SellsyBridge",
    "STAGE": "local",
    "SECRETS_PREFIX": "sellsy-bridge/local",
    "API_AUTH_MODE": "bearer",
}


def apply_environment(values: dict[str, str]) -> None:
    """Set variables and forget anything cached from the previous values."""
    os.environ.update(values)
    from bridge.adapters.aws import reset_clients
    from bridge.settings import get_settings

    reset_clients()
    get_settings.cache_clear()


def store_api_token(token: str) -> None:
    """The local stand-in for IAM: a bearer token kept in Secrets Manager, like every other secret."""
    from bridge.adapters.aws import client

    name = f"{os.environ['SECRETS_PREFIX']}/api-token"
    sm = client("secretsmanager")
    try:
        sm.create_secret(Name=name, SecretString=token)
    except sm.exceptions.ResourceExistsException:
        sm.put_secret_value(SecretId=name, SecretString=token)


@dataclass
class Stack:
    """Start with ``start()``; reuse an already running moto or sandbox by passing them in."""

    seed: int = 7
    size: int = 40
    aws_endpoint_url: str | None = None
    sandbox: Any = None
    pump_workers: int = 2
    env: dict[str, str] = field(default_factory=dict)
    api_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    _owned: list[Any] = field(default_factory=list)

    def start(self) -> Stack:
        env = {key: os.environ.get(key, value) for key, value in AWS_DEFAULTS.items()}
        env.update(self.env)  # resources of an already running moto, when reused
        apply_environment(env)
        if self.aws_endpoint_url is None:
            from infra.local.moto_server import MotoServer

            moto = MotoServer()
            moto.start()
            self._owned.append(moto)
            self.aws_endpoint_url = moto.endpoint_url
        env["AWS_ENDPOINT_URL"] = self.aws_endpoint_url
        apply_environment(env)

        if "EVENTS_QUEUE_URL" not in env:
            from infra.local.resources import create_stack

            env.update(create_stack(TEMPLATE, self.aws_endpoint_url, region=env["AWS_DEFAULT_REGION"]).env)

        if self.sandbox is None:
            from infra.local.sandbox import Sandbox, SandboxConfig

            self.sandbox = Sandbox(SandboxConfig(seed=self.seed, size=self.size)).start(host="127.0.0.1", port=0)
            self._owned.append(self.sandbox)
        env.update(
            SELLSY_API_URL=self.sandbox.api_url,
            SELLSY_TOKEN_URL=self.sandbox.token_url,
            SELLSY_AUTHORIZE_URL=self.sandbox.authorize_url,
        )
        apply_environment(env)
        store_api_token(self.api_token)

        # Import the handlers once, here: the gateway's and the pump's threads importing them at the same moment
        # can trip over a partly initialised Powertools module (a circular-import error).
        for module in ("bridge.handlers.webhook", "bridge.handlers.api", "bridge.handlers.worker"):
            importlib.import_module(module)

        from infra.local.gateway import LocalGateway

        # No PUBLIC_API_URL: the API derives its own URL from the Host header, which the gateway passes on.
        self.gateway = LocalGateway().start()
        self._owned.append(self.gateway)

        from bridge.adapters.aws import client
        from infra.local.pump import QueuePump

        self.pump = QueuePump(client("sqs"), env["EVENTS_QUEUE_URL"], _lazy_worker, workers=self.pump_workers).start()
        self._owned.append(self.pump)

        from infra.local.executions import ExecutionRunner

        # Plays the import executions the API starts (moto records them; it cannot run Lambda tasks).
        self.executions = ExecutionRunner(env["IMPORT_STATE_MACHINE_ARN"]).start()
        self._owned.append(self.executions)
        self.env = env
        return self

    def stop(self) -> None:
        for part in reversed(self._owned):
            part.stop()
        self._owned.clear()

    @property
    def api_url(self) -> str:
        return str(self.gateway.url)

    @property
    def console_url(self) -> str:
        """The operator console (sign in with ``api_token``)."""
        return f"{self.api_url}/console/accounts"

    def describe(self) -> dict[str, Any]:
        """What scripts and people need to find and drive the running stack."""
        return {
            "api_url": self.api_url,
            "console_url": self.console_url,
            "webhook_url_template": f"{self.api_url}/webhooks/sellsy/{{account_id}}",
            "sandbox_url": self.sandbox.url,
            "sandbox_api_url": self.sandbox.api_url,
            "sandbox_client_id": self.sandbox.client_id,
            "sandbox_client_secret": self.sandbox.client_secret,
            "aws_endpoint_url": self.aws_endpoint_url,
            "aws_region": self.env.get("AWS_DEFAULT_REGION"),
            "account_id": LOCAL_ACCOUNT_ID,
            "api_token": self.api_token,
            "events_queue_url": self.env.get("EVENTS_QUEUE_URL"),
            "reports_bucket": self.env.get("REPORTS_BUCKET"),
        }

    def write_stack_file(self, path: Path = STACK_FILE) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.describe(), indent=2) + "\n")
        path.chmod(0o600)  # holds local test credentials
        return path


def _lazy_worker(event: dict[str, Any], context: Any) -> Any:
    from bridge.handlers.worker import lambda_handler

    return lambda_handler(event, context)
