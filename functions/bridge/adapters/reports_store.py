"""PDF reports in the reports bucket: presigned upload URLs for the field app, reads for the worker.

The upload URL is a presigned PUT that signs ``Content-Type: application/pdf`` and the declared
``Content-Length``: S3 refuses a body of another type or size. Since a presigned PUT cannot carry a
size *range*, the hard check is repeated when the report is used: ``inspect`` (HEAD + first bytes) at
completion, and the Sellsy client refuses anything above 15 MB before uploading.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from bridge.adapters.aws import client
from bridge.settings import get_settings

PDF_TYPE = "application/pdf"
MAX_REPORT_BYTES = 15 * 1024 * 1024  # Sellsy's file limit: a bigger report could never be attached
UPLOAD_URL_SECONDS = 900
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class ReportProblem(ValueError):
    """The report named by the field app cannot be used (missing, not a PDF, too large, foreign key)."""


@dataclass(frozen=True)
class UploadTicket:
    url: str
    key: str
    headers: dict[str, str]
    expires_in: int
    max_bytes: int


@dataclass(frozen=True)
class ReportInfo:
    key: str
    size: int
    content_type: str


def _bucket() -> str:
    return get_settings().reports_bucket


def _segment(value: str) -> str:
    return _SAFE.sub("-", value).strip("-") or "x"


def report_prefix(account_id: str, intervention_id: str) -> str:
    return f"reports/{_segment(account_id)}/{_segment(intervention_id)}/"


def generated_key(account_id: str, intervention_id: str) -> str:
    return f"{report_prefix(account_id, intervention_id)}generated.pdf"


def upload_ticket(account_id: str, intervention_id: str, *, size: int) -> UploadTicket:
    """A presigned PUT for one PDF of exactly ``size`` bytes (≤ 15 MB) under the intervention's prefix."""
    if not 0 < size <= MAX_REPORT_BYTES:
        raise ReportProblem(f"report size {size} bytes is outside 1..{MAX_REPORT_BYTES} (Sellsy's 15 MB limit)")
    key = f"{report_prefix(account_id, intervention_id)}upload-{secrets.token_hex(8)}.pdf"
    url = client("s3").generate_presigned_url(
        "put_object",
        Params={"Bucket": _bucket(), "Key": key, "ContentType": PDF_TYPE, "ContentLength": size},
        ExpiresIn=UPLOAD_URL_SECONDS,
        HttpMethod="PUT",
    )
    return UploadTicket(
        url=url,
        key=key,
        headers={"Content-Type": PDF_TYPE, "Content-Length": str(size)},
        expires_in=UPLOAD_URL_SECONDS,
        max_bytes=MAX_REPORT_BYTES,
    )


def inspect(account_id: str, intervention_id: str, key: str) -> ReportInfo:
    """Check an uploaded report before accepting a completion: right prefix, exists, PDF, ≤ 15 MB."""
    if not key.startswith(report_prefix(account_id, intervention_id)) or ".." in key:
        raise ReportProblem(f"report_key {key!r} was not issued for this intervention")
    s3 = client("s3")
    try:
        head = s3.head_object(Bucket=_bucket(), Key=key)
    except ClientError as exc:
        raise ReportProblem(f"no uploaded report at {key!r}: upload the PDF to the URL first") from exc
    size = int(head.get("ContentLength", 0))
    if size > MAX_REPORT_BYTES:
        raise ReportProblem(f"report is {size} bytes; the limit is {MAX_REPORT_BYTES} (15 MB)")
    if size == 0:
        raise ReportProblem("report is empty")
    first = s3.get_object(Bucket=_bucket(), Key=key, Range="bytes=0-4")["Body"].read()
    if not first.startswith(b"%PDF-"):
        raise ReportProblem("report is not a PDF file (it does not start with %PDF-)")
    return ReportInfo(key=key, size=size, content_type=str(head.get("ContentType") or PDF_TYPE))


def read(key: str) -> bytes:
    body: Any = client("s3").get_object(Bucket=_bucket(), Key=key)["Body"]
    return bytes(body.read())


def exists(key: str) -> bool:
    try:
        client("s3").head_object(Bucket=_bucket(), Key=key)
    except ClientError:
        return False
    return True


def write(key: str, content: bytes) -> None:
    client("s3").put_object(Bucket=_bucket(), Key=key, Body=content, ContentType=PDF_TYPE)
