"""Naver as the tests meet it: its answers shaped as Naver's Login API documents them."""

from typing import Any

import responses

from social.providers.fixtures import ProviderContract

NAVER_CLIENT_ID = "jyvqXeaVOVmV"
NAVER_CLIENT_SECRET = "527300A0_COq1_XV33cf"
NAVER_AUTHORIZE_URL = "https://nid.naver.com/oauth2.0/authorize"
NAVER_TOKEN_URL = "https://nid.naver.com/oauth2.0/token"
NAVER_USERINFO_URL = "https://openapi.naver.com/v1/nid/me"


def naver_token(**changes: Any) -> dict[str, Any]:
    # Naver sends expires_in as a string.
    return {
        "access_token": "AAAAQosjWDJieBiQZc3to9YQp6HDLvrmyKC+6+iZ3gq7qrkqf50ljZC+Lgoqrg",
        "refresh_token": "c8ceMEJisO4Se7uGisHoX0f5JEii7JnipglQipkOn5Zp3tyP7dHQoP0zNKHUq2gY",
        "token_type": "bearer",
        "expires_in": "3600",
        **changes,
    }


def naver_token_error(
    *, error: str = "invalid_request", description: str = "no valid data in session"
) -> dict[str, str]:
    """Naver answers token errors with HTTP 200 and this body."""
    return {"error": error, "error_description": description}


def naver_me(**changes: Any) -> dict[str, Any]:
    return {
        "resultcode": "00",
        "message": "success",
        "response": {
            "id": "32742776",
            "nickname": "OpenAPI",
            "profile_image": "https://ssl.pstatic.net/static/pwe/address/nodata_33x33.gif",
            "age": "40-49",
            "gender": "F",
            "email": "openapi@naver.com",
            "name": "오픈 API",
            "birthday": "10-01",
            **changes,
        },
    }


def naver_error(
    *, resultcode: str = "024", message: str = "Authentication failed / 인증에 실패했습니다."
) -> dict[str, str]:
    return {"resultcode": resultcode, "message": message}


NAVER_SETTINGS = {
    "SOCIAL_NAVER_CLIENT_ID": NAVER_CLIENT_ID,
    "SOCIAL_NAVER_CLIENT_SECRET": NAVER_CLIENT_SECRET,
    "SOCIAL_NAVER_AUTHORIZE_URL": NAVER_AUTHORIZE_URL,
    "SOCIAL_NAVER_TOKEN_URL": NAVER_TOKEN_URL,
    "SOCIAL_NAVER_USERINFO_URL": NAVER_USERINFO_URL,
    "SOCIAL_NAVER_TRUST_EMAIL": False,
}


def _sign_in(rsps: responses.RequestsMock, nonce: str | None, email_verified: bool) -> None:
    # Naver says nothing of the address's verification: the flag cannot change its answer.
    rsps.post(NAVER_TOKEN_URL, json=naver_token())
    rsps.get(NAVER_USERINFO_URL, json=naver_me())


def _code_refused(rsps: responses.RequestsMock) -> str:
    # Naver answers token errors with HTTP 200.
    rsps.post(NAVER_TOKEN_URL, json=naver_token_error(error="invalid_grant", description="invalid authorization code"))
    return "invalid_grant"


NAVER_CONTRACT = ProviderContract(
    name="naver",
    settings=NAVER_SETTINGS,
    client_id=NAVER_CLIENT_ID,
    authorization_endpoint=NAVER_AUTHORIZE_URL,
    scopes=(),
    token_endpoint=NAVER_TOKEN_URL,
    mock_metadata=lambda rsps: None,
    mock_sign_in=_sign_in,
    mock_code_refused=_code_refused,
    identity={"subject": "32742776", "email": "openapi@naver.com", "display_name": "OpenAPI"},
    # Off unless SOCIAL_NAVER_TRUST_EMAIL says otherwise.
    trusts_email=False,
)
