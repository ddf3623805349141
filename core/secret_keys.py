"""Refusals at settings load: keys that no server may run with, whoever starts it.

System checks run only where a command asks for them (runserver, migrate, the project's
gunicorn config); a server started another way (uWSGI, an ASGI server, another gunicorn
config, `--skip-checks`) would otherwise serve with the development key printed in
config/settings.py, and anyone could forge a token. So with debug off, config/settings.py
calls `refuse_unsafe_keys` and the process cannot even load its settings.
"""

from django.core.exceptions import ImproperlyConfigured

# RFC 7518 §3.2: an HMAC key at least as long as the hash output.
HMAC_MIN_KEY_BYTES = {"HS256": 32, "HS384": 48, "HS512": 64}


def refuse_unsafe_keys(*, secret_key: str, insecure_default: str, jwt_algorithm: str, jwt_signing_key: str) -> None:
    """Raises ImproperlyConfigured for a production process with a missing, default, short or shared key."""
    if not secret_key or secret_key == insecure_default:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is missing or the development default, and DJANGO_DEBUG is off. Set it to a long "
            "random value: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
    min_bytes = HMAC_MIN_KEY_BYTES.get(jwt_algorithm)
    if min_bytes is None or not jwt_signing_key:
        return
    if len(jwt_signing_key.encode()) < min_bytes:
        raise ImproperlyConfigured(
            f"JWT_SIGNING_KEY is shorter than {min_bytes} bytes, the output of {jwt_algorithm}'s hash "
            "(RFC 7518 §3.2). Use python -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
    if jwt_signing_key == secret_key:
        raise ImproperlyConfigured(
            "JWT_SIGNING_KEY must not be DJANGO_SECRET_KEY: one key would sign Django's sessions and "
            "password-reset links and the API's tokens. Give the tokens a key of their own."
        )
