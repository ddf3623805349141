"""What Kakao's unlink callback does: the person unlinked the app at Kakao, so that identity goes."""

import hmac

from django.utils.translation import gettext_lazy as _

from social.errors import KakaoAppMismatch
from social.models import SocialAccount
from social.providers.kakao.settings import kakao_settings
from social.signals import identity_unlinked_by_provider
from webhooks.events import EventType, identity_data
from webhooks.services import event_publish


def kakao_admin_key_valid(*, authorization: str) -> bool:
    """Whether a request carries `Authorization: KakaoAK <SOCIAL_KAKAO_ADMIN_KEY>`, as Kakao's callbacks do."""
    kakao = kakao_settings()
    if not kakao.client_id or not kakao.admin_key:
        return False
    return hmac.compare_digest(authorization.encode(), f"KakaoAK {kakao.admin_key}".encode())


def kakao_unlink_received(*, app_id: str, kakao_user_id: str) -> None:
    """Removes the Kakao identity a user unlinked at Kakao, then tells its user's app (accounts.signals).

    Kakao's unlink callback names the app: one for another app (SOCIAL_KAKAO_APP_ID) is refused.
    """
    kakao = kakao_settings()
    if kakao.app_id and app_id != kakao.app_id:
        raise KakaoAppMismatch(_("The callback is for Kakao app %(app_id)s, not this one.") % {"app_id": repr(app_id)})
    account = SocialAccount.objects.filter(provider=kakao.name, subject=kakao_user_id).first()
    if account is None:
        return
    event_publish(
        EventType.IDENTITY_UNLINKED,
        user_id=account.user_id,
        data=identity_data(identity_id=account.pk, provider=kakao.name),
    )
    account.delete()
    identity_unlinked_by_provider.send(sender=SocialAccount, user_id=account.user_id, provider=account.provider)
