"""The key set: one current key signs, retired keys verify until the tokens they signed expire.

Where keys come from (docs/keys.md argues the choice):
- the database (`SigningKey` rows, made by `manage.py rotate_signing_key`): every process
  on every host reads the same rows, so a rotation reaches all of them without a restart;
- a static key from the environment (JWT_SIGNING_KEY, JWT_VERIFYING_KEY), unchanged from
  before the set existed; with only JWT_VERIFYING_KEY the deployment verifies and never signs;
- with DEBUG on, an HMAC algorithm and no key configured, SECRET_KEY, so that `make run`
  needs no setup. Never with DEBUG off (config/settings.py and tokens.checks refuse).

The database's current key signs when there is one, otherwise the environment's. Every key
is named by its `kid`: the RFC 7638 thumbprint of its public half, or for HMAC of the key
itself (a SHA-256 hash: it names the secret without revealing it).

Each process keeps the set in memory, so verifying a token costs no query. It re-reads the
rows when its copy is older than JWT_KEY_SET_MAX_AGE seconds, and at once when a token
names a `kid` it does not know, but at most once per UNKNOWN_KID_REFETCH_INTERVAL, so that
made-up `kid`s cannot cost a query per request.
"""

import base64
import hashlib
import json
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, IntegrityError, OperationalError, transaction
from django.utils import timezone
from jwt.algorithms import get_default_algorithms
from jwt.exceptions import InvalidKeyError

from core.conf import settings_accessor
from core.secret_keys import HMAC_MIN_KEY_BYTES
from core.transactions import is_transaction_conflict
from tokens.conf import token_settings
from tokens.models import SigningKey, SigningKeyState

logger = logging.getLogger(__name__)

# A made-up `kid` may make a process re-read the set at most this often (seconds).
UNKNOWN_KID_REFETCH_INTERVAL = 1.0
# What every `kid` of this API looks like: base64url of a SHA-256 digest, no padding. Anything
# else is refused before any lookup, and a `kid` is never a path, a query or a file name.
KID_FORMAT = re.compile(r"[A-Za-z0-9_-]{43}")
# RFC 7638 §3.2: the members of each key type that its thumbprint hashes.
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "oct": ("k", "kty"),
}
# Concurrent rotations each make progress (every retry follows another's commit), so this bounds
# how many may run at once rather than how unlucky one may be.
ROTATION_ATTEMPTS = 8
_RSA_KEY_BITS = 3072  # NIST SP 800-57: 128-bit security, as P-256 and Ed25519 give.


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint (SHA-256), base64url: the `kid` of a key."""
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


@dataclass(frozen=True)
class Key:
    """One key of the set, parsed: what PyJWT signs and verifies with, and for how long."""

    kid: str
    algorithm: str
    verifying: Any  # a public key object, or the HMAC secret's bytes
    signing: Any = field(default=None, repr=False)  # None when this process only verifies with it
    verifies_until: datetime | None = None  # None: for as long as it is in the set

    @property
    def is_hmac(self) -> bool:
        return self.algorithm in HMAC_MIN_KEY_BYTES

    def public_jwk(self) -> dict[str, Any]:
        """The RFC 7517 JWK a verifier needs: public members only, never for HMAC."""
        assert not self.is_hmac
        jwk = get_default_algorithms()[self.algorithm].to_jwk(self.verifying, as_dict=True)
        return {**jwk, "kid": self.kid, "alg": self.algorithm, "use": "sig"}


def _key_from_pem_or_secret(
    *, algorithm: str, signing: str | bytes | None, verifying: str | bytes | None, setting: str
) -> Key:
    """A Key from a private PEM or HMAC secret (`signing`) and/or a public PEM (`verifying`)."""
    parser = get_default_algorithms()[algorithm]
    hmac = algorithm in HMAC_MIN_KEY_BYTES
    try:
        signing_key = parser.prepare_key(signing) if signing else None
        verifying_key = parser.prepare_key(verifying) if verifying else None
    except (InvalidKeyError, ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{setting} is not a usable {algorithm} key: {exc}") from None
    if signing_key is not None and not hmac and not hasattr(signing_key, "public_key"):
        raise ImproperlyConfigured(f"{setting} is a public key; {algorithm} signs with a private key (PEM).")
    if verifying_key is None:
        if signing_key is None:
            raise ImproperlyConfigured(f"{setting} is empty.")
        verifying_key = signing_key if hmac else signing_key.public_key()
    jwk = parser.to_jwk(verifying_key, as_dict=True)
    return Key(kid=thumbprint(jwk), algorithm=algorithm, verifying=verifying_key, signing=signing_key)


def static_key() -> Key | None:
    """The key the environment configures (or SECRET_KEY for `make run`), if any."""
    conf = token_settings()
    if conf.signing_key or conf.verifying_key:
        setting = "JWT_SIGNING_KEY" if conf.signing_key else "JWT_VERIFYING_KEY"
        return _key_from_pem_or_secret(
            algorithm=conf.algorithm, signing=conf.signing_key, verifying=conf.verifying_key, setting=setting
        )
    if settings.DEBUG and conf.is_hmac:
        return _key_from_pem_or_secret(
            algorithm=conf.algorithm, signing=settings.SECRET_KEY, verifying=None, setting="SECRET_KEY"
        )
    return None


# Parsed database keys by kid: parsing a PEM costs milliseconds, re-reading the rows should not.
_parsed_rows: dict[str, Key] = {}


def _key_from_row(row: SigningKey) -> Key:
    parsed = _parsed_rows.get(row.kid)
    if parsed is None or parsed.algorithm != row.algorithm:
        secret: str | bytes = row.private_key
        if row.algorithm in HMAC_MIN_KEY_BYTES:
            secret = base64.urlsafe_b64decode(row.private_key + "=" * (-len(row.private_key) % 4))
        parsed = _key_from_pem_or_secret(
            algorithm=row.algorithm, signing=secret, verifying=None, setting=f"signing key {row.kid}"
        )
        _parsed_rows[row.kid] = parsed
    return Key(
        kid=row.kid,
        algorithm=row.algorithm,
        verifying=parsed.verifying,
        signing=parsed.signing if row.state == SigningKeyState.CURRENT else None,
        verifies_until=row.verifies_until,
    )


@dataclass(frozen=True)
class KeySet:
    signing: Key | None
    by_kid: dict[str, Key]

    def verifying_key(self, kid: str) -> Key | None:
        key = self.by_kid.get(kid)
        if key is not None and key.verifies_until is not None and key.verifies_until <= timezone.now():
            return None  # past its end, deleted or not yet
        return key

    def jwks(self) -> dict[str, Any]:
        """RFC 7517 JWK Set of the public keys that verify now; HMAC keys are secrets, never published."""
        now = timezone.now()
        return {
            "keys": [
                key.public_jwk()
                for key in self.by_kid.values()
                if not key.is_hmac and (key.verifies_until is None or key.verifies_until > now)
            ]
        }


class _KeyStore:
    """This process's copy of the set, re-read from the database when stale (see the module docstring)."""

    def __init__(self) -> None:
        self._static = static_key()
        self._max_age = token_settings().key_set_max_age.total_seconds()
        self._set: KeySet | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def key_set(self) -> KeySet:
        age = time.time() - self._loaded_at
        if self._set is None or not 0 <= age < self._max_age:
            self._reload()
        assert self._set is not None
        return self._set

    def fresh_key_set(self) -> KeySet:
        if not 0 <= time.time() - self._loaded_at < UNKNOWN_KID_REFETCH_INTERVAL:
            self._reload()
        return self.key_set()

    def verifying_key(self, kid: str) -> Key | None:
        key = self.key_set().verifying_key(kid)
        if key is None and not 0 <= time.time() - self._loaded_at < UNKNOWN_KID_REFETCH_INTERVAL:
            self._reload()
            key = self.key_set().verifying_key(kid)
        return key

    def _reload(self) -> None:
        # One thread re-reads; others keep using the copy they have (if there is one yet).
        if not self._lock.acquire(blocking=self._set is None):
            return
        try:
            try:
                rows = list(
                    SigningKey.objects.exclude(verifies_until__lte=timezone.now()).only(
                        "kid", "algorithm", "state", "private_key", "verifies_until"
                    )
                )
            except DatabaseError:
                if self._set is None:
                    raise
                # Keep verifying with the copy we have; try again after the usual interval.
                logger.warning("The signing key set could not be re-read; keeping this process's copy.")
                self._loaded_at = time.time()
                return
            db_keys = [_key_from_row(row) for row in rows]
            by_kid = {key.kid: key for key in db_keys}
            if self._static is not None:
                by_kid.setdefault(self._static.kid, self._static)
            signing = next((key for key in db_keys if key.signing is not None), None)
            if signing is None and self._static is not None and self._static.signing is not None:
                signing = self._static
            self._set = KeySet(signing=signing, by_kid=by_kid)
            self._loaded_at = time.time()
        finally:
            self._lock.release()


@settings_accessor
def _key_store() -> _KeyStore:
    return _KeyStore()


def key_set() -> KeySet:
    """The set as this process knows it, at most JWT_KEY_SET_MAX_AGE seconds old."""
    return _key_store().key_set()


def key_set_fresh() -> KeySet:
    """The set as the database has it now (re-read at most once a second): for the JWKS, which
    must list a new key as soon as tokens signed with it can exist."""
    return _key_store().fresh_key_set()


def verifying_key(kid: str) -> Key | None:
    """The key named `kid` if it verifies now: from memory, or after one re-read if unknown."""
    if not KID_FORMAT.fullmatch(kid):
        return None
    return _key_store().verifying_key(kid)


def key_set_forget() -> None:
    """Drops this process's copy, so that the next use re-reads the set (after a rotation here)."""
    _key_store.cache_clear()  # type: ignore[attr-defined]


# --- rotation ----------------------------------------------------------------------------


def _new_private_key(algorithm: str) -> str:
    """A new key for `algorithm`, as stored: PEM (PKCS #8), or the base64url HMAC secret."""
    if algorithm in HMAC_MIN_KEY_BYTES:
        return _b64url(secrets.token_bytes(HMAC_MIN_KEY_BYTES[algorithm]))
    if algorithm.startswith(("RS", "PS")):
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=_RSA_KEY_BITS)
    elif algorithm == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif algorithm == "ES384":
        private = ec.generate_private_key(ec.SECP384R1())
    elif algorithm == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ImproperlyConfigured(f"rotate_signing_key cannot make a key for {algorithm!r}.")
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@dataclass(frozen=True)
class Rotation:
    current: SigningKey
    retired: list[SigningKey]
    deleted: list[str]


def default_retire_after() -> timedelta:
    """How long a retired key must verify: the longest token it signed, plus the leeway, plus
    the time other processes may still sign with it before they re-read the set."""
    conf = token_settings()
    return max(conf.access_ttl, conf.refresh_ttl) + conf.leeway + conf.key_set_max_age


def signing_key_rotate(*, algorithm: str, retire_after: timedelta) -> Rotation:
    """Makes a new current key; the previous one verifies for `retire_after`, then goes."""
    private_key = _new_private_key(algorithm)
    secret: str | bytes = private_key
    if algorithm in HMAC_MIN_KEY_BYTES:
        secret = base64.urlsafe_b64decode(private_key + "=" * (-len(private_key) % 4))
    kid = _key_from_pem_or_secret(algorithm=algorithm, signing=secret, verifying=None, setting="new key").kid
    for attempt in range(1, ROTATION_ATTEMPTS + 1):
        now = timezone.now()
        try:
            with transaction.atomic():
                retired = list(SigningKey.objects.select_for_update().filter(state=SigningKeyState.CURRENT))
                for key in retired:
                    key.state, key.retired_at, key.verifies_until = SigningKeyState.RETIRED, now, now + retire_after
                    key.save(update_fields=["state", "retired_at", "verifies_until"])
                current = SigningKey.objects.create(
                    kid=kid, algorithm=algorithm, state=SigningKeyState.CURRENT, private_key=private_key, created_at=now
                )
                deleted = signing_keys_delete_expired(now=now)
            break
        except (IntegrityError, OperationalError) as exc:
            # A concurrent rotation made its key current after this one read the set (the unique
            # `is_current` refused a second), or the two deadlocked: read the set again.
            if attempt == ROTATION_ATTEMPTS or not (isinstance(exc, IntegrityError) or is_transaction_conflict(exc)):
                raise
    key_set_forget()
    return Rotation(current=current, retired=retired, deleted=deleted)


def signing_keys_delete_expired(*, now: datetime | None = None) -> list[str]:
    """Deletes the retired keys whose tokens have all expired; returns their kids."""
    expired = SigningKey.objects.filter(state=SigningKeyState.RETIRED, verifies_until__lte=now or timezone.now())
    kids = list(expired.values_list("kid", flat=True))
    if kids:
        SigningKey.objects.filter(kid__in=kids).delete()
        key_set_forget()
    return kids
