from django.urls import path

from web import views

app_name = "web"
urlpatterns = [
    path("", views.index, name="index"),
    path("auth/callback/<slug:provider>", views.callback, name="callback"),
    # The pages the account emails link to (ACCOUNTS_VERIFY_EMAIL_URL, ACCOUNTS_RESET_PASSWORD_URL,
    # ACCOUNTS_EMAIL_CHANGE_URL, ACCOUNTS_EMAIL_CHANGE_CANCEL_URL); ACCOUNTS_EMAIL_CODE_URL opens the index.
    path("auth/verify-email", views.emailed_link, name="verify-email"),
    path("auth/reset-password", views.emailed_link, name="reset-password"),
    path("auth/email-change", views.emailed_link, name="email-change"),
    path("auth/email-change-cancel", views.emailed_link, name="email-change-cancel"),
    path("auth/dev-mailbox", views.dev_mailbox, name="dev-mailbox"),
]
