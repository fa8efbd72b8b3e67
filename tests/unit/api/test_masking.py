"""Masking of personal data and secrets: by key and by pattern inside free text."""

from __future__ import annotations

import json

import pytest

from bridge.domain.masking import MASK, contains_clear, is_sensitive_key, mask, mask_text

EMAIL = "jeanne.martin@example.fr"
PHONE = "+33 6 12 34 56 78"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJjb3JwSWQiOjQyfQ.c2lnbmF0dXJl"
OPAQUE = "Zx9cQ2pVt7LmR4sWb8nKd3Hf6Jg1Ty5Ue0Oa"


@pytest.mark.parametrize(
    "key",
    [
        "email",
        "Email",
        "contact_email",
        "phone_number",
        "mobile",
        "access_token",
        "refresh_token",
        "client_secret",
        "sign_key",
        "Authorization",
        "X-Webhook-Signature",
        "first_name",
        "last_name",
        "address_line_1",
        "iban",
        "code_verifier",
        "password",
    ],
)
def test_sensitive_keys(key: str) -> None:
    assert is_sensitive_key(key)


@pytest.mark.parametrize("key", ["id", "status", "amount", "city", "company_name", "number", "kind", "code"])
def test_ordinary_keys(key: str) -> None:
    assert not is_sensitive_key(key)


@pytest.mark.parametrize(
    "secret_text",
    [
        EMAIL,
        PHONE,
        "0612345678",
        "06.12.34.56.78",
        "01 23 45 67 89",
        "+1-202-555-0143",
        JWT,
        f"Bearer {OPAQUE}",
        OPAQUE,
    ],
)
def test_free_text_patterns_are_masked(secret_text: str) -> None:
    masked = mask_text(f"note: call {secret_text} today")
    assert secret_text not in masked
    assert masked.startswith("note: call ") and masked.endswith(" today")


@pytest.mark.parametrize(
    "ordinary",
    [
        "2026-11-21",
        "2026-11-21T10:15:00+01:00",
        "3f2b8c1e-1b2a-4c3d-9e8f-0123456789ab",
        "1234.56",
        "EUR",
        "estimate 12345",
        "WyIxMSJd",
    ],
)
def test_ordinary_values_survive(ordinary: str) -> None:
    assert mask_text(ordinary) == ordinary


def test_nested_structures_are_masked_without_mutating_the_input() -> None:
    payload = {
        "id": 42,
        "relatedobject": {
            "name": "Acme",
            "email": EMAIL,
            "phones": [{"number": PHONE}],
            "contacts": [{"first_name": "Jeanne", "last_name": "Martin", "note": f"mail {EMAIL}"}],
            "amounts": {"total": "120.00"},
        },
        "headers": {"Authorization": f"Bearer {OPAQUE}"},
    }
    original = json.loads(json.dumps(payload))
    masked = mask(payload)
    assert payload == original
    text = json.dumps(masked)
    assert contains_clear(text, [EMAIL, PHONE, "Jeanne", "Martin", OPAQUE]) == []
    assert masked["id"] == 42 and masked["relatedobject"]["name"] == "Acme"
    assert masked["relatedobject"]["amounts"] == {"total": "120.00"}
    assert masked["relatedobject"]["email"] == MASK


def test_extra_keys_and_hostile_depth() -> None:
    assert mask({"siret": "123"}, extra_keys=["SIRET"]) == {"siret": MASK}
    deep: dict = {}
    cursor = deep
    for _ in range(100):
        cursor["x"] = {}
        cursor = cursor["x"]
    cursor["email"] = EMAIL
    assert EMAIL not in json.dumps(mask(deep))


def test_logging_filter_masks_message_extras_and_exceptions() -> None:
    import logging

    from bridge.domain.masking import MaskingFilter

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    log = logging.getLogger("masking-filter-test")
    log.propagate = False
    log.addHandler(Keep())
    log.addFilter(MaskingFilter())
    log.warning("mail %s", EMAIL, extra={"contact": {"email": EMAIL, "city": "Lyon"}, "note": f"tel {PHONE}"})
    try:
        raise RuntimeError(f"token {JWT} refused")
    except RuntimeError:
        log.exception("failed for %s", EMAIL)
    first, second = records
    assert first.getMessage() == f"mail {MASK}"
    assert first.contact == {"email": MASK, "city": "Lyon"}  # type: ignore[attr-defined]
    assert PHONE not in first.note  # type: ignore[attr-defined]
    assert second.exc_info is None
    assert JWT not in second.exception and "RuntimeError" in second.exception  # type: ignore[attr-defined]
    assert second.exception_name == "RuntimeError"  # type: ignore[attr-defined]
