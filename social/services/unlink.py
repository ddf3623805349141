"""Unlinking identities: here, and at the providers that let the backend do it."""

from social.conf import social_settings
from social.models import SocialAccount
from social.selectors import provider_get


def social_account_delete(*, account_id: int) -> None:
    """Unlinks an identity: its next login creates or links a user afresh."""
    SocialAccount.objects.filter(pk=account_id).delete()


def social_accounts_revoke(*, user_id: int) -> None:
    """Unlinks the user's identities at the providers that allow it (Provider.revoke: Kakao, with its Admin key).

    Before an account is deleted: the provider stops sharing the person's data with the app,
    as the person expects. A failure is a problem (502/504) and nothing else happens.
    """
    providers = [provider_get(name) for name in social_settings().providers]
    revoking = {provider.name: provider for provider in providers if provider.revokes}
    if not revoking:
        return
    accounts = SocialAccount.objects.filter(user_id=user_id, provider__in=revoking)
    for name, subject in accounts.values_list("provider", "subject"):
        revoking[name].revoke(subject=subject)
