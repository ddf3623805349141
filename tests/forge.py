"""Tokens as an attacker or a buggy client would make them, to test what verification refuses.

Tests may use PyJWT directly: it stands for the outside world here, not for the project.
"""

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from django.conf import settings


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def header_of(token: str) -> dict[str, Any]:
    return jwt.get_unverified_header(token)


def resign(
    token: str,
    *,
    drop: tuple[str, ...] = (),
    headers: dict[str, Any] | None = None,
    key: str | None = None,
    algorithm: str = "HS256",
    **claims: Any,
) -> str:
    """The token's claims with changes, signed with the project's key (or another)."""
    payload = {**claims_of(token), **claims}
    for name in drop:
        payload.pop(name)
    header = {**_header_without_alg(token), **(headers or {})}
    return jwt.encode(payload, key or settings.JWT_SIGNING_KEY, algorithm=algorithm, headers=header)


def _header_without_alg(token: str) -> dict[str, Any]:
    """The token's header (`typ`, `kid`) for a re-signed copy: the signer writes `alg`."""
    return {name: value for name, value in header_of(token).items() if name != "alg"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64_json(data: dict) -> str:
    return _b64(json.dumps(data).encode())


def unsigned(token: str, *, alg: str = "none") -> str:
    """The same claims and `kid` with `alg: none` (any spelling) and no signature (RFC 8725 §2.1)."""
    return f"{_b64_json({**_header_without_alg(token), 'alg': alg})}.{_b64_json(claims_of(token))}."


def hmac_signed(token: str, secret: bytes) -> str:
    """The same claims signed HS256 with any bytes, such as a public key (RFC 8725 §2.1, key confusion).

    Done by hand because PyJWT rightly refuses to use a PEM key as an HMAC secret.
    """
    header = {**_header_without_alg(token), "alg": "HS256"}
    signing_input = f"{_b64_json(header)}.{_b64_json(claims_of(token))}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def tamper_signature(token: str) -> str:
    head, body, signature = token.split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return f"{head}.{body}.{flipped}"


def reshaped(token: str, *, header: dict[str, Any] | None = None, key: str | None = None, **claims: Any) -> str:
    """The token with any header or claim replaced by any JSON value, even ones PyJWT refuses to
    encode (a non-string `kid`, a `typ` that is a list, `Infinity`), signed with the project's key.
    """
    signing_input = f"{_b64_json({**header_of(token), **(header or {})})}.{_b64_json({**claims_of(token), **claims})}"
    secret = (key or settings.JWT_SIGNING_KEY).encode()
    return f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"


def pem_pair(private: Any) -> tuple[str, str]:
    """An asymmetric private key as the environment takes it: (private PEM in PKCS #8, public PEM)."""
    return (
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode(),
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    )
