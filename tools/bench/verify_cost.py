"""The in-process cost of verifying one access token: the project's own code next to a bare `jwt.decode`.

Run by run.py (beside this file) once per algorithm, with that algorithm's key in the environment
(JWT_ALGORITHM, JWT_SIGNING_KEY). Both sides verify the same token with the same key object
in alternating rounds; the project's side is `tokens.backend.decode`, the first verification
of a token (what a worker does before its claims cache knows it): header and `kid`, the key
from the in-memory set, PyJWT's decode with the key's pinned algorithm, then `typ` and
`token_type`. The bare side gives PyJWT the project's own terms (`tokens.backend.pyjwt_decode_options`).
Times are this process's CPU time per call. Prints one JSON object.
"""

import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

import jwt  # noqa: E402

from tokens import backend, keys  # noqa: E402
from tokens.backend import TokenType  # noqa: E402
from tokens.conf import token_settings  # noqa: E402


def per_call_us(function, calls: int) -> float:
    """This process's CPU time per call: other processes on the machine do not count."""
    started = time.process_time()
    for _ in range(calls):
        function()
    return (time.process_time() - started) / calls * 1e6


def main() -> None:
    rounds, calls = int(sys.argv[1]), int(sys.argv[2])
    conf = token_settings()
    now = int(time.time())
    claims = {"iss": conf.issuer, "aud": conf.audience, "sub": "1", "sid": str(uuid.uuid4())}
    token = backend.encode(
        {**claims, "iat": now, "exp": now + 3600, "jti": uuid.uuid4().hex}, token_type=TokenType.ACCESS
    )
    key = keys.key_set().signing_key()
    assert key is not None

    def project() -> None:
        backend.decode(token, token_type=TokenType.ACCESS)

    def bare() -> None:
        jwt.decode(token, key.verifying, **backend.pyjwt_decode_options(key))

    project(), bare()  # warm-up: imports, the key set's first read
    project_us, bare_us = [], []
    for _ in range(rounds):
        project_us.append(per_call_us(project, calls))
        bare_us.append(per_call_us(bare, calls))
    ratios = [p / b for p, b in zip(project_us, bare_us, strict=True)]
    print(
        json.dumps(
            {
                "algorithm": key.algorithm,
                "project_us": round(statistics.median(project_us), 1),
                "bare_jwt_decode_us": round(statistics.median(bare_us), 1),
                "ratio": round(statistics.median(ratios), 3),
                "ratio_min": round(min(ratios), 3),
                "ratio_max": round(max(ratios), 3),
            }
        )
    )


if __name__ == "__main__":
    main()
