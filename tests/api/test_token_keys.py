"""The signing key set through the real API: every algorithm, rotation, the JWKS, and attacks.

Keys come from the database (`rotate_signing_key`), as in a fleet; tests of the environment's
static key say so. PyJWT and joserfc stand for the outside world here (another service, an
attacker, an independent RFC 7638 implementation), never for the project.
"""

import base64
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from io import StringIO

import jwt
import pytest
import time_machine
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.contrib.admin.utils import quote
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from joserfc.jwk import import_key

from tests.conftest import bearer
from tests.forge import claims_of, header_of, hmac_signed, pem_pair, unsigned
from tokens import kek, keys
from tokens.models import SigningKey, SigningKeyState
from tokens.services import session_start

ALGORITHMS = ["HS256", "RS256", "ES256", "EdDSA"]
ASYMMETRIC = ["RS256", "ES256", "EdDSA"]
KEY_TYPES = {"RS256": "RSA", "ES256": "EC", "EdDSA": "OKP"}


def rotate(*args: str) -> dict:
    out = StringIO()
    call_command("rotate_signing_key", *args, stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


@pytest.fixture
def database_keys(settings, db):
    """No key in the environment: the database's key set signs and verifies."""
    settings.JWT_SIGNING_KEY = ""
    settings.JWT_VERIFYING_KEY = ""
    return settings


@pytest.fixture(params=ALGORITHMS)
def algorithm(request, database_keys) -> str:
    database_keys.JWT_ALGORITHM = request.param
    rotate()
    return request.param


@pytest.fixture(params=ASYMMETRIC)
def asymmetric(request, database_keys) -> str:
    database_keys.JWT_ALGORITHM = request.param
    rotate()
    return request.param


def jwks() -> dict:
    response = Client().get("/.well-known/jwks.json")
    assert response.status_code == 200
    return response.json()


def refused(client, token: str) -> None:
    response = client.get("/auth/whoami", headers=bearer(token))
    assert response.status_code == 401, response.json()
    assert response.json()["code"] == "token_invalid"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- every algorithm ------------------------------------------------------------------


def test_each_algorithm_signs_in_refreshes_and_verifies_with_kid_in_the_header(client, user, algorithm):
    pair = session_start(user=user)
    current = SigningKey.objects.get(state=SigningKeyState.CURRENT)
    for token in (pair.access, pair.refresh):
        assert header_of(token)["alg"] == algorithm
        assert header_of(token)["kid"] == current.kid
    assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200
    refreshed = client.post("/auth/token/refresh", json={"refresh": pair.refresh})
    assert refreshed.status_code == 200
    verified = client.post("/auth/token/verify", json={"token": refreshed.json()["access"]})
    assert verified.status_code == 200
    assert verified.json()["sub"] == str(user.pk)


def private_key_of(row: SigningKey) -> str:
    return kek.private_key_open(row.private_key)


def test_kid_is_the_rfc7638_thumbprint_of_the_public_key_or_of_the_hmac_key(algorithm):
    row = SigningKey.objects.get()
    private_key = private_key_of(row)
    if algorithm == "HS256":
        secret = base64.urlsafe_b64decode(private_key + "=" * (-len(private_key) % 4))
        reference = import_key({"kty": "oct", "k": _b64(secret)}).thumbprint()
    else:
        reference = import_key(private_key, KEY_TYPES[algorithm]).thumbprint()
    assert row.kid == reference
    assert private_key not in row.kid


def test_jwks_publishes_the_public_key_that_verifies_the_tokens(user, asymmetric):
    pair = session_start(user=user)
    (published,) = jwks()["keys"]
    assert published["kid"] == header_of(pair.access)["kid"]
    assert published["alg"] == asymmetric
    assert not {"d", "p", "q", "dp", "dq", "qi"} & published.keys()  # no private member
    key = jwt.PyJWK(published)
    claims = jwt.decode(pair.access, key, algorithms=[asymmetric], audience="auth-backend")
    assert claims["sub"] == str(user.pk)


def test_jwks_is_empty_with_hmac_and_cached_for_less_than_the_publish_ahead(database_keys):
    database_keys.JWT_ALGORITHM = "HS256"
    rotate()
    response = Client().get("/.well-known/jwks.json")
    assert response.json() == {"keys": []}
    assert response["Cache-Control"] == "public, max-age=300"
    assert database_keys.JWT_KEY_ACTIVATION_DELAY > 300


def test_authorization_server_metadata_names_the_issuer_and_the_jwks(settings, db):
    settings.JWT_ISSUER = "https://auth.example.com"
    metadata = Client().get("/.well-known/oauth-authorization-server").json()
    assert metadata["issuer"] == "https://auth.example.com"
    assert metadata["jwks_uri"] == "https://auth.example.com/.well-known/jwks.json"
    assert metadata["token_endpoint"] == "https://auth.example.com/api/auth/token/refresh"
    assert metadata["revocation_endpoint"] == "https://auth.example.com/api/auth/revoke"
    assert metadata["introspection_endpoint"] == "https://auth.example.com/api/auth/introspect"
    assert metadata["introspection_endpoint_auth_methods_supported"] == ["client_secret_basic"]
    assert metadata["grant_types_supported"] == ["refresh_token"]
    AuthorizationServerMetadata(metadata).validate()  # a strict validator: raises on any fault


# --- rotation ------------------------------------------------------------------------


def test_rotation_publishes_the_new_key_at_once_and_signs_with_it_after_the_delay(client, user, database_keys):
    database_keys.JWT_ALGORITHM = "ES256"
    first = rotate()
    assert first["signs_from"] == first["created_at"]  # nothing signed before it: no one to warn
    before = session_start(user=user)
    second = rotate("--algorithm", "EdDSA")
    signs_from = timezone.datetime.fromisoformat(second["signs_from"])
    assert signs_from - timezone.datetime.fromisoformat(second["created_at"]) == timedelta(hours=1)
    assert second["retired"][0]["kid"] == first["kid"]
    assert second["retired"][0]["signs_until"] == second["signs_from"]
    assert {key["kid"] for key in jwks()["keys"]} == {first["kid"], second["kid"]}
    waiting = session_start(user=user)
    assert header_of(waiting.access)["kid"] == first["kid"]  # published, not signing yet
    with time_machine.travel(signs_from, tick=False):
        after = session_start(user=user)
        assert header_of(after.access)["kid"] == second["kid"]
        assert header_of(after.access)["alg"] == "EdDSA"
        assert client.get("/auth/whoami", headers=bearer(after.access)).status_code == 200
        assert client.post("/auth/token/refresh", json={"refresh": before.refresh}).status_code == 200


def test_a_retired_key_leaves_the_jwks_after_its_last_access_token_plus_the_delay(user, database_keys):
    database_keys.JWT_ALGORITHM = "ES256"
    first = rotate()
    retired = rotate()["retired"][0]
    signs_until = timezone.datetime.fromisoformat(retired["signs_until"])
    published_until = timezone.datetime.fromisoformat(retired["published_until"])
    # The last token it signed (at signs_until) expires JWT_ACCESS_TTL later; verifiers may cache
    # the set for up to the delay after that.
    assert published_until - signs_until == timedelta(seconds=900 + 30 + 3600)
    with time_machine.travel(published_until - timedelta(seconds=1), tick=False):
        assert first["kid"] in {key["kid"] for key in jwks()["keys"]}
    with time_machine.travel(published_until, tick=False):
        assert first["kid"] not in {key["kid"] for key in jwks()["keys"]}
        # Refresh tokens, which only this API verifies, still verify with it.
        assert keys.verifying_key(first["kid"]) is not None


def test_default_retirement_outlives_every_token_the_old_key_signed(database_keys):
    rotate()
    retired = rotate()["retired"][0]
    verifies_until = timezone.datetime.fromisoformat(retired["verifies_until"])
    assert verifies_until - timezone.now() >= timedelta(seconds=database_keys.JWT_REFRESH_TTL)


def test_a_retired_key_stops_verifying_at_its_end_and_flush_deletes_it(client, user, database_keys):
    rotate()
    before = session_start(user=user)
    retired = rotate("--retire-after", "60")["retired"][0]
    later = timezone.datetime.fromisoformat(retired["signs_until"]) + timedelta(seconds=61)
    with time_machine.travel(later, tick=False):
        refused(client, before.access)
        assert client.post("/auth/token/refresh", json={"refresh": before.refresh}).json()["code"] == "token_invalid"
        out = StringIO()
        call_command("flush_expired_tokens", stdout=out)
    assert "1 expired signing key(s)" in out.getvalue()
    assert SigningKey.objects.count() == 1
    assert len(jwks()["keys"]) == 0  # HS256: nothing published, and the retired key is gone


def test_a_deleted_key_stops_its_tokens_even_those_verified_before(client, user, database_keys):
    database_keys.JWT_ALGORITHM = "ES256"
    rotate()
    before = session_start(user=user)
    assert client.get("/auth/whoami", headers=bearer(before.access)).status_code == 200
    rotate("--now", "--retire-after", "0")  # say the old key leaked: it goes at once
    refused(client, before.access)


def test_a_refresh_token_is_not_an_access_token_after_rotation(client, user, asymmetric):
    before = session_start(user=user)
    rotate()
    refused(client, before.refresh)


# --- zero queries ----------------------------------------------------------------------


def test_whoami_makes_no_query_with_database_keys(client, user, algorithm, django_assert_num_queries):
    pair = session_start(user=user)
    with django_assert_num_queries(0):
        assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200


def test_made_up_kids_cost_at_most_one_query_a_second(client, user, database_keys, django_assert_num_queries):
    rotate()
    with time_machine.travel(timezone.now(), tick=False) as clock:
        pair = session_start(user=user)
        forged = [_forge_kid(pair.access, _b64(bytes([n]) * 32)) for n in range(20)]
        with django_assert_num_queries(0):
            for token in forged:
                refused(client, token)
        clock.shift(timedelta(seconds=2))
        with django_assert_num_queries(1):
            for token in forged:
                refused(client, token)


def _forge_kid(token: str, kid: str) -> str:
    _head, body, signature = token.split(".")
    header = {**header_of(token), "kid": kid}
    return f"{_b64(json.dumps(header).encode())}.{body}.{signature}"


# --- attacks: each refused with 401 token_invalid ----------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_alg_none_in_any_capitalisation_is_refused(client, pair, alg):
    refused(client, unsigned(pair.access, alg=alg))


def test_hs256_keyed_with_the_public_key_pem_or_jwk_is_refused(client, user, asymmetric):
    pair = session_start(user=user)
    row = SigningKey.objects.get()
    public = import_key(private_key_of(row), KEY_TYPES[asymmetric])
    pem = public.as_pem(private=False)
    jwk_json = json.dumps(public.as_dict(private=False)).encode()
    for secret in (pem, pem.strip(), jwk_json):
        refused(client, hmac_signed(pair.access, secret))


@pytest.mark.parametrize(
    "kid",
    [
        "../../../../etc/passwd",
        "../" * 14 + "a",
        "' OR '1'='1' --",
        "x'; DROP TABLE tokens_signingkey; --",
        "https://127.0.0.1:1/keys.json",
        "A" * 10_240,
    ],
)
def test_hostile_kids_are_refused_without_a_lookup(client, user, database_keys, kid, django_assert_num_queries):
    rotate()
    pair = session_start(user=user)
    with django_assert_num_queries(0):
        refused(client, _forge_kid(pair.access, kid))
    assert SigningKey.objects.count() == 1


def test_a_token_without_kid_is_refused(client, pair):
    _head, body, signature = pair.access.split(".")
    header = {name: value for name, value in header_of(pair.access).items() if name != "kid"}
    refused(client, f"{_b64(json.dumps(header).encode())}.{body}.{signature}")


class _KeyServer(HTTPServer):
    """A loopback server an attacker would point `jku` or `x5u` at; counts what it is asked."""

    def __init__(self, body: bytes):
        self.body, self.requests = body, 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests += 1
                self.send_response(200)
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@pytest.fixture
def attacker_key():
    return ec.generate_private_key(ec.SECP256R1())


def _attacker_jwk(private) -> dict:
    return json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))


def _attacker_token(pair, private, **headers) -> str:
    jwk = _attacker_jwk(private)
    kid = import_key(jwk, "EC").thumbprint()
    return jwt.encode(
        claims_of(pair.access), private, algorithm="ES256", headers={"typ": "at+jwt", "kid": kid, **headers}
    )


@pytest.mark.parametrize("header", ["jku", "x5u"])
def test_jku_and_x5u_are_never_followed(client, user, asymmetric, attacker_key, header):
    pair = session_start(user=user)
    server = _KeyServer(json.dumps({"keys": [_attacker_jwk(attacker_key)]}).encode())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        refused(client, _attacker_token(pair, attacker_key, **{header: f"{server.url}/keys"}))
        # Even with our own kid, a key source header is refused outright.
        our_kid = header_of(pair.access)["kid"]
        refused(client, _attacker_token(pair, attacker_key, **{header: f"{server.url}/keys", "kid": our_kid}))
    finally:
        server.shutdown()
        server.server_close()
    assert server.requests == 0


def test_an_embedded_jwk_of_the_attackers_key_is_refused(client, user, asymmetric, attacker_key):
    pair = session_start(user=user)
    refused(client, _attacker_token(pair, attacker_key, jwk=_attacker_jwk(attacker_key)))


def test_a_token_signed_by_a_key_not_in_the_set_is_refused(client, user, asymmetric, attacker_key):
    pair = session_start(user=user)
    refused(client, _attacker_token(pair, attacker_key))
    # Nor with our kid and the attacker's signature.
    refused(client, _attacker_token(pair, attacker_key, kid=header_of(pair.access)["kid"]))


def test_an_es256_signature_in_der_form_is_refused(client, user, database_keys):
    database_keys.JWT_ALGORITHM = "ES256"
    rotate()
    pair = session_start(user=user)
    head, body, signature = pair.access.split(".")
    raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    refused(client, f"{head}.{body}.{_b64(der)}")


# --- the environment's keys: unchanged, and a deployment that only verifies ----------------


def test_a_deployment_with_only_the_public_key_verifies_and_refuses_to_sign(client, user, settings):
    private_pem, public_pem = pem_pair(ed25519.Ed25519PrivateKey.generate())
    settings.JWT_ALGORITHM = "EdDSA"
    settings.JWT_SIGNING_KEY = private_pem
    pair = session_start(user=user)
    settings.JWT_SIGNING_KEY = ""
    settings.JWT_VERIFYING_KEY = public_pem
    assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200
    response = client.post("/auth/token/refresh", json={"refresh": pair.refresh})
    assert response.status_code == 503
    assert response.json()["code"] == "signing_key_missing"


def test_the_environments_key_keeps_verifying_after_the_first_rotation(client, user, settings):
    pair = session_start(user=user)  # JWT_SIGNING_KEY from the tests' environment
    rotation = rotate()
    assert header_of(session_start(user=user).access)["kid"] == header_of(pair.access)["kid"]  # until it signs
    with time_machine.travel(timezone.datetime.fromisoformat(rotation["signs_from"]), tick=False):
        after = session_start(user=user)
        assert header_of(after.access)["kid"] != header_of(pair.access)["kid"]
        assert client.post("/auth/token/refresh", json={"refresh": pair.refresh}).status_code == 200
        assert client.get("/auth/whoami", headers=bearer(after.access)).status_code == 200


@pytest.mark.parametrize(
    "header",
    [b"[]", b"not json", b'{"typ": [], "alg": "HS256"}', b'{"kid": 7, "alg": "HS256"}', b"\xff\xfe"],
)
def test_a_header_that_is_not_a_json_object_with_strings_is_token_invalid(client, pair, header):
    _head, body, signature = pair.access.split(".")
    refused(client, f"{_b64(header)}.{body}.{signature}")
    response = client.post("/auth/token/verify", json={"token": f"{_b64(header)}.{body}.{signature}"})
    assert (response.status_code, response.json()["code"]) == (401, "token_invalid")


def test_the_admin_shows_each_keys_metadata_never_its_private_half(admin_client, database_keys):
    database_keys.JWT_ALGORITHM = "ES256"
    rotate()
    row = SigningKey.objects.get()
    listing = admin_client.get("/admin/tokens/signingkey/").content.decode()
    detail = admin_client.get(f"/admin/tokens/signingkey/{quote(row.kid)}/change/").content.decode()
    for page in (listing, detail):
        assert row.kid in page
        assert "ES256" in page
        assert "PRIVATE KEY" not in page
        assert private_key_of(row).splitlines()[1] not in page
        assert row.private_key not in page  # nor the ciphertext
    assert admin_client.get("/admin/tokens/signingkey/add/").status_code == 403
