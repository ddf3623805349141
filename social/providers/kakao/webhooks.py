"""Kakao's callbacks to the backend, mounted under /api/auth/ (KakaoProvider.webhooks).

They authenticate with the app's Admin key: `Authorization: KakaoAK <key>`.
"""

from django.http import HttpRequest
from ninja import Field, Form, Router, Schema
from ninja.security import APIKeyHeader

from core.schemas import problem_responses
from social.providers.kakao import services


class KakaoAdminKey(APIKeyHeader):
    param_name = "Authorization"

    def authenticate(self, request: HttpRequest, key: str | None) -> bool | None:
        return True if key and services.kakao_admin_key_valid(authorization=key) else None


class KakaoUnlinkIn(Schema):
    """What Kakao's unlink callback posts (form-encoded)."""

    app_id: str = Field(max_length=64)
    user_id: str = Field(max_length=64)
    referrer_type: str = Field("", max_length=64, examples=["UNLINK_FROM_APPS", "ACCOUNT_DELETE"])


class UnlinkedOut(Schema):
    detail: str


router = Router(tags=["social"])


@router.post("/kakao/unlink", auth=KakaoAdminKey(), response={200: UnlinkedOut, **problem_responses(400, 401, 422)})
def kakao_unlink(request: HttpRequest, body: Form[KakaoUnlinkIn]) -> dict[str, str]:
    """Kakao's unlink callback (register this URL at Kakao Developers, method POST): removes that identity."""
    services.kakao_unlink_received(app_id=body.app_id, kakao_user_id=body.user_id)
    return {"detail": "Unlinked."}
