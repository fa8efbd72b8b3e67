"""Masking of personal data and secrets before anything is logged or stored in an exchange record.

Two layers, both built on Powertools DataMasking ``erase``:
- by key: values under sensitive keys (emails, phones, names, addresses, tokens, secrets,
  signatures) are erased whole, whatever their shape;
- by pattern: any other string is scanned for emails, phone numbers, bearer tokens / JWTs and
  long opaque credentials, which are replaced in place (free text such as notes or error
  messages often quotes them).

Pure: no I/O, input never mutated (``MaskingFilter`` rewrites the log record it is given).
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable, Mapping
from typing import Any

from aws_lambda_powertools.utilities.data_masking import DataMasking

MASK = "*****"

_eraser = DataMasking(raise_on_missing_field=False)

# Compared after lower-casing and dropping "-", "_" and spaces, so "Phone-Number" == "phone_number".
_SECRET_KEYS = frozenset(
    {
        "token",
        "accesstoken",
        "refreshtoken",
        "idtoken",
        "apitoken",
        "apikey",
        "clientsecret",
        "secret",
        "password",
        "passwd",
        "signkey",
        "signingkey",
        "webhooksigningkey",
        "authorization",
        "proxyauthorization",
        "cookie",
        "setcookie",
        "xwebhooksignature",
        "signature",
        "codeverifier",
        "codechallenge",
        "privatekey",
    }
)
_PERSONAL_KEYS = frozenset(
    {
        "email",
        "emails",
        "mail",
        "phone",
        "phonenumber",
        "phones",
        "mobile",
        "mobilenumber",
        "mobilephone",
        "fax",
        "faxnumber",
        "tel",
        "telephone",
        "firstname",
        "lastname",
        "fullname",
        "contactname",
        "birthdate",
        "birthday",
        "iban",
        "bic",
        "addressline1",
        "addressline2",
        "addressline3",
        "addressline4",
        "address1",
        "address2",
        "address3",
        "address4",
        "street",
    }
)
# Ids we mint or read (deliveries, exchanges, runs, requests, Sellsy objects) are never masked: they are
# how an operator follows one delivery across lines, and a 32-hex delivery id looks like a credential.
_OUR_ID_KEYS = frozenset(
    {
        "accountid",
        "deliveryid",
        "exchangeid",
        "correlationid",
        "runid",
        "executionarn",
        "messageid",
        "requestid",
        "functionrequestid",
        "xraytraceid",
        "replayof",
        "configid",
        "sellsyid",
        "fieldid",
    }
)
_ID_VALUE = re.compile(r"^[A-Za-z0-9_.:/#+=\-]{1,256}$")
# Suffixes catch "contact_email", "main_phone", "sellsy_access_token", "client_secret_value"...
_SENSITIVE_SUFFIXES = ("email", "phone", "token", "secret", "password", "signkey", "signature")

_EMAIL = r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
# International (+33 6 12 34 56 78, +1-202-555-0143) or French national (06 12 34 56 78, 0612345678).
_PHONE = (
    r"(?<![\w+])(?:\+\d{1,3}[ .\-]?(?:\(0\)[ .\-]?)?\d{1,4}(?:[ .\-]?\d{2,4}){2,5}"
    r"|0\d(?:[ .\-]?\d{2}){4})(?![\w])"
)
_BEARER = r"(?i:bearer|basic)\s+[A-Za-z0-9._~+/\-]+=*"
_JWT = r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"
# Opaque credentials: 32+ chars of token alphabet mixing letters and digits (no spaces, no dashes
# between short groups, so UUIDs and ISO dates are left alone).
_OPAQUE = r"(?<![A-Za-z0-9_\-])(?=[A-Za-z0-9_]*\d)(?=[A-Za-z0-9_]*[A-Za-z])[A-Za-z0-9_]{32,}(?![A-Za-z0-9_\-])"
_PATTERN = "|".join(f"(?:{p})" for p in (_JWT, _BEARER, _EMAIL, _PHONE, _OPAQUE))
_COMPILED = re.compile(_PATTERN)


def _normal(key: str) -> str:
    return re.sub(r"[\s_\-]", "", key).lower()


def is_sensitive_key(key: str, extra: Iterable[str] = ()) -> bool:
    norm = _normal(key)
    if norm in _SECRET_KEYS or norm in _PERSONAL_KEYS or norm in {_normal(k) for k in extra}:
        return True
    return norm.endswith(_SENSITIVE_SUFFIXES)


def is_our_id(key: str, value: Any) -> bool:
    """An id of ours under its own key: kept as is (an email or free text under such a key is still masked)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _normal(key) in _OUR_ID_KEYS
    return isinstance(value, str) and _normal(key) in _OUR_ID_KEYS and bool(_ID_VALUE.match(value))


def mask_text(text: str) -> str:
    """Replace emails, phone numbers, bearer tokens, JWTs and opaque credentials inside free text."""
    if not _COMPILED.search(text):
        return text
    masked: str = _eraser.erase(text, regex_pattern=_PATTERN, mask_format=MASK)
    return masked


def mask(data: Any, *, extra_keys: Iterable[str] = ()) -> Any:
    """A masked deep copy of ``data`` (dicts, lists, scalars) safe for logs and exchange records."""
    extra = tuple(extra_keys)
    return _mask(data, extra, depth=0)


def _mask(value: Any, extra: tuple[str, ...], depth: int) -> Any:
    if depth > 32:  # hostile nesting: don't recurse forever, don't leak either
        return MASK
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            name = str(key)
            if is_our_id(name, item):
                out[name] = item
            elif item is not None and item != "" and is_sensitive_key(name, extra):
                out[name] = _erase_whole(item)
            else:
                out[name] = _mask(item, extra, depth + 1)
        return out
    if isinstance(value, list | tuple | set):
        return [_mask(item, extra, depth + 1) for item in value]
    if isinstance(value, bytes):
        return mask_text(value.decode("utf-8", errors="replace"))
    if isinstance(value, str):
        return mask_text(value)
    return value


def _erase_whole(value: Any) -> Any:
    # A nested structure under a sensitive key (e.g. "phones": [{"number": ...}]) goes entirely.
    if isinstance(value, Mapping | list | tuple | set):
        return MASK
    return _eraser.erase(value)


def contains_clear(haystack: str, needles: Iterable[str]) -> list[str]:
    """The needles found verbatim in ``haystack``: used by tests that search captured logs for leaks."""
    return sorted({n for n in needles if n and n in haystack})


# --- logging -------------------------------------------------------------------------------------

_RECORD_ATTRS = frozenset(logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None).__dict__) | {
    "message",
    "asctime",
}


class MaskingFilter(logging.Filter):
    """Masks a log record (message, extras, exception text) before any handler formats it.

    Installed on the Powertools logger, so a forgotten ``mask()`` in a flow still leaks nothing.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(mask_text(a) if isinstance(a, str) else a for a in args)
        for key in [k for k in record.__dict__ if k not in _RECORD_ATTRS]:
            record.__dict__[key] = mask({key: record.__dict__[key]})[key]
        if isinstance(record.exc_info, tuple) and record.exc_info[0] is not None:
            # Exception messages quote whatever failed (emails, tokens): keep the trace, masked.
            text = "".join(traceback.format_exception(*record.exc_info))
            record.__dict__["exception"] = mask_text(text)
            record.__dict__["exception_name"] = record.exc_info[0].__name__
            record.exc_info = None
            record.exc_text = None
        return True
