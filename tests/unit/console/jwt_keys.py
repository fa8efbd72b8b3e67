"""An RSA key pair and ID tokens signed with it, as a Cognito user pool would make them (tests only)."""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@cache
def private_key(kid: str = "k1") -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(kid: str = "k1") -> dict[str, Any]:
    numbers = private_key(kid).public_key().public_numbers()
    size = (numbers.n.bit_length() + 7) // 8
    return {
        "kid": kid,
        "kty": "RSA",
        "alg": "RS256",
        "use": "sig",
        "n": _b64(numbers.n.to_bytes(size, "big")),
        "e": _b64(numbers.e.to_bytes(3, "big")),
    }


def id_token(claims: dict[str, Any], *, kid: str = "k1", alg: str = "RS256", signer: str | None = None) -> str:
    header = _b64(json.dumps({"kid": kid, "alg": alg}).encode())
    body = _b64(json.dumps(claims).encode())
    signed = f"{header}.{body}".encode()
    signature = private_key(signer or kid).sign(signed, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{body}.{_b64(signature)}"
