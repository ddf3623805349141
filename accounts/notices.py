"""Security notices: an email to the user when something changes on their account, each kind on or off.

The kinds are accounts.mail.NOTICES. A service calls `notice_send` once per change; it
enqueues the email (accounts.tasks.notice_deliver) unless the user turned that kind off. No
notice carries a token or a link that signs in: one that could would make a stolen inbox a
way into the account, and a phished "notice" look like ours.
"""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.errors import NoticeKindUnknown
from accounts.mail import NOTICES
from accounts.models import NoticeSettings
from accounts.tasks import notice_deliver

NOTICE_KINDS = tuple(NOTICES)


def _kinds_off(user_id: int) -> list[str]:
    return NoticeSettings.objects.filter(user_id=user_id).values_list("kinds_off", flat=True).first() or []


def notice_send(*, user_id: int, kind: str, address: str | None = None, **details: str) -> None:
    """Enqueues the `kind` notice for the user, unless they turned it off.

    `address` sends it there rather than to the user's address when the worker runs: the old
    address of an email change, the address of an account being deleted (read before the
    deletion, which also deletes the user's choices). `details` are what the email says
    (a provider, a user agent): strings, never a secret.
    """
    assert kind in NOTICES, f"unknown notice kind {kind!r}"
    if kind in _kinds_off(user_id):
        return
    notice_deliver.enqueue(user_id=user_id, kind=kind, address=address, details=details)


def notices_get(*, user_id: int) -> dict[str, bool]:
    """Each kind, and whether the user gets it."""
    off = set(_kinds_off(user_id))
    return {kind: kind not in off for kind in NOTICE_KINDS}


def notices_update(*, user_id: int, changes: dict[str, bool]) -> dict[str, bool]:
    """Turns the named kinds on or off; the others stay as they were."""
    unknown = sorted(set(changes) - set(NOTICE_KINDS))
    if unknown:
        raise NoticeKindUnknown(
            _("Unknown: %(unknown)s. The kinds are: %(kinds)s.")
            % {"unknown": ", ".join(unknown), "kinds": ", ".join(NOTICE_KINDS)}
        )
    with transaction.atomic():
        row = NoticeSettings.objects.select_for_update().get_or_create(user_id=user_id)[0]
        off = (set(row.kinds_off) | {kind for kind, on in changes.items() if not on}) - {
            kind for kind, on in changes.items() if on
        }
        row.kinds_off = sorted(off)
        row.save(update_fields=["kinds_off"])
    return notices_get(user_id=user_id)
