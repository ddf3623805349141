"""Emailed sign-in codes: short, single-use, short-lived, and dead after CODE_MAX_TRIES tries.

The worker that sends the email makes the code (accounts.tasks), so that the queue's row holds
only the address; the database keeps a keyed hash of it (HMAC with SECRET_KEY, bound to the
address), never the code. A code is short enough to type, so the hash alone would not stop a
search of its 31**6 values by whoever reads the table and knows the key; what stops guessing
online is the try count on the row (exact, by conditional UPDATE) and the failures counted per
address (accounts.throttling). One address has one live code: a new request replaces it.
"""

import secrets

from django.db.models import F
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts.conf import account_settings
from accounts.models import EmailCode

# No 0/O, 1/I/L: read aloud or copied by hand, a code is what it looks like.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
CODE_MAX_TRIES = 5
_SALT = "accounts.codes"


def _code_hash(address: str, code: str) -> str:
    return salted_hmac(_SALT, f"{address}\n{code}", algorithm="sha256").hexdigest()


def code_normalize(code: str) -> str:
    """What a person typed, as it was issued: case, spaces and dashes do not matter."""
    return code.upper().replace(" ", "").replace("-", "")


def code_issue(address: str) -> str:
    """A new code for the canonical `address`, replacing its previous one; the worker calls it as it sends."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    now = timezone.now()
    # Expired codes of every address go here, so that the table holds only live ones without a cron job.
    EmailCode.objects.filter(expires_at__lte=now).delete()
    EmailCode.objects.update_or_create(
        address=address,
        defaults={
            "code_hash": _code_hash(address, code),
            "expires_at": now + account_settings().email_code_ttl,
            "tries": 0,
        },
    )
    return code


def code_redeem(address: str, code: str) -> bool:
    """Whether `code` is the live code of `address`; a right one is used up, every try counts."""
    row = EmailCode.objects.filter(address=address, expires_at__gt=timezone.now()).first()
    if row is None:
        return False
    # The try is counted before the comparison, under the hash that was read: concurrent guesses
    # cannot exceed the limit, and a try never counts against a code issued since.
    counted = EmailCode.objects.filter(pk=row.pk, code_hash=row.code_hash, tries__lt=CODE_MAX_TRIES).update(
        tries=F("tries") + 1
    )
    if not counted or not constant_time_compare(row.code_hash, _code_hash(address, code_normalize(code))):
        return False
    # Single use: of two requests with the right code, the one that deletes the row signs in.
    deleted, _ = EmailCode.objects.filter(pk=row.pk, code_hash=row.code_hash).delete()
    return deleted > 0
