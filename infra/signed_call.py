"""One IAM-signed (SigV4) call to the deployed management API, with no tool beyond the project's own venv.

    python -m infra.signed_call GET  https://<api-id>.execute-api.<region>.amazonaws.com/accounts
    python -m infra.signed_call POST https://.../accounts '{"id": "acme", "name": "Acme"}'

Credentials and region come from the usual AWS environment or profile (``AWS_PROFILE``); the region defaults
to the one in the URL. Prints the status line and the JSON answer; exits 1 on a 4xx/5xx.
"""

from __future__ import annotations

import json
import sys
from urllib.parse import urlparse

import boto3
import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

SERVICE = "execute-api"


def region_of(url: str) -> str | None:
    parts = (urlparse(url).hostname or "").split(".")
    return parts[2] if len(parts) > 3 and parts[1] == SERVICE else None


def signed_request(
    method: str, url: str, body: str | None = None, *, session: boto3.Session | None = None
) -> AWSRequest:
    session = session or boto3.Session()
    credentials = session.get_credentials()
    if credentials is None:
        raise SystemExit("no AWS credentials (set AWS_PROFILE or the AWS_* variables)")
    region = region_of(url) or session.region_name
    if not region:
        raise SystemExit("no region: use the API's execute-api URL or set AWS_REGION")
    headers = {"content-type": "application/json"} if body is not None else {}
    request = AWSRequest(method=method.upper(), url=url, data=(body or "").encode(), headers=headers)
    SigV4Auth(credentials.get_frozen_credentials(), SERVICE, region).add_auth(request)
    return request


def call(method: str, url: str, body: str | None = None, *, session: boto3.Session | None = None) -> httpx.Response:
    request = signed_request(method, url, body, session=session)
    return httpx.request(request.method, request.url, headers=dict(request.headers), content=request.body, timeout=30)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    if len(args) == 3:
        json.loads(args[2])  # refuse a malformed body before signing it
    answer = call(args[0], args[1], args[2] if len(args) == 3 else None)
    print(answer.status_code, answer.reason_phrase)
    print(answer.text)
    return 1 if answer.status_code >= 400 else 0


if __name__ == "__main__":
    sys.exit(main())
