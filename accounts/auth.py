"""Kakao's callbacks authenticate with the app's Admin key: `Authorization: KakaoAK <key>`."""

from django.http import HttpRequest
from ninja.security import APIKeyHeader

from social.services import kakao_admin_key_valid


class KakaoAdminKey(APIKeyHeader):
    param_name = "Authorization"

    def authenticate(self, request: HttpRequest, key: str | None) -> bool | None:
        return True if key and kakao_admin_key_valid(authorization=key) else None


kakao_admin_key = KakaoAdminKey()
