"""TOTP and recovery codes: pending until confirmed, the window and its skew, one use per code,
guesses limited per user, the secret encrypted at rest, codes single-use and renewed."""

from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
import time_machine

from mfa import services
from mfa.models import RecoveryCode, TotpDevice
from tests.api.test_accounts_api import sign_in, signed_up
from tests.api.test_token_api import assert_problem
from tests.conftest import bearer
from tests.mfa_helpers import STEP, code_at, code_now, enrol, mfa_token_of, sign_in_with_recovery_code, verify

pytestmark = pytest.mark.django_db

# The start of a time step, so that each offset below is a whole step away.
T0 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)


def status(client, access: str) -> dict:
    return client.get("/users/me/mfa", headers=bearer(access)).json()


def test_totp_is_pending_until_a_code_confirms_it(client):
    access = signed_up(client)["access"]
    begun = client.post("/users/me/mfa/totp", headers=bearer(access)).json()
    assert begun["otpauth_uri"].startswith("otpauth://totp/Auth%20backend:grace%40example.com?secret=")
    assert begun["secret"] in begun["otpauth_uri"]
    # The QR code comes drawn, for an <img> under the page's CSP (img-src data:).
    assert begun["qr_svg"].startswith("data:image/svg+xml;")
    assert "<svg" in unquote(begun["qr_svg"])

    # Pending: not a factor yet, the sign-in is not gated.
    assert status(client, access) == {"totp": False, "webauthn": [], "recovery_codes_left": 0}
    assert sign_in(client).status_code == 200

    confirmed = client.post(
        "/users/me/mfa/totp/confirm", json={"code": code_now(begun["secret"])}, headers=bearer(access)
    )
    assert confirmed.status_code == 200
    assert status(client, access) == {"totp": True, "webauthn": [], "recovery_codes_left": 10}
    assert mfa_token_of(sign_in(client))


def test_a_new_set_up_replaces_a_pending_one_and_a_confirmed_one_must_be_removed_first(client):
    access = signed_up(client)["access"]
    first = client.post("/users/me/mfa/totp", headers=bearer(access)).json()["secret"]
    second = client.post("/users/me/mfa/totp", headers=bearer(access)).json()["secret"]
    assert first != second
    wrong = client.post("/users/me/mfa/totp/confirm", json={"code": code_now(first)}, headers=bearer(access))
    assert_problem(wrong, 403, "mfa_code_invalid")
    ok = client.post("/users/me/mfa/totp/confirm", json={"code": code_now(second)}, headers=bearer(access))
    assert ok.status_code == 200
    assert_problem(client.post("/users/me/mfa/totp", headers=bearer(access)), 409, "totp_already_enabled")
    assert_problem(
        client.post("/users/me/mfa/totp/confirm", json={"code": code_now(second)}, headers=bearer(access)),
        404,
        "totp_not_pending",
    )


def test_the_secret_is_encrypted_at_rest(client):
    secret, _ = enrol(client, signed_up(client)["access"])
    stored = TotpDevice.objects.get().secret
    assert stored.startswith("fernet:")
    assert secret not in stored


@pytest.mark.parametrize(("offset", "accepted"), [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
def test_a_code_is_accepted_one_step_either_side_of_now(client, offset, accepted):
    with time_machine.travel(T0, tick=False):
        access = signed_up(client)["access"]
        secret = client.post("/users/me/mfa/totp", headers=bearer(access)).json()["secret"]
        code = code_at(secret, T0.timestamp() + offset * STEP)
        response = client.post("/users/me/mfa/totp/confirm", json={"code": code}, headers=bearer(access))
    assert response.status_code == (200 if accepted else 403)


def test_a_code_is_accepted_once_and_an_earlier_one_never_after_it(client):
    with time_machine.travel(T0, tick=False) as clock:
        secret, _ = enrol(client, signed_up(client)["access"])
        replay = verify(client, mfa_token_of(sign_in(client)), code_now(secret))
        assert_problem(replay, 403, "mfa_code_invalid")  # the confirmation used this step's code

        clock.shift(STEP)
        assert verify(client, mfa_token_of(sign_in(client)), code_now(secret)).status_code == 200
        assert_problem(verify(client, mfa_token_of(sign_in(client)), code_now(secret)), 403, "mfa_code_invalid")
        # The previous step's code is within the skew, but older than the last one used.
        previous = code_at(secret, T0.timestamp())
        assert_problem(verify(client, mfa_token_of(sign_in(client)), previous), 403, "mfa_code_invalid")


def test_of_two_requests_with_one_code_only_one_wins(client):
    """The conditional UPDATE on the last used step: the second sees the step already taken."""
    with time_machine.travel(T0, tick=False):
        enrol(client, signed_up(client)["access"])
        device = TotpDevice.objects.get()
        step = int(T0.timestamp()) // STEP + 1
        devices = TotpDevice.objects.filter(pk=device.pk)
        assert [services._totp_step_accept(devices, step), services._totp_step_accept(devices, step)] == [True, False]


def test_wrong_codes_are_limited_per_user_across_mfa_tokens(client, settings):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "mfa": "3/15min"}
    with time_machine.travel(T0, tick=False) as clock:
        secret, _ = enrol(client, signed_up(client)["access"])
        clock.shift(STEP)
        for _ in range(3):
            assert_problem(verify(client, mfa_token_of(sign_in(client)), "000000"), 403, "mfa_code_invalid")
        # The right code, on a fresh mfa_token: the user's budget is spent.
        limited = verify(client, mfa_token_of(sign_in(client)), code_now(secret))
        assert_problem(limited, 429, "throttled")
        clock.shift(15 * 60)
        assert verify(client, mfa_token_of(sign_in(client)), code_now(secret)).status_code == 200


def test_recovery_codes_are_ten_hashed_and_single_use(client):
    _, codes = enrol(client, signed_up(client)["access"])
    assert len(set(codes)) == 10
    assert all(len(code) == 19 and code.count("-") == 3 for code in codes)
    stored = set(RecoveryCode.objects.values_list("digest", flat=True))
    assert not stored & set(codes)

    first = sign_in_with_recovery_code(client, codes[0])
    assert first.status_code == 200
    # Typed in capitals and without dashes: the same code, and used already.
    assert_problem(sign_in_with_recovery_code(client, codes[0].upper().replace("-", "")), 403, "mfa_code_invalid")
    assert status(client, first.json()["access"])["recovery_codes_left"] == 9


def test_renewed_recovery_codes_replace_the_old_set(client):
    _, codes = enrol(client, signed_up(client)["access"])
    strong = sign_in_with_recovery_code(client, codes[0]).json()["access"]
    renewed = client.post("/users/me/mfa/recovery-codes", headers=bearer(strong))
    assert renewed.status_code == 200
    new_codes = renewed.json()["recovery_codes"]
    assert not set(new_codes) & set(codes)
    assert_problem(sign_in_with_recovery_code(client, codes[1]), 403, "mfa_code_invalid")
    assert sign_in_with_recovery_code(client, new_codes[0]).status_code == 200
