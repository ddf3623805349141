"""Envelope encryption of the private signing keys the database holds (`SigningKey.private_key`).

The key-encryption keys (JWT_KEY_ENCRYPTION_KEYS, Fernet keys, newest first) live in the
environment, never in the database: a dump or a read-only SQL injection yields ciphertext
that signs nothing. `cryptography`'s MultiFernet encrypts with the first key and decrypts with
any, so a new KEK goes first, `manage.py reencrypt_signing_keys` re-encrypts every row under
it, and then the old one can be dropped. Fernet is AES-128-CBC with HMAC-SHA256: authenticated,
so a row altered in the database fails to decrypt rather than yielding another key.

A sealed value is `fernet:<token>`. Anything else is a plaintext PEM or HMAC secret, as rows
were before encryption, or as `make run` keeps them with debug on and no KEK; tokens.checks
refuses both with debug off.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from core.conf import settings_accessor
from tokens.conf import token_settings

SEALED_PREFIX = "fernet:"


@settings_accessor
def _multi_fernet() -> MultiFernet | None:
    keys = token_settings().key_encryption_keys
    if not keys:
        return None
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        # Never echo the value: it is a secret.
        raise ImproperlyConfigured(
            "JWT_KEY_ENCRYPTION_KEYS must be Fernet keys (32 url-safe base64-encoded bytes each, comma-separated)."
        ) from None


def encryption_configured() -> bool:
    return _multi_fernet() is not None


def is_sealed(stored: str) -> bool:
    return stored.startswith(SEALED_PREFIX)


def private_key_seal(plaintext: str) -> str:
    """What the database stores for a new private key: encrypted under the newest KEK.

    Without a KEK only with DEBUG on (`make run`), where the key stays plaintext.
    """
    fernet = _multi_fernet()
    if fernet is None:
        if settings.DEBUG:
            return plaintext
        raise ImproperlyConfigured(
            "JWT_KEY_ENCRYPTION_KEYS is empty: with DEBUG off, private signing keys are never stored unencrypted."
        )
    return SEALED_PREFIX + fernet.encrypt(plaintext.encode()).decode()


def private_key_open(stored: str) -> str:
    """The private key a stored value holds."""
    if not is_sealed(stored):
        return stored
    fernet = _multi_fernet()
    if fernet is None:
        raise ImproperlyConfigured("A signing key in the database is encrypted and JWT_KEY_ENCRYPTION_KEYS is empty.")
    try:
        return fernet.decrypt(stored.removeprefix(SEALED_PREFIX).encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A signing key in the database is not encrypted under any of JWT_KEY_ENCRYPTION_KEYS."
        ) from None


def private_key_reseal(stored: str) -> str:
    """The stored value re-encrypted under the newest KEK (a plaintext one encrypted)."""
    fernet = _multi_fernet()
    if fernet is None:
        raise ImproperlyConfigured("JWT_KEY_ENCRYPTION_KEYS is empty: there is no key to encrypt under.")
    if not is_sealed(stored):
        return private_key_seal(stored)
    try:
        return SEALED_PREFIX + fernet.rotate(stored.removeprefix(SEALED_PREFIX).encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A signing key in the database is not encrypted under any of JWT_KEY_ENCRYPTION_KEYS."
        ) from None
