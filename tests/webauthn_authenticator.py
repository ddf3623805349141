"""A software WebAuthn authenticator and client for the tests: what a browser and a security key
(or a phone's passkey) together hand the API, built byte by byte as WebAuthn Level 3 §6 lays it out.

ES256 keys from `cryptography`, attestation format "none". Each ceremony can be bent the way an
attacker or a broken client would (another origin, another RP ID, no user verification, an old
counter) to show the API refuses it.
"""

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

# authenticatorData flags (§6.1)
UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
# The AAGUID of a "none" attestation's authenticator: all zeros.
AAGUID = bytes(16)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftAuthenticator:
    origin: str
    rp_id: str
    # A synced passkey (backup eligible): the API calls its key "swk", a device-bound one "hwk".
    backup_eligible: bool = False
    sign_count: int = 0
    # Authenticators that keep no counter answer 0 every time.
    counts: bool = True
    credential_id: bytes = field(default_factory=lambda: os.urandom(32))
    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    user_handle: bytes | None = None

    def _cose_public_key(self) -> bytes:
        numbers = self.private_key.public_key().public_numbers()
        # COSE_Key (RFC 9053): kty EC2, alg ES256, crv P-256, x, y.
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})

    def _flags(self, *, user_verified: bool, attested: bool) -> int:
        flags = UP | (UV if user_verified else 0) | (BE | BS if self.backup_eligible else 0)
        return flags | (AT if attested else 0)

    def _authenticator_data(self, *, rp_id: str, flags: int, sign_count: int, attested: bytes = b"") -> bytes:
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", sign_count) + attested

    @staticmethod
    def _client_data(*, kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}).encode()

    def create(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        user_verified: bool = True,
    ) -> dict[str, Any]:
        """navigator.credentials.create() for these creation options: the credential's JSON (toJSON())."""
        self.user_handle = from_b64url(options["user"]["id"])
        attested = AAGUID + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_public_key()
        auth_data = self._authenticator_data(
            rp_id=rp_id or options["rp"]["id"],
            flags=self._flags(user_verified=user_verified, attested=True),
            sign_count=self.sign_count,
            attested=attested,
        )
        client_data = self._client_data(
            kind="webauthn.create", challenge=options["challenge"], origin=origin or self.origin
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal", "hybrid"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        user_verified: bool = True,
        sign_count: int | None = None,
    ) -> dict[str, Any]:
        """navigator.credentials.get() for these request options: the assertion's JSON.

        The counter moves forward on each call unless `sign_count` says what to report.
        """
        if sign_count is None:
            if self.counts:
                self.sign_count += 1
            sign_count = self.sign_count if self.counts else 0
        auth_data = self._authenticator_data(
            rp_id=rp_id or self.rp_id,
            flags=self._flags(user_verified=user_verified, attested=False),
            sign_count=sign_count,
        )
        client_data = self._client_data(
            kind="webauthn.get", challenge=options["challenge"], origin=origin or self.origin
        )
        signature = self.private_key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": b64url(self.credential_id),
            "rawId": b64url(self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(self.user_handle) if self.user_handle is not None else None,
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }
