"""The key set: one key signs at a time, published before it signs; retired keys verify until their tokens expire.

Where keys come from (docs/keys.md argues the choice):
- the database (`SigningKey` rows, made by `manage.py rotate_signing_key`): every process
  on every host reads the same rows, so a rotation reaches all of them without a restart;
- a static key from the environment (JWT_SIGNING_KEY, JWT_VERIFYING_KEY), unchanged from
  before the set existed; with only JWT_VERIFYING_KEY the deployment verifies and never signs;
- with DEBUG on, an HMAC algorithm and no key configured, SECRET_KEY, so that `make run`
  needs no setup. Never with DEBUG off (config/settings.py and tokens.checks refuse).

A rotation publishes the new key at once and lets it sign only JWT_KEY_ACTIVATION_DELAY
later, so that every verifier's cached JWKS holds it before a token names it; each key's
signing window is in its row, and the key whose window holds the moment signs (a database key
before the environment's). Every key is named by its `kid`: the RFC 7638 thumbprint of its
public half, or for HMAC of the key itself (a SHA-256 hash: it names the secret without
revealing it). Private keys are stored encrypted (tokens/kek.py).

Each process keeps the set in memory, so verifying a token costs no query. It re-reads the
rows every JWT_KEY_SET_MAX_AGE seconds (in a serving process, from a thread of its own: see
_KeyStore), and soon when a token names a `kid` it does not know, but at most once per
UNKNOWN_KID_REFETCH_INTERVAL, so that made-up `kid`s cannot cost a query per request.
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
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, IntegrityError, OperationalError, connections, transaction
from django.db.models import Q
from django.utils import timezone
from jwt.algorithms import get_default_algorithms
from jwt.exceptions import InvalidKeyError

from core.conf import settings_accessor
from core.secret_keys import HMAC_MIN_KEY_BYTES
from core.transactions import is_transaction_conflict
from tokens import kek
from tokens.conf import token_settings
from tokens.models import SigningKey, SigningKeyState

logger = logging.getLogger(__name__)

# A made-up `kid` may make a process re-read the set at most this often (seconds).
UNKNOWN_KID_REFETCH_INTERVAL = 1.0
# How long, at most, the request that names an unknown `kid` waits for the background re-read (seconds).
UNKNOWN_KID_WAIT = 0.5
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
    # Its signing window; None: open on that side (the environment's key has none).
    signs_from: datetime | None = None
    signs_until: datetime | None = None
    published_until: datetime | None = None  # None: in the JWKS for as long as it verifies
    verifies_until: datetime | None = None  # None: for as long as it is in the set

    def signs_at(self, now: datetime) -> bool:
        return (
            self.signing is not None
            and (self.signs_from is None or self.signs_from <= now)
            and (self.signs_until is None or now < self.signs_until)
        )

    def published_at(self, now: datetime) -> bool:
        return all(end is None or now < end for end in (self.published_until, self.verifies_until))

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


# Parsed database keys by kid: decrypting and parsing a PEM cost milliseconds, re-reading the rows should not.
_parsed_rows: dict[str, Key] = {}


def _secret_of(algorithm: str, private_key: str) -> str | bytes:
    """What PyJWT takes for a stored (decrypted) private key: the PEM, or the HMAC secret's bytes."""
    if algorithm in HMAC_MIN_KEY_BYTES:
        return base64.urlsafe_b64decode(private_key + "=" * (-len(private_key) % 4))
    return private_key


def _key_from_row(row: SigningKey) -> Key:
    parsed = _parsed_rows.get(row.kid)
    if parsed is None or parsed.algorithm != row.algorithm:
        parsed = _key_from_pem_or_secret(
            algorithm=row.algorithm,
            signing=_secret_of(row.algorithm, kek.private_key_open(row.private_key)),
            verifying=None,
            setting=f"signing key {row.kid}",
        )
        if parsed.kid != row.kid:
            # The row's key is not the one its kid names (a row altered in the database): never use it.
            raise ImproperlyConfigured(f"Signing key {row.kid} does not hold the key its kid names.")
        _parsed_rows[row.kid] = parsed
    return Key(
        kid=row.kid,
        algorithm=row.algorithm,
        verifying=parsed.verifying,
        signing=parsed.signing,
        signs_from=row.signs_from,
        signs_until=row.retired_at,
        published_until=row.published_until,
        verifies_until=row.verifies_until,
    )


@dataclass(frozen=True)
class KeySet:
    by_kid: dict[str, Key]

    def signing_key(self, now: datetime | None = None) -> Key | None:
        """The key that signs at `now`: of those whose signing window holds it, the newest.

        Every process knows the schedule, so all switch to a new key at its `signs_from`
        without re-reading anything. The environment's key (no window) signs only when no
        database key does.
        """
        now = now or timezone.now()
        signing = None
        for key in self.by_kid.values():
            if key.signs_at(now) and (signing is None or _signs_from(key) > _signs_from(signing)):
                signing = key
        return signing

    def verifying_key(self, kid: str) -> Key | None:
        key = self.by_kid.get(kid)
        if key is not None and key.verifies_until is not None and key.verifies_until <= timezone.now():
            return None  # past its end, deleted or not yet
        return key

    def jwks(self) -> dict[str, Any]:
        """RFC 7517 JWK Set of the public keys published now: a new key from its creation, before
        it signs; a retired one until its last access token has expired (plus the activation
        delay). HMAC keys are secrets, never published."""
        now = timezone.now()
        return {"keys": [key.public_jwk() for key in self.by_kid.values() if not key.is_hmac and key.published_at(now)]}


def _signs_from(key: Key) -> datetime:
    return key.signs_from or datetime.min.replace(tzinfo=UTC)


def _load_key_set(static: Key | None) -> KeySet:
    rows = SigningKey.objects.exclude(verifies_until__lte=timezone.now()).only(
        "kid", "algorithm", "private_key", "signs_from", "retired_at", "published_until", "verifies_until"
    )
    by_kid = {key.kid: key for key in map(_key_from_row, rows)}
    if static is not None:
        by_kid.setdefault(static.kid, static)
    return KeySet(by_kid=by_kid)


class _KeyStore:
    """This process's copy of the set (see the module docstring).

    In a serving process (gunicorn's workers: `key_set_refresh_in_background`) a thread of its
    own re-reads the rows every JWT_KEY_SET_MAX_AGE seconds, so that no request waits on the
    database for keys, and a hung database holds that thread alone while requests go on with
    the copy they have. Elsewhere (commands, tests, runserver) a use that finds the copy stale
    re-reads it inline.
    """

    def __init__(self) -> None:
        self._static = static_key()
        self._max_age = token_settings().key_set_max_age.total_seconds()
        self._set: KeySet | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()
        self._background: threading.Thread | None = None
        self._wake = threading.Event()
        self._loaded = threading.Condition()
        self._generation = 0
        self._last_kick = 0.0

    def key_set(self) -> KeySet:
        if self._background is None and _refresh_in_background:
            self.start_background()  # a serving process's store made anew (settings changed, a rotation here)
        if self._set is None:
            self._reload()
        elif not 0 <= time.time() - self._loaded_at < self._max_age:
            if self._background is None:
                self._reload()
            else:
                self._wake.set()  # the thread re-reads; this request goes on with the copy it has
        assert self._set is not None
        return self._set

    def fresh_key_set(self) -> KeySet:
        if self._set is not None and not 0 <= time.time() - self._loaded_at < UNKNOWN_KID_REFETCH_INTERVAL:
            if self._background is None:
                self._reload()
            else:
                self._wake.set()  # the next JWKS request gets the thread's new copy; this one does not wait
        return self.key_set()

    def verifying_key(self, kid: str) -> Key | None:
        key = self.key_set().verifying_key(kid)
        if key is not None:
            return key
        now = time.time()
        if self._background is None:
            if not 0 <= now - self._loaded_at < UNKNOWN_KID_REFETCH_INTERVAL:
                self._reload()
                key = self.key_set().verifying_key(kid)
            return key
        # Published ahead, a new key is known here long before it signs; only a `--now`
        # rotation gets here. The first such request each second asks the thread for a
        # re-read and waits for it, at most UNKNOWN_KID_WAIT; the others do not wait.
        if 0 <= now - self._last_kick < UNKNOWN_KID_REFETCH_INTERVAL:
            return None
        self._last_kick = now
        with self._loaded:
            generation = self._generation
            self._wake.set()
            self._loaded.wait_for(lambda: self._generation != generation, timeout=UNKNOWN_KID_WAIT)
        return self.key_set().verifying_key(kid)

    def start_background(self) -> None:
        global _background_store
        if self._set is None:
            try:
                self._reload()
            except DatabaseError:
                # A worker starts without its database (down, not migrated yet): /api/health/live
                # answers, and the first request that needs keys loads them.
                logger.warning("The signing key set could not be read at start-up; it loads at first use.")
        if self._background is None:
            _background_store = self
            self._background = threading.Thread(target=self._refresh_forever, name="signing-key-set", daemon=True)
            self._background.start()

    def _refresh_forever(self) -> None:
        while True:
            self._wake.wait(timeout=self._max_age)
            self._wake.clear()
            if _background_store is not self:
                return  # this copy was dropped; the one that replaced it has its own thread
            try:
                self._reload()
            except Exception:  # this thread must outlive any one failure
                logger.exception("The signing key set could not be re-read; keeping this process's copy.")
            finally:
                # This thread's connection, so that a database restart costs one failed re-read.
                connections.close_all()

    def _reload(self) -> None:
        # One thread re-reads; others keep using the copy they have (if there is one yet).
        if not self._lock.acquire(blocking=self._set is None):
            return
        try:
            try:
                self._set = _load_key_set(self._static)
            except DatabaseError:
                if self._set is None:
                    raise
                # Keep verifying with the copy we have; try again after the usual interval.
                logger.warning("The signing key set could not be re-read; keeping this process's copy.")
            self._loaded_at = time.time()
        finally:
            self._lock.release()
        with self._loaded:
            self._generation += 1
            self._loaded.notify_all()


@settings_accessor
def _key_store() -> _KeyStore:
    return _KeyStore()


# Set by key_set_refresh_in_background: this process serves requests.
_refresh_in_background = False
# The copy whose thread keeps it current; a dropped copy's thread ends.
_background_store: _KeyStore | None = None


def key_set() -> KeySet:
    """The set as this process knows it, at most JWT_KEY_SET_MAX_AGE seconds old (give or take a re-read)."""
    return _key_store().key_set()


def key_set_fresh() -> KeySet:
    """The set as the database has it now (re-read at most once a second), for the JWKS; in a
    serving process, the thread's copy, which a JWKS request finding it older than a second has
    the thread re-read (a new key is published long before it signs: no need to wait for it)."""
    return _key_store().fresh_key_set()


def key_set_refresh_in_background(*, enabled: bool = True) -> None:
    """Loads the set now and keeps it current from a thread of its own (a serving process's start)."""
    global _refresh_in_background
    _refresh_in_background = enabled
    if enabled:
        _key_store().start_background()
    else:
        key_set_forget()


def verifying_key(kid: str) -> Key | None:
    """The key named `kid` if it verifies now: from memory, or after one re-read if unknown."""
    if not KID_FORMAT.fullmatch(kid):
        return None
    return _key_store().verifying_key(kid)


def key_set_forget() -> None:
    """Drops this process's copy, so that the next use re-reads the set (after a rotation here)."""
    global _background_store
    _key_store.cache_clear()  # type: ignore[attr-defined]
    dropped, _background_store = _background_store, None
    if dropped is not None:
        dropped._wake.set()  # its thread sees it was dropped, and ends


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
    """How long a retired key must verify after it stops signing: the longest token it signed,
    plus the leeway, plus the time other processes may still sign with it before they re-read
    the set (a `--now` rotation, which they learn of only then)."""
    conf = token_settings()
    return max(conf.access_ttl, conf.refresh_ttl) + conf.leeway + conf.key_set_max_age


def signing_key_rotate(*, algorithm: str, retire_after: timedelta, now_: bool = False) -> Rotation:
    """Publishes a new key at once; it signs after JWT_KEY_ACTIVATION_DELAY (at once with `now_`,
    or when nothing signs yet), when the keys signing until then retire.

    A retired key leaves the JWKS once its last access token has expired plus the same delay
    (verifiers' caches drop it after that), and stops verifying `retire_after` after its last
    signature (refresh tokens: only this API verifies those). Published ahead, the new key is
    in every verifier's copy of the JWKS before any token names it.
    """
    private_key = _new_private_key(algorithm)
    kid = _key_from_pem_or_secret(
        algorithm=algorithm, signing=_secret_of(algorithm, private_key), verifying=None, setting="new key"
    ).kid
    stored = kek.private_key_seal(private_key)
    for attempt in range(1, ROTATION_ATTEMPTS + 1):
        now = timezone.now()
        try:
            with transaction.atomic():
                current, retired, deleted = _rotation_write(
                    kid=kid, algorithm=algorithm, stored=stored, retire_after=retire_after, now=now, now_=now_
                )
            break
        except (IntegrityError, OperationalError) as exc:
            # A concurrent rotation made its key current after this one read the set (the unique
            # `is_current` refused a second), or the two deadlocked: read the set again.
            if attempt == ROTATION_ATTEMPTS or not (isinstance(exc, IntegrityError) or is_transaction_conflict(exc)):
                raise
    key_set_forget()
    return Rotation(current=current, retired=retired, deleted=deleted)


def _rotation_write(
    *, kid: str, algorithm: str, stored: str, retire_after: timedelta, now: datetime, now_: bool
) -> tuple[SigningKey, list[SigningKey], list[str]]:
    conf = token_settings()
    # Keys that sign now or will: they stop when the new key starts.
    signing = list(
        SigningKey.objects.select_for_update()
        .filter(Q(retired_at__isnull=True) | Q(retired_at__gt=now))
        .order_by("signs_from")
    )
    static = static_key()
    something_signs = any(row.signs_from <= now for row in signing) or (
        static is not None and static.signing is not None
    )
    signs_from = now + conf.key_activation_delay if something_signs and not now_ else now
    retired = []
    for key in signing:
        if key.retired_at is not None and key.retired_at <= signs_from:
            continue  # already stops before the new key starts
        key.state, key.retired_at = SigningKeyState.RETIRED, signs_from
        key.verifies_until = signs_from + retire_after
        key.published_until = min(
            key.verifies_until, signs_from + conf.access_ttl + conf.leeway + conf.key_activation_delay
        )
        key.save(update_fields=["state", "retired_at", "published_until", "verifies_until"])
        retired.append(key)
    current = SigningKey.objects.create(
        kid=kid,
        algorithm=algorithm,
        state=SigningKeyState.CURRENT,
        private_key=stored,
        created_at=now,
        signs_from=signs_from,
    )
    return current, retired, signing_keys_delete_expired(now=now)


def signing_key_rotation_due(*, now: datetime | None = None) -> bool:
    """Whether JWT_KEY_ROTATION_PERIOD calls for a new key now: the newest database key will have
    signed for the period by the time a key made now would sign. Never for a deployment without
    database keys (its key is the environment's)."""
    period = token_settings().key_rotation_period
    newest = SigningKey.objects.order_by("-signs_from").values_list("signs_from", flat=True).first()
    if period is None or newest is None:
        return False
    now = now or timezone.now()
    return newest + period <= now + token_settings().key_activation_delay


def signing_key_rotate_if_due(*, algorithm: str) -> Rotation | None:
    """The scheduled rotation: a publish-ahead rotation when one is due, else nothing."""
    with transaction.atomic():
        # One host of several running the schedule at once rotates; the others see its key.
        SigningKey.objects.select_for_update().filter(state=SigningKeyState.CURRENT).exists()
        if not signing_key_rotation_due():
            return None
        return signing_key_rotate(algorithm=algorithm, retire_after=default_retire_after())


def signing_keys_delete_expired(*, now: datetime | None = None) -> list[str]:
    """Deletes the retired keys whose tokens have all expired; returns their kids."""
    expired = SigningKey.objects.filter(state=SigningKeyState.RETIRED, verifies_until__lte=now or timezone.now())
    kids = list(expired.values_list("kid", flat=True))
    if kids:
        SigningKey.objects.filter(kid__in=kids).delete()
        key_set_forget()
    return kids


def signing_keys_reencrypt() -> int:
    """Re-encrypts every private key under the newest JWT_KEY_ENCRYPTION_KEYS key; returns how many."""
    with transaction.atomic():
        rows = list(SigningKey.objects.select_for_update().only("kid", "private_key"))
        for row in rows:
            row.private_key = kek.private_key_reseal(row.private_key)
            row.save(update_fields=["private_key"])
    return len(rows)
