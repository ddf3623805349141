"""The one client-IP rule (core.clients) and the start-up checks of the throttle settings."""

import pytest
from django.core.checks import run_checks
from django.test import RequestFactory

from core.clients import client_ip

PEER = "10.0.0.2"


def request_from(forwarded: str | None = None, *, remote_addr: str = PEER):
    meta = {"REMOTE_ADDR": remote_addr}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_without_proxies_the_peer_is_the_client_whatever_x_forwarded_for_says(settings):
    settings.API_NUM_PROXIES = 0
    assert client_ip(request_from("203.0.113.7")) == PEER


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (1, "203.0.113.7", "203.0.113.7"),
        # The client wrote the left part; our proxy appended the address it saw.
        (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),
        (1, "2001:db8::1", "2001:db8::1"),
        # Two proxies: the second appended the first's address, the first the client's.
        (2, "198.51.100.1, 203.0.113.7, 10.0.0.1", "203.0.113.7"),
    ],
)
def test_behind_proxies_the_right_most_untrusted_address_is_the_client(settings, proxies, forwarded, expected):
    settings.API_NUM_PROXIES = proxies
    assert client_ip(request_from(forwarded)) == expected


@pytest.mark.parametrize("forwarded", [None, "", "not-an-address", "203.0.113.7, unknown"])
def test_behind_a_proxy_a_missing_or_malformed_entry_falls_back_to_the_peer(settings, forwarded):
    settings.API_NUM_PROXIES = 1
    assert client_ip(request_from(forwarded)) == PEER


def test_a_chain_shorter_than_the_proxies_vouches_for_nothing(settings):
    settings.API_NUM_PROXIES = 2
    assert client_ip(request_from("203.0.113.7")) == PEER


def check_ids() -> set[str]:
    return {message.id for message in run_checks()}


@pytest.mark.parametrize("rate", ["sixty", "60/fortnight", "60/", "-1/min", "5/0s"])
def test_a_throttle_rate_that_is_not_a_rate_fails_the_checks(settings, rate):
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "session": rate}
    assert "core.E002" in check_ids()


def test_the_default_throttle_settings_pass_the_checks():
    assert not {"core.E002", "core.E003"} & check_ids()


def test_a_negative_number_of_proxies_fails_the_checks(settings):
    settings.API_NUM_PROXIES = -1
    assert "core.E003" in check_ids()


def test_ninjas_own_throttles_ignore_x_forwarded_for_as_well():
    from ninja.throttling import AnonRateThrottle

    assert AnonRateThrottle("10/min").get_ident(request_from("203.0.113.7")) == PEER
