"""What the social app does, by flow; these names are its public face.

login.py     begin a login (/authorize), forward a posted code (/form-post), complete it
             (/callback, or /token with a native SDK's token), and start the session
accounts.py  the account behind an identity: upsert, link by a vouched-for email, claim
unlink.py    unlink an identity here, and at the providers that allow it
"""

from social.services.accounts import social_account_upsert
from social.services.login import (
    LoginStart,
    SocialLogin,
    social_form_post_forward,
    social_login_begin,
    social_login_complete,
    social_login_with_token,
)
from social.services.unlink import social_account_delete, social_accounts_revoke

__all__ = [
    "LoginStart",
    "SocialLogin",
    "social_account_delete",
    "social_account_upsert",
    "social_accounts_revoke",
    "social_form_post_forward",
    "social_login_begin",
    "social_login_complete",
    "social_login_with_token",
]
