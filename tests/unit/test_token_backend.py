"""What tokens.backend accepts and refuses (RFC 8725): no HTTP, no database beyond the fixtures."""

from datetime import timedelta

import pytest
import time_machine
from cryptography.hazmat.primitives.asymmetric import ec
from django.utils import timezone

from tests.forge import claims_of, header_of, hmac_signed, pem_pair, resign, tamper_signature, unsigned
from tokens import backend
from tokens.backend import TokenType
from tokens.errors import TokenExpired, TokenInvalid


def test_access_token_has_the_rfc9068_type_and_every_required_claim(pair, user):
    header, claims = header_of(pair.access), claims_of(pair.access)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "HS256"
    assert claims["sub"] == str(user.pk)
    assert claims["token_type"] == "access"
    assert set(backend.REQUIRED_CLAIMS) | {"sid"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 900


def test_refresh_token_has_its_own_type(pair):
    assert header_of(pair.refresh)["typ"] == "rt+jwt"
    assert claims_of(pair.refresh)["token_type"] == "refresh"


def test_each_kind_decodes_only_as_itself(pair):
    assert backend.decode(pair.access, token_type=TokenType.ACCESS)["token_type"] == "access"
    assert backend.decode(pair.refresh, token_type=TokenType.REFRESH)["token_type"] == "refresh"
    with pytest.raises(TokenInvalid):
        backend.decode(pair.refresh, token_type=TokenType.ACCESS)
    with pytest.raises(TokenInvalid):
        backend.decode(pair.access, token_type=TokenType.REFRESH)


def test_a_forged_header_type_alone_does_not_make_a_refresh_token_an_access_token(pair):
    forged = resign(pair.refresh, headers={"typ": "at+jwt"})
    with pytest.raises(TokenInvalid, match="type"):
        backend.decode(forged, token_type=TokenType.ACCESS)


def test_expired_token_is_refused_after_the_leeway(pair):
    with time_machine.travel(timezone.now() + timedelta(seconds=900 + 29), tick=False):
        backend.decode(pair.access, token_type=TokenType.ACCESS)
    with time_machine.travel(timezone.now() + timedelta(seconds=900 + 31), tick=False), pytest.raises(TokenExpired):
        backend.decode(pair.access, token_type=TokenType.ACCESS)


def test_leeway_is_a_setting(pair, settings):
    settings.JWT_LEEWAY = 0
    with time_machine.travel(timezone.now() + timedelta(seconds=901), tick=False), pytest.raises(TokenExpired):
        backend.decode(pair.access, token_type=TokenType.ACCESS)


def test_token_issued_in_the_future_is_not_valid_yet(pair):
    future = resign(pair.access, iat=claims_of(pair.access)["iat"] + 120)
    with pytest.raises(TokenInvalid, match="not valid yet"):
        backend.decode(future, token_type=TokenType.ACCESS)


@pytest.mark.parametrize(
    ("claim", "value", "message"),
    [("iss", "https://evil.example", "issued by someone else"), ("aud", "another-api", "another audience")],
)
def test_wrong_issuer_or_audience_is_refused(pair, claim, value, message):
    with pytest.raises(TokenInvalid, match=message):
        backend.decode(resign(pair.access, **{claim: value}), token_type=TokenType.ACCESS)


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub", "jti"])
def test_each_required_claim_is_required(pair, claim):
    with pytest.raises(TokenInvalid, match=claim):
        backend.decode(resign(pair.access, drop=(claim,)), token_type=TokenType.ACCESS)


def test_alg_none_is_refused(pair):
    with pytest.raises(TokenInvalid):
        backend.decode(unsigned(pair.access), token_type=TokenType.ACCESS)


def test_tampered_signature_is_refused(pair):
    with pytest.raises(TokenInvalid, match="signature"):
        backend.decode(tamper_signature(pair.access), token_type=TokenType.ACCESS)


def test_token_signed_with_another_key_is_refused(pair):
    with pytest.raises(TokenInvalid, match="signature"):
        backend.decode(resign(pair.access, key="not-the-key-" * 4), token_type=TokenType.ACCESS)


def test_algorithm_comes_from_settings_not_from_the_token(pair):
    # Same key, another HMAC algorithm named in the header: still refused.
    with pytest.raises(TokenInvalid, match="algorithm"):
        backend.decode(resign(pair.access, algorithm="HS384"), token_type=TokenType.ACCESS)


def test_garbage_is_malformed():
    with pytest.raises(TokenInvalid, match="malformed"):
        backend.decode("not.a.jwt", token_type=TokenType.ACCESS)


def test_asymmetric_keys_sign_with_the_private_half_and_verify_with_the_public(settings, db):
    private = ec.generate_private_key(ec.SECP256R1())
    settings.JWT_ALGORITHM = "ES256"
    private_pem, public_pem = pem_pair(private)
    settings.JWT_SIGNING_KEY = private_pem
    token = backend.encode(
        {
            "iss": settings.JWT_ISSUER,
            "aud": settings.JWT_AUDIENCE,
            "sub": "1",
            "jti": "x",
            "iat": int(timezone.now().timestamp()),
            "exp": int(timezone.now().timestamp()) + 60,
        },
        token_type=TokenType.ACCESS,
    )
    assert header_of(token)["alg"] == "ES256"
    assert backend.decode(token, token_type=TokenType.ACCESS)["sub"] == "1"
    # An HS256 token made with the public key as the secret (key confusion) is refused.
    confused = hmac_signed(token, public_pem.encode())
    with pytest.raises(TokenInvalid):
        backend.decode(confused, token_type=TokenType.ACCESS)


def test_unsupported_algorithm_setting_fails_loudly(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.JWT_ALGORITHM = "none"
    with pytest.raises(ImproperlyConfigured):
        backend.encode({}, token_type=TokenType.ACCESS)
