"""Verify an access token of the auth API as another service would: from its published keys alone.

It imports nothing of the project: only the standard library and PyJWT (`pip install "PyJWT[crypto]"`).
From the issuer's RFC 8414 metadata it takes `jwks_uri`, fetches the public keys with PyJWT's
PyJWKClient, picks the key by the token's `kid`, and checks the signature with that key's own
algorithm, then `iss`, `aud`, `exp` and the access-token type (RFC 9068 `typ: at+jwt`).

The client is configured as docs/keys.md recommends for a long-lived service (`jwks_client`):
the key set cached for the JWKS's max-age, so a new key (published an hour before it signs) is
fetched long before a token names it and a removed key is dropped within that time; never
`cache_keys=True`, whose per-`kid` cache has no expiry and would keep a removed key forever.

    python examples/verify_elsewhere.py --issuer https://auth.example.com --audience auth-backend TOKEN

Prints the claims as JSON and exits 0, or prints why the token is refused and exits 1.
"""

import argparse
import json
import sys
import urllib.request

import jwt

ACCESS_TOKEN_TYPES = {"at+jwt", "application/at+jwt"}
# The JWKS's Cache-Control max-age (the API's JWT_JWKS_MAX_AGE): PyJWKClient does not read the header.
JWKS_CACHE_SECONDS = 300


def jwks_client(jwks_uri: str) -> jwt.PyJWKClient:
    """The key set, cached for JWKS_CACHE_SECONDS, fetched again then or on an unknown `kid`
    (at most every 30 s, PyJWT's cooldown)."""
    return jwt.PyJWKClient(jwks_uri, cache_keys=False, cache_jwk_set=True, lifespan=JWKS_CACHE_SECONDS, timeout=5)


def authorization_server_metadata(issuer: str) -> dict:
    url = issuer.rstrip("/") + "/.well-known/oauth-authorization-server"
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (the operator's own issuer URL)
        metadata = json.load(response)
    if metadata.get("issuer") != issuer:  # RFC 8414 §3.3
        raise jwt.InvalidIssuerError(f"the metadata names issuer {metadata.get('issuer')!r}, not {issuer!r}")
    return metadata


def verify(token: str, *, issuer: str, audience: str, jwks: jwt.PyJWKClient) -> dict:
    signing_key = jwks.get_signing_key_from_jwt(token)  # by `kid`
    if jwt.get_unverified_header(token).get("typ") not in ACCESS_TOKEN_TYPES:
        raise jwt.InvalidTokenError("not an access token")
    return jwt.decode(
        token,
        signing_key,
        # The published key's algorithm, never the token's own `alg`.
        algorithms=[signing_key.algorithm_name],
        issuer=issuer,
        audience=audience,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--issuer", required=True, help="the API's JWT_ISSUER, e.g. https://auth.example.com")
    parser.add_argument("--audience", required=True, help="the API's JWT_AUDIENCE")
    parser.add_argument("token", help="an access token")
    args = parser.parse_args()
    try:
        metadata = authorization_server_metadata(args.issuer)
        jwks = jwks_client(metadata["jwks_uri"])
        claims = verify(args.token, issuer=args.issuer, audience=args.audience, jwks=jwks)
    except (jwt.PyJWTError, OSError, ValueError) as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(claims))
    return 0


if __name__ == "__main__":
    sys.exit(main())
