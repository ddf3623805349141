from django.urls import path

from devidp import views

app_name = "devidp"
urlpatterns = [
    path(".well-known/openid-configuration", views.openid_configuration, name="openid-configuration"),
    path("authorize", views.authorize, name="authorize"),
    path("token", views.token, name="token"),
    path("jwks", views.jwks_view, name="jwks"),
]
