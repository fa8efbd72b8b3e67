"""Schemathesis against the generated OpenAPI document, over real HTTP on loopback.

The local gateway turns HTTP into API Gateway v2 events for the real handler; moto and the Sellsy
sandbox stand behind it. Checks: no 5xx, statuses/content types/headers/bodies as documented.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.api import api_token

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[3]

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
]


@pytest.fixture
def live_api(sellsy: Any) -> Iterator[str]:
    """The API behind the local gateway, pointed at the sandbox by the ``sellsy`` fixture."""
    from infra.local.gateway import LocalGateway

    gateway = LocalGateway().start()
    try:
        _seed(gateway.url, sellsy)
        yield str(gateway.url)
    finally:
        gateway.stop()


def _seed(url: str, sandbox: Any) -> None:
    """Give the fuzzer something real to hit: a connected account with a failed exchange."""
    import httpx

    from bridge.flows.exchange_log import record_exchange

    auth = {"Authorization": f"Bearer {api_token()}"}
    with httpx.Client(base_url=url, headers=auth, timeout=30) as http:
        assert http.post("/accounts", json={"id": "acme", "name": "Acme"}).status_code == 201
        body = {"method": "client_credentials", "client_id": sandbox.client_id, "client_secret": sandbox.client_secret}
        assert http.put("/accounts/acme/connection", json=body).status_code == 200
    record_exchange(
        account_id="acme",
        direction="inbound",
        kind="object_read",
        status="failed",
        reason="boom",
        replay={"kind": "noop", "account_id": "acme", "payload": {}},
    )


# API Gateway never passes TRACE/CONNECT to the function (the local gateway answers them 405 itself),
# so the coverage phase probes the other methods only.
CONFIG = """
[phases.coverage]
unexpected-methods = ["get", "put", "post", "delete", "patch", "options"]
"""


def test_api_honours_its_openapi_document(live_api: str, tmp_path: Path) -> None:
    # The CLI (not the pytest plugin, which lags behind pytest 9) runs every phase over real HTTP.
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    st = Path(sys.executable).with_name("st")
    command = [
        str(st),
        "--config-file",
        str(config),
        "run",
        f"{live_api}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--header",
        f"Authorization: Bearer {api_token()}",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "10",
        "--workers",
        "2",  # concurrent requests, as API Gateway sends them (the local gateway serialises per function)
        "--seed",
        "7",
        "--no-color",
    ]
    # cwd: the CLI keeps replay files in ./.schemathesis, which must not land in the repository.
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path)
    report_file = REPO / ".local" / "schemathesis-api.txt"
    report_file.parent.mkdir(exist_ok=True)
    report_file.write_text(done.stdout + done.stderr)
    report = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, report
    assert "No issues found" in report or "passed" in report.lower(), report
