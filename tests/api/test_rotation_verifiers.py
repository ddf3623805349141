"""Key rotation as verifiers nobody here wrote see it, each from the published JWKS alone.

A live server publishes the JWKS; each verifier is long-lived and fetched it before the
rotation: PyJWT's PyJWKClient with its defaults and configured as examples/verify_elsewhere.py
does, joserfc as docs/keys.md recommends, and Node's jose (createRemoteJWKSet, its defaults and
the recommended settings) when `node` is on the machine. Hours pass in moments: the server's
clock through time_machine, PyJWT's cache clock (time.monotonic, which time_machine leaves
alone) through the same shifts, jose's Date.now in its own process set to the same time
(tests/verifiers/).
"""

import functools
import importlib.util
import json
import os
import re
import shutil
import subprocess
import time
import types
import urllib.request
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import jwt
import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from joserfc import jwt as jose_jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from core.models import User
from tokens.services import session_start

ROOT = Path(__file__).resolve().parents[2]
NODE_VERIFIER = ROOT / "tests" / "verifiers"
AUDIENCE = "auth-backend"
# Every URL here is the live server this test started.
# ruff: noqa: S310


def _load_example() -> types.ModuleType:
    spec = importlib.util.spec_from_file_location("verify_elsewhere", ROOT / "examples" / "verify_elsewhere.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


verify_elsewhere = _load_example()


class Clock:
    """The test's one clock: the server's time (time_machine) and every verifier's cache clock."""

    def __init__(self, traveller: Any) -> None:
        self.traveller = traveller
        self.offset = 0.0
        self.node_verifiers: list[NodeVerifier] = []

    def monotonic(self) -> float:
        return _real_monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.traveller.shift(timedelta(seconds=seconds))
        self.offset += seconds
        for node in self.node_verifiers:
            node.at(time.time())


_real_monotonic = time.monotonic


class Refused(Exception):
    """A verifier refused a token; `no_key` when because its `kid` was not in its copy of the set."""

    def __init__(self, reason: str, *, no_key: bool) -> None:
        super().__init__(reason)
        self.no_key = no_key


class PyJWTVerifier:
    def __init__(self, name: str, client: jwt.PyJWKClient, *, issuer: str) -> None:
        self.name, self.client, self.issuer = name, client, issuer

    def verify(self, token: str) -> str:
        try:
            return verify_elsewhere.verify(token, issuer=self.issuer, audience=AUDIENCE, jwks=self.client)["jti"]
        except jwt.PyJWKClientError as exc:
            raise Refused(str(exc), no_key="Unable to find a signing key" in str(exc)) from None
        except jwt.PyJWTError as exc:
            raise Refused(repr(exc), no_key=False) from None


class JoserfcVerifier:
    """joserfc has no JWKS client: this is the one docs/keys.md describes. The set is cached for
    the JWKS's Cache-Control max-age, fetched again after that or on an unknown `kid` (at most
    every 30 s), and each key verifies only with its own `alg`."""

    COOLDOWN = 30

    def __init__(self, jwks_uri: str, *, issuer: str) -> None:
        self.jwks_uri, self.issuer = jwks_uri, issuer
        self.key_set: KeySet | None = None
        self.fetched_at = self.expires_at = 0.0

    def _fetch(self) -> None:
        with urllib.request.urlopen(self.jwks_uri, timeout=5) as response:
            document = json.load(response)
            match = re.search(r"max-age=(\d+)", response.headers.get("Cache-Control", ""))
        self.key_set = KeySet.import_key_set(document)
        self.fetched_at = time.time()
        self.expires_at = self.fetched_at + (int(match.group(1)) if match else 0)

    def _key(self, kid: str) -> Any:
        now = time.time()
        expired = self.key_set is None or now >= self.expires_at
        unknown = self.key_set is not None and not any(key.kid == kid for key in self.key_set.keys)
        if expired or (unknown and now - self.fetched_at >= self.COOLDOWN):
            self._fetch()
        assert self.key_set is not None
        for key in self.key_set.keys:
            if key.kid == kid:
                return key
        raise Refused(f"no key {kid}", no_key=True)

    def verify(self, token: str) -> str:
        header = jwt.get_unverified_header(token)
        key = self._key(header["kid"])
        try:
            decoded = jose_jwt.decode(token, key, algorithms=[key.alg])
            if decoded.header.get("typ") != "at+jwt":
                raise Refused("not an access token", no_key=False)
            jose_jwt.JWTClaimsRegistry(
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": AUDIENCE},
                exp={"essential": True},
            ).validate(decoded.claims)
        except JoseError as exc:
            raise Refused(repr(exc), no_key=False) from None
        return decoded.claims["jti"]


class NodeVerifier:
    def __init__(self, name: str, jwks_uri: str, *, issuer: str, options: dict[str, Any]) -> None:
        self.name = name
        self.process = subprocess.Popen(
            [
                shutil.which("node") or "node",
                str(NODE_VERIFIER / "jose_verifier.mjs"),
                jwks_uri,
                issuer,
                AUDIENCE,
                json.dumps(options),
            ],
            cwd=NODE_VERIFIER,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def at(self, moment: float) -> None:
        assert self._ask({"at": moment})["ok"]

    def verify(self, token: str) -> str:
        answer = self._ask({"verify": token})
        if not answer["ok"]:
            raise Refused(answer["code"], no_key=answer["code"] == "ERR_JWKS_NO_MATCHING_KEY")
        return answer["kid"]

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


@functools.cache
def _node_available() -> str | None:
    """Why the jose verifiers cannot run here, or None. CI installs node and `npm ci` in tests/verifiers/."""
    if shutil.which("node") is None:
        return "node is not installed: the jose verifiers are skipped (CI installs Node)"
    if not (NODE_VERIFIER / "node_modules" / "jose").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            return "npm is not installed, and tests/verifiers/node_modules has no jose"
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_VERIFIER, capture_output=True, timeout=300, check=False
        )
        if result.returncode != 0:
            return f"`npm ci` in tests/verifiers failed: {result.stderr.decode()[-300:]}"
    return None


@pytest.fixture
def live_keys(settings, live_server, transactional_db):
    """A live server whose key set is the database's (ES256), and its issuer URL."""
    settings.JWT_SIGNING_KEY = ""
    settings.JWT_VERIFYING_KEY = ""
    settings.JWT_ALGORITHM = "ES256"
    settings.JWT_ISSUER = live_server.url
    return live_server.url


@pytest.fixture
def clock(monkeypatch):
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        clock = Clock(traveller)
        # PyJWT's caches read time.monotonic through their modules' `time`.
        fake_time = types.SimpleNamespace(monotonic=clock.monotonic)
        monkeypatch.setattr("jwt.jwks_client.time", fake_time)
        monkeypatch.setattr("jwt.jwk_set_cache.time", fake_time)
        yield clock
        for node in clock.node_verifiers:
            node.close()


def verifiers(issuer: str, clock: Clock) -> dict[str, Any]:
    jwks_uri = f"{issuer}/.well-known/jwks.json"
    found: dict[str, Any] = {
        "PyJWKClient (defaults)": PyJWTVerifier("defaults", jwt.PyJWKClient(jwks_uri), issuer=issuer),
        "PyJWKClient (examples/verify_elsewhere.py)": PyJWTVerifier(
            "recommended", verify_elsewhere.jwks_client(jwks_uri), issuer=issuer
        ),
        "joserfc (docs/keys.md)": JoserfcVerifier(jwks_uri, issuer=issuer),
    }
    reason = _node_available()
    if reason is None:
        for name, options in (
            ("jose (defaults)", {}),
            ("jose (docs/keys.md)", {"cacheMaxAge": 300_000, "cooldownDuration": 30_000}),
        ):
            node = NodeVerifier(name, jwks_uri, issuer=issuer, options=options)
            node.at(time.time())
            clock.node_verifiers.append(node)
            found[name] = node
    # Otherwise the Python verifiers run alone; test_node_and_jose_are_here says why, as a skip.
    return found


def rotate(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("rotate_signing_key", *args, stdout=out)
    return json.loads(out.getvalue())


def kid_of(token: str) -> str:
    return jwt.get_unverified_header(token)["kid"]


@pytest.mark.parametrize(("before", "after"), [("ES256", "RS256"), ("RS256", "EdDSA"), ("EdDSA", "ES256")])
def test_no_verifier_rejects_a_valid_token_across_a_publish_ahead_rotation_and_a_retirement(
    live_keys, clock, before, after
):
    user = User.objects.create_user(email="ada@example.com")
    first = rotate("--algorithm", before)
    all_verifiers = verifiers(live_keys, clock)
    tokens: list[tuple[float, str]] = []  # (issued at, in seconds from the start; the access token)

    def issue_and_verify_all(elapsed: float) -> None:
        tokens.append((elapsed, session_start(user=user).access))
        valid = [token for issued, token in tokens if elapsed - issued < 900 - 5]
        # The one just issued, the oldest still valid and one between, by every verifier.
        for token in {valid[-1], valid[0], valid[len(valid) // 2]}:
            for name, verifier in all_verifiers.items():
                try:
                    verifier.verify(token)
                except Refused as exc:
                    pytest.fail(f"{name} refused a valid token at +{elapsed:.0f}s: {exc}")

    elapsed = 0.0
    issue_and_verify_all(elapsed)  # every verifier fetches the set: only the first key
    # The rotation comes just after the verifiers with a 5-minute cache fetched the set again:
    # the moment a key signing at once would meet their 30-second refetch cooldown.
    clock.advance(301)
    elapsed += 301
    issue_and_verify_all(elapsed)
    rotated_at = elapsed
    second = rotate("--algorithm", after)
    signs_from = datetime.fromisoformat(second["signs_from"])
    (retired,) = second["retired"]
    published_until = datetime.fromisoformat(retired["published_until"])
    start = timezone.now() - timedelta(seconds=elapsed)
    end = (published_until - start).total_seconds() + 600
    # Every two minutes; densely after the rotation, the new key's first signature and the old
    # key leaving the set, and on either side of each.
    moments = {float(s) for s in range(int(rotated_at) + 120, int(end), 120)}
    for offset in (rotated_at, (signs_from - start).total_seconds(), (published_until - start).total_seconds()):
        moments |= {offset - 1, offset + 1} | {offset + 5 * step for step in range(25)}
    last_of_first_key = None
    for moment in sorted(m for m in moments if m > rotated_at):
        clock.advance(moment - elapsed)
        elapsed = moment
        issue_and_verify_all(elapsed)
        if kid_of(tokens[-1][1]) == first["kid"]:
            last_of_first_key = tokens[-1][1]
    assert kid_of(tokens[-1][1]) == second["kid"]
    assert jwt.get_unverified_header(tokens[-1][1])["alg"] == after
    assert last_of_first_key is not None

    # The first key has left the set: once each verifier's cache has let it go (at most 10 minutes,
    # jose's default), its tokens are refused for their key, not only for their age.
    clock.advance(600)
    for name, verifier in all_verifiers.items():
        with pytest.raises(Refused) as refused:
            verifier.verify(last_of_first_key)
        assert refused.value.no_key, f"{name}: {refused.value}"


def test_an_emergency_rotation_drops_the_old_key_from_the_recommended_verifiers_within_the_max_age(live_keys, clock):
    user = User.objects.create_user(email="ada@example.com")
    rotate()
    all_verifiers = verifiers(live_keys, clock)
    leaked = session_start(user=user).access
    for verifier in all_verifiers.values():
        verifier.verify(leaked)
    rotate("--now", "--retire-after", "0")  # say the key leaked
    fresh = session_start(user=user).access
    assert kid_of(fresh) != kid_of(leaked)
    clock.advance(301)  # the JWKS's max-age, and past PyJWT's 30 s cooldown
    for name, verifier in all_verifiers.items():
        if "recommended" in name or "docs/keys.md" in name or "verify_elsewhere" in name:
            with pytest.raises(Refused) as refused:
                verifier.verify(leaked)
            assert refused.value.no_key, f"{name}: {refused.value}"
        verifier.verify(fresh)


def test_node_and_jose_are_here_for_the_jose_verifiers():
    """The tests above include Node's jose when it can run; this says when it could not."""
    reason = _node_available()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(reason)  # CI installs Node (.ci/run): a missing one is a broken machine, not a skip
        pytest.skip(reason)
