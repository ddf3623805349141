"""Private signing keys encrypted at rest under JWT_KEY_ENCRYPTION_KEYS (tokens/kek.py)."""

import importlib
import json
from io import StringIO

import jwt
import pytest
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from django.apps import apps
from django.contrib.admin.utils import quote
from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.db import connection

from tests.conftest import bearer
from tests.forge import claims_of
from tokens import kek, keys
from tokens.models import SigningKey
from tokens.services import session_start

KEK_A, KEK_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()


@pytest.fixture
def database_keys(settings, db):
    settings.JWT_SIGNING_KEY = ""
    settings.JWT_VERIFYING_KEY = ""
    settings.JWT_KEY_ENCRYPTION_KEYS = [KEK_A]
    return settings


def rotate(*args: str) -> dict:
    out = StringIO()
    call_command("rotate_signing_key", *args, stdout=out)
    return json.loads(out.getvalue())


def forget_parsed_keys() -> None:
    """What a new process knows: nothing decrypted yet."""
    keys._parsed_rows.clear()
    keys.key_set_forget()


def dumped_private_keys() -> list[str]:
    """The column as a database dump or a read-only SQL injection has it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key FROM tokens_signingkey")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.parametrize("algorithm", ["ES256", "RS256", "EdDSA", "HS256"])
def test_a_key_round_trips_encrypted_and_signs_tokens_that_verify(client, user, database_keys, algorithm):
    database_keys.JWT_ALGORITHM = algorithm
    rotate()
    (stored,) = dumped_private_keys()
    assert stored.startswith("fernet:")
    assert "PRIVATE KEY" not in stored
    forget_parsed_keys()
    pair = session_start(user=user)
    assert jwt.get_unverified_header(pair.access)["alg"] == algorithm
    assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200


@pytest.mark.parametrize("algorithm", ["ES256", "HS256"])
def test_a_stolen_dump_of_the_column_forges_no_token(client, user, database_keys, algorithm):
    database_keys.JWT_ALGORITHM = algorithm
    rotate()
    pair = session_start(user=user)
    kid = jwt.get_unverified_header(pair.access)["kid"]
    (stored,) = dumped_private_keys()
    # Not a private key in any form a thief could load...
    for candidate in (stored, stored.removeprefix("fernet:")):
        with pytest.raises((ValueError, TypeError)):
            serialization.load_pem_private_key(candidate.encode(), password=None)
    # ...and used as an HMAC secret, as an HS256 key is stored unencrypted, it signs nothing the API takes.
    claims = {**claims_of(pair.access), "sub": str(user.pk)}
    for candidate in (stored, stored.removeprefix("fernet:")):
        forged = jwt.encode(claims, candidate, algorithm="HS256", headers={"typ": "at+jwt", "kid": kid})
        response = client.get("/auth/whoami", headers=bearer(forged))
        assert (response.status_code, response.json()["code"]) == (401, "token_invalid")


def test_the_key_encryption_key_rotates_without_logging_anyone_out(client, user, database_keys):
    database_keys.JWT_ALGORITHM = "ES256"
    rotate()
    pair = session_start(user=user)
    (before,) = dumped_private_keys()
    database_keys.JWT_KEY_ENCRYPTION_KEYS = [KEK_B, KEK_A]  # the new key first, the old still opens
    out = StringIO()
    call_command("reencrypt_signing_keys", stdout=out)
    assert "Re-encrypted 1 signing key(s)" in out.getvalue()
    (after,) = dumped_private_keys()
    assert after != before
    database_keys.JWT_KEY_ENCRYPTION_KEYS = [KEK_B]  # the old KEK is gone
    forget_parsed_keys()
    assert client.get("/auth/whoami", headers=bearer(pair.access)).status_code == 200
    assert client.post("/auth/token/refresh", json={"refresh": pair.refresh}).status_code == 200
    # And the old KEK alone no longer opens the rows.
    database_keys.JWT_KEY_ENCRYPTION_KEYS = [KEK_A]
    with pytest.raises(Exception, match="not encrypted under any of JWT_KEY_ENCRYPTION_KEYS"):
        kek.private_key_open(after)


def test_with_debug_off_no_key_is_made_without_a_key_encryption_key(database_keys):
    database_keys.JWT_KEY_ENCRYPTION_KEYS = []
    with pytest.raises(CommandError, match="JWT_KEY_ENCRYPTION_KEYS is empty"):
        rotate()
    assert not SigningKey.objects.exists()


def test_with_debug_off_the_server_refuses_to_start_without_a_key_encryption_key(database_keys):
    rotate()
    database_keys.JWT_KEY_ENCRYPTION_KEYS = []
    with pytest.raises(SystemCheckError, match=r"tokens\.E012"):
        call_command("check", databases=["default"])


def test_with_debug_off_the_server_refuses_plaintext_keys_until_they_are_encrypted(database_keys):
    database_keys.DEBUG = True
    database_keys.JWT_KEY_ENCRYPTION_KEYS = []
    rotate()  # `make run`: debug on, no KEK, the key stays plaintext
    assert not kek.is_sealed(dumped_private_keys()[0])
    database_keys.DEBUG = False
    database_keys.JWT_KEY_ENCRYPTION_KEYS = [KEK_A]
    with pytest.raises(SystemCheckError, match=r"tokens\.E013"):
        call_command("check", databases=["default"])
    call_command("reencrypt_signing_keys", stdout=StringIO())
    call_command("check", databases=["default"])
    assert kek.is_sealed(dumped_private_keys()[0])


def test_a_malformed_key_encryption_key_stops_the_start(settings):
    settings.JWT_KEY_ENCRYPTION_KEYS = ["not-a-fernet-key"]
    with pytest.raises(SystemCheckError, match=r"tokens\.E012") as error:
        call_command("check")
    assert "not-a-fernet-key" not in str(error.value)


def test_the_migration_encrypts_the_keys_already_stored(user, database_keys):
    database_keys.JWT_ALGORITHM = "ES256"
    database_keys.DEBUG = True
    database_keys.JWT_KEY_ENCRYPTION_KEYS = []
    rotate()
    pair = session_start(user=user)
    assert not kek.is_sealed(dumped_private_keys()[0])
    database_keys.DEBUG = False
    database_keys.JWT_KEY_ENCRYPTION_KEYS = [KEK_A]
    migration = importlib.import_module("tokens.migrations.0006_signing_key_schedule_encryption")
    migration.schedule_and_encrypt(apps, None)
    (stored,) = dumped_private_keys()
    assert kek.is_sealed(stored)
    forget_parsed_keys()
    assert keys.verifying_key(jwt.get_unverified_header(pair.access)["kid"]) is not None


def test_the_admin_lists_keys_without_decrypting_them(admin_client, database_keys):
    rotate()
    database_keys.JWT_KEY_ENCRYPTION_KEYS = []  # nothing could decrypt: the admin does not try
    assert admin_client.get("/admin/tokens/signingkey/").status_code == 200
    kid = SigningKey.objects.get().kid
    # The admin's own quoting: a kid is base64url, and "_3F" in one would otherwise read as "?".
    assert admin_client.get(f"/admin/tokens/signingkey/{quote(kid)}/change/").status_code == 200
