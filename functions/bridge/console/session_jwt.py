"""Verification of a Cognito ID token (RS256 JWT) against the user pool's published keys (JWKS).

RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2.2) needs only modular exponentiation, which Python
has built in: the signature is raised to the key's public exponent and must equal the expected
encoding of the token's digest, byte for byte. Claims checked: ``iss`` (the pool), ``aud`` (our app
client), ``token_use`` = ``id``, ``exp`` (with a small leeway), ``nonce`` (the one this sign-in sent).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

# DER prefix of DigestInfo for SHA-256 (RFC 8017 §9.2, note 1).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
LEEWAY_SECONDS = 60


class InvalidToken(ValueError):
    """Why a token is refused (never contains the token)."""


def b64url_decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise InvalidToken("malformed base64url") from exc


def _int(text: str) -> int:
    return int.from_bytes(b64url_decode(text), "big")


def rs256_valid(signing_input: bytes, signature: bytes, modulus: int, exponent: int) -> bool:
    size = (modulus.bit_length() + 7) // 8
    if len(signature) != size or size < 256:  # keys under 2048 bits are refused
        return False
    value = int.from_bytes(signature, "big")
    if value >= modulus:
        return False
    encoded = pow(value, exponent, modulus).to_bytes(size, "big")
    digest_info = SHA256_DIGEST_INFO + hashlib.sha256(signing_input).digest()
    expected = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    return hmac.compare_digest(encoded, expected)


def split(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidToken("not a JWT")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
    except ValueError as exc:
        raise InvalidToken("JWT parts are not JSON") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise InvalidToken("JWT parts are not objects")
    return header, claims, f"{parts[0]}.{parts[1]}".encode(), b64url_decode(parts[2])


def verify_id_token(
    token: str,
    keys: list[dict[str, Any]],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now: float | None = None,
) -> dict[str, Any]:
    """The token's claims when its signature and claims hold; else ``InvalidToken``."""
    header, claims, signing_input, signature = split(token)
    if header.get("alg") != "RS256":
        raise InvalidToken("unexpected signing algorithm")
    key = next((k for k in keys if k.get("kid") == header.get("kid") and k.get("kty") == "RSA"), None)
    if key is None:
        raise InvalidToken("signed with an unknown key")
    if not rs256_valid(signing_input, signature, _int(str(key["n"])), _int(str(key["e"]))):
        raise InvalidToken("bad signature")
    moment = time.time() if now is None else now
    audience = claims.get("aud")
    if claims.get("iss") != issuer:
        raise InvalidToken("issued by another user pool")
    if audience != client_id and not (isinstance(audience, list) and client_id in audience):
        raise InvalidToken("issued for another app client")
    if claims.get("token_use") != "id":
        raise InvalidToken("not an ID token")
    if not isinstance(claims.get("exp"), int | float) or claims["exp"] + LEEWAY_SECONDS < moment:
        raise InvalidToken("expired")
    if not nonce or not hmac.compare_digest(str(claims.get("nonce", "")).encode(), nonce.encode()):
        raise InvalidToken("nonce does not match this sign-in")
    return claims
