"""Settings, read from the environment once at start-up.

Every value has a default that works on a laptop with nothing installed (SQLite, the
local-memory cache). Production sets DJANGO_SECRET_KEY, DATABASE_URL and REDIS_URL;
`python manage.py check --deploy` says what is still missing.
"""

from pathlib import Path
from typing import Any

from core.database_url import database_from_url
from core.env import env_bool, env_header, env_int, env_json, env_list, env_str
from core.secret_keys import refuse_unsafe_keys
from devidp.social_entry import dev_redirect_uris, social_provider_entry

BASE_DIR = Path(__file__).resolve().parent.parent

# The key used when DJANGO_SECRET_KEY is unset: with DEBUG off, loading these settings fails (end of file).
INSECURE_DEFAULT_SECRET_KEY = "django-insecure-local-development-only-never-deploy-this-key"  # noqa: S105 (refused with debug off)
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or INSECURE_DEFAULT_SECRET_KEY
DEBUG = env_bool("DJANGO_DEBUG", False)
# Where `make run` serves this server (`make run PORT=8001` sets it): the default of every local URL
# below (issuer, dev provider, emailed links), so that nothing still points at another port.
DEV_ORIGIN = env_str("DJANGO_DEV_ORIGIN", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Ninja's templates and static files: /api/docs serves Swagger UI from here, not a CDN.
    "ninja",
    "corsheaders",
    # Before django_tasks_db: its `db_worker` command is core's (core/management/commands/db_worker.py).
    "core",
    # The task queue (core.tasks): Django's tasks framework backported, and its database backend.
    "django_tasks",
    "django_tasks_db",
    "tokens",
    "social",
    "accounts",
    "mfa",
    "devidp",
    "web",
    "passkeys",
    "webhooks",
]

MIDDLEWARE = [
    # First, so that every response carries X-Request-ID, redirects and errors included.
    "core.middleware.RequestContextMiddleware",
    # Where a request begins and ends for the database bulkhead (core/bulkhead.py).
    "core.bulkhead.BulkheadMiddleware",
    # The language of every answer (docs/i18n.md): Accept-Language (or the page's language cookie)
    # picks it, and Content-Language and Vary: Accept-Language go out. Outside every middleware that
    # answers with a problem (CORS, ApiProblem, Outage), so those speak it too; sessions are not
    # needed, Django 5 reads no language from them.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files with DEBUG off too (the sign-in page, /api/docs): see STATIC_URL below.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Outside the problem renderer, so that a separate frontend can read error bodies too.
    "core.middleware.CorsMiddleware",
    "core.middleware.ApiProblemMiddleware",
    "core.outages.OutageMiddleware",
    "tokens.middleware.RefusedRefreshCookieMiddleware",
    # Sessions, request.user and messages are for the admin and the dev provider's login:
    # the Site* subclasses skip /api/ and /.well-known/ (core.middleware.SiteOnlyMixin).
    "core.middleware.SiteSessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "core.middleware.SiteAuthenticationMiddleware",
    "core.middleware.SiteMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# --- HTTPS: on unless DEBUG, each settable (docs/security.md) ---------------------------
# `manage.py check --deploy` passes with these defaults; `make run` (DEBUG on) serves plain HTTP.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# Health probes often speak plain HTTP to the process itself: they are answered, not redirected.
SECURE_REDIRECT_EXEMPT = [r"^api/health(/|$)"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", not DEBUG)
# Behind a proxy that terminates TLS: the header it sets, e.g. "X-Forwarded-Proto: https".
# Only if the proxy overwrites that header on every request: a client could send it too.
SECURE_PROXY_SSL_HEADER = env_header("DJANGO_SECURE_PROXY_SSL_HEADER")

# The largest request body read, in bytes; larger ones are a 413 problem (core.problems). The
# API's bodies are a few tokens, so far less than Django's 2.5 MB default (OWASP API4:2023).
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DJANGO_DATA_UPLOAD_MAX_MEMORY_SIZE", 64 * 1024)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    # PostgreSQL may list several hosts for a failover (docs/operations.md, "High availability").
    "default": database_from_url(
        env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        # A connection that failed is replaced at the next request: recovery needs no restart.
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, with a health check that costs no round trip while the server has
    # said nothing (core/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "core.postgresql"
    # Bounds on every request's database time, so that a database that is down or hung
    # answers 503 (core.outages) instead of holding a worker thread: libpq's connect_timeout
    # (seconds, covering the whole handshake) and the server's statement_timeout (ms).
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 3),
        "options": f"-c statement_timeout={env_int('DATABASE_STATEMENT_TIMEOUT', 5000)}",
    }
    if env_bool("DATABASE_PREPARED_STATEMENTS", True):
        # Parameters sent apart from the SQL (not quoted into it in Python), and a statement
        # run a fifth time on a connection is prepared: PostgreSQL then skips planning it. A
        # refresh's one read joins five tables, and planning it cost more than running it
        # (docs/benchmarks.md). Django leaves both off for connection poolers that cannot
        # carry prepared statements (PgBouncer in transaction mode before 1.21): turn it off there.
        DATABASES["default"]["OPTIONS"] |= {"server_side_binding": True, "prepare_threshold": 5}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.mysql":
    # MySQL 8.0+ or MariaDB 10.6+, through mysqlclient (requirements-mysql.txt). Django's backend
    # with the statement limit each server names its own way, and data errors told from
    # outages (core/mysql/base.py). docs/operations.md says how to create the database.
    DATABASES["default"]["ENGINE"] = "core.mysql"
    _statement_timeout_ms = env_int("DATABASE_STATEMENT_TIMEOUT", 5000)
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        # Every character a person's name may hold (Hangul, emoji): MySQL's "utf8" is 3 bytes at most.
        "charset": "utf8mb4",
        # Seconds, as libpq's: the handshake; then each read and write on the socket, past the
        # server's own statement limit, so that a hung server (not a slow statement) ends here.
        "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 3),
        "read_timeout": _statement_timeout_ms // 1000 + 5,
        "write_timeout": _statement_timeout_ms // 1000 + 5,
        # Milliseconds, as PostgreSQL's statement_timeout: core.mysql sets the server's own limit.
        "statement_timeout": _statement_timeout_ms,
        # Strict: a value that does not fit is an error, never silently truncated or zeroed.
        "init_command": "SET SESSION sql_mode = 'TRADITIONAL'",
        # What PostgreSQL does: each statement sees what committed before it. A refresh that lost
        # the race reads the winner's successor right after its own insert failed, which
        # REPEATABLE READ's snapshot (MySQL's default) would hide.
        "isolation_level": "read committed",
    }
    # The test database, made by Django, in the character set the production one must have.
    DATABASES["default"]["TEST"] = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend under the database bulkhead (core/bulkhead.py), as core.postgresql is.
    DATABASES["default"]["ENGINE"] = "core.sqlite3"
    # Threaded workers write concurrently. A transaction that reads before it writes (a
    # social account's upsert) would fail at once with "database is locked" when another
    # holds the write lock; BEGIN IMMEDIATE takes the lock first, waiting up to `timeout`
    # seconds, and WAL lets readers go on while one writes (Django's SQLite notes). In WAL,
    # synchronous=NORMAL syncs at checkpoints rather than at every commit: a commit is still
    # atomic and the file never corrupt; a power loss (not a crash of the process) may undo
    # the last commits. Each refresh commits, so this is most of its cost (docs/benchmarks.md).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 10,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # In memory, as Django's own SQLite backend tests; said outright because pytest-django (under
    # xdist) recognises that backend by its ENGINE string only, and would otherwise give each
    # worker a file named after this one's path.
    DATABASES["default"]["TEST"] = {"NAME": ":memory:"}

# Requests each process may run against the database at once (core/bulkhead.py); beyond
# it a request answers 503 at once. 0: the server's threads per process minus two.
DATABASE_REQUEST_CONCURRENCY = env_int("DATABASE_REQUEST_CONCURRENCY", 0)

# Pending social logins, the session denylist and throttle counters must be shared by
# every worker process: production sets REDIS_URL (core.E006 refuses to start otherwise).
REDIS_URL = env_str("REDIS_URL")
CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "auth"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    # Django's 300 entries fill up with one throttle counter per client and window; this
    # backend empties itself when full of live entries (core.cache.LocMemCache).
    CACHES = {"default": {"BACKEND": "core.cache.LocMemCache", "OPTIONS": {"MAX_ENTRIES": 10_000}}}

AUTH_USER_MODEL = "core.User"
# New passwords are hashed with the first (Argon2id, argon2-cffi); the others only verify
# hashes made before, and upgrade them at the next sign-in.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# English, and what a user or a request falls back to. Adding a language: docs/i18n.md.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("ko", "한국어")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# WhiteNoise serves the apps' static files straight from their folders (the finders), scanned
# once at start-up, so production has no collectstatic step to forget; with DEBUG it rescans
# on each request, as runserver does.
WHITENOISE_USE_FINDERS = True
# Only for `collectstatic`, to hand the files to a CDN or a proxy; WhiteNoise serves them too.
STATIC_ROOT = env_str("DJANGO_STATIC_ROOT") or None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # The level is on the handler too: a root logger level does not filter records that
    # propagate up from other loggers (django.request logs every 4xx as a warning).
    "handlers": {
        "console": {"class": "logging.StreamHandler", "level": env_str("LOG_LEVEL", "INFO")},
        "events": {"class": "logging.StreamHandler", "level": "INFO"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # The auth event log (core.events): one JSON line per event, whatever LOG_LEVEL says.
    "loggers": {"auth.events": {"handlers": ["events"], "level": "INFO", "propagate": False}},
}

# --- core: read through core.conf.core_settings() -------------------------------------
# Rate limits per scope (each from API_THROTTLE_<SCOPE>, checked by core.E002); empty turns one off.
API_THROTTLE_RATES = {
    "sign_in": env_str("API_THROTTLE_SIGN_IN", "60/min"),  # social authorize and callback, per client IP
    "sign_in_provider": env_str("API_THROTTLE_SIGN_IN_PROVIDER", "600/min"),  # the same, per provider
    "tokens": env_str("API_THROTTLE_TOKENS", "120/min"),  # token refresh and verify, per client IP
    "introspect": env_str("API_THROTTLE_INTROSPECT", "6000/min"),  # RFC 7662 introspection, per resource server
    "session": env_str("API_THROTTLE_SESSION", "600/min"),  # every authenticated endpoint, per session
    "password": env_str("API_THROTTLE_PASSWORD", "30/min"),  # sign-up, password sign-in, reset, per client IP
    # Sign-up and resend per email address in the body, whatever the client IP.
    "password_email": env_str("API_THROTTLE_PASSWORD_EMAIL", "20/hour"),
    # Reset per email address in the body: its own budget, so that guessing cannot block a reset.
    "password_reset_email": env_str("API_THROTTLE_PASSWORD_RESET_EMAIL", "10/hour"),
    # Failed password sign-ins per address from clients that never signed in to it, and per
    # device for those that did (a device token): guessing cannot lock the owner's devices out.
    "sign_in_email": env_str("API_THROTTLE_SIGN_IN_EMAIL", "10/15min"),
    # /admin/login/ per client IP and per username (core.admin).
    "admin_login": env_str("API_THROTTLE_ADMIN_LOGIN", "10/min"),
    "admin_login_username": env_str("API_THROTTLE_ADMIN_LOGIN_USERNAME", "10/hour"),
    # Wrong second-factor codes (TOTP, recovery) per user, whatever the client or mfa_token (mfa.services).
    "mfa": env_str("API_THROTTLE_MFA", "10/15min"),
}
# Per-IP limits count an IPv6 client by its network of this many bits: a subscriber picks any
# address of its /64 (core.clients.client_network). 128: per address.
API_THROTTLE_IPV6_PREFIX = env_int("API_THROTTLE_IPV6_PREFIX", 64)
# How many proxies of ours sit in front and append to X-Forwarded-For; 0 ignores the header
# (core.clients). Ninja's stock throttles read their own setting: the same number.
API_NUM_PROXIES = env_int("API_NUM_PROXIES", 0)
NINJA_NUM_PROXIES = API_NUM_PROXIES
# Without REDIS_URL and with debug off, the server starts only if the operator declares that exactly
# one process serves the API (core.E006); gunicorn then runs one worker and refuses more.
API_SINGLE_PROCESS = env_bool("API_SINGLE_PROCESS", False)

# --- tokens: read through tokens.conf.token_settings() --------------------------------
JWT_ACCESS_TTL = env_int("JWT_ACCESS_TTL", 15 * 60)
JWT_REFRESH_TTL = env_int("JWT_REFRESH_TTL", 14 * 24 * 3600)
JWT_SESSION_MAX_AGE = env_int("JWT_SESSION_MAX_AGE", 30 * 24 * 3600)
JWT_ISSUER = env_str("JWT_ISSUER", DEV_ORIGIN)
JWT_AUDIENCE = env_str("JWT_AUDIENCE", "auth-backend")
JWT_LEEWAY = env_int("JWT_LEEWAY", 30)
JWT_ALGORITHM = env_str("JWT_ALGORITHM", "HS256")
# A static key from the environment (docs/keys.md). Empty: the key set in the database
# (manage.py rotate_signing_key), or with DEBUG on and HMAC, SECRET_KEY for `make run`.
# HMAC: a secret of at least 32/48/64 bytes; RS*/PS*/ES*/EdDSA: a PEM private key.
JWT_SIGNING_KEY = env_str("JWT_SIGNING_KEY")
# Empty: derived from JWT_SIGNING_KEY. Alone, a PEM public key: a deployment that only verifies.
JWT_VERIFYING_KEY = env_str("JWT_VERIFYING_KEY")
# Each process re-reads the key set from the database this often, in the background (and soon,
# at most once a second, on a token with an unknown `kid`).
JWT_KEY_SET_MAX_AGE = env_int("JWT_KEY_SET_MAX_AGE", 60)
# A rotated-in key is published this many seconds before it signs, and a retired key stays
# published this long after its last access token expires: longer than any verifier's cache of
# the JWKS (jose keeps 10 minutes, PyJWT's PyJWKClient 5). docs/keys.md, per verifier.
JWT_KEY_ACTIVATION_DELAY = env_int("JWT_KEY_ACTIVATION_DELAY", 3600)
# The JWKS's (and the metadata's) Cache-Control max-age: how long verifiers should cache the set.
JWT_JWKS_MAX_AGE = env_int("JWT_JWKS_MAX_AGE", 300)
# A new key every this many seconds (rotate_signing_key --scheduled, and flush_expired_tokens);
# 0: only when someone runs rotate_signing_key.
JWT_KEY_ROTATION_PERIOD = env_int("JWT_KEY_ROTATION_PERIOD", 90 * 24 * 3600)
# Fernet keys (comma-separated, newest first) that encrypt the database's private signing keys;
# required with DEBUG off once keys live in the database (tokens/kek.py, docs/keys.md).
JWT_KEY_ENCRYPTION_KEYS = env_list("JWT_KEY_ENCRYPTION_KEYS", [])
# The resource servers that may call POST /api/auth/introspect (RFC 7662), as HTTP Basic
# credentials: "client_id:sha256-hex-of-secret" entries, comma-separated; an id may appear twice
# while its secret is rotated. Empty: introspection refuses everyone (docs/keys.md).
JWT_INTROSPECTION_CLIENTS = env_list("JWT_INTROSPECTION_CLIENTS", [])
JWT_SESSION_DENYLIST = env_bool("JWT_SESSION_DENYLIST", True)
# With Redis: each process keeps the denylist in memory, kept current by Redis pub/sub, so a
# bearer check makes no network call (tokens/mirror.py, docs/tokens.md). Off: one Redis read each.
JWT_DENYLIST_MIRROR = env_bool("JWT_DENYLIST_MIRROR", True)
# Dotted path to a callable(user) -> dict of extra access-token claims; empty for none.
JWT_EXTRA_CLAIMS = env_str("JWT_EXTRA_CLAIMS")
# How the refresh token travels: "body" (JSON), "cookie" (an HttpOnly cookie only) or "both".
JWT_REFRESH_TRANSPORT = env_str("JWT_REFRESH_TRANSPORT", "body")
# Seconds after a rotation during which the rotated token, presented again while its successor
# is still the active one, gets the current refresh token back instead of ending the session.
# 0: strict, every second presentation is reuse. docs/sessions.md weighs the trade-off.
JWT_REFRESH_REUSE_INTERVAL = env_int("JWT_REFRESH_REUSE_INTERVAL", 10)
# Live sessions one user may have; a sign-in beyond it ends the least recently used. 100: one
# full page of GET /api/auth/sessions, and more than three new sign-ins a day that never log
# out for JWT_SESSION_MAX_AGE (30 days): no person's devices, but a script's or a looping
# client's (docs/sessions.md#the-session-list).
JWT_MAX_SESSIONS_PER_USER = env_int("JWT_MAX_SESSIONS_PER_USER", 100)

# --- CORS (django-cors-headers): frontends on other origins (docs/sessions.md) ---------
# Exact origins ("https://app.example.com"), never a wildcard: credentials (the refresh
# cookie) are allowed, and only for these. The refresh cookie's CSRF check allows them too.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS", [])
CORS_ALLOW_CREDENTIALS = True
CORS_URLS_REGEX = r"^/api/.*$"
# Browsers cache a preflight this long (Chromium caps it at 2 hours).
CORS_PREFLIGHT_MAX_AGE = 7200

# --- social: read through social.conf.social_settings() ---------------------------------
# Where providers may send the browser back to: exact strings, compared character for character.
SOCIAL_REDIRECT_URIS = env_list("SOCIAL_REDIRECT_URIS", [])
# Every request to a provider (token, user info, discovery, JWKS) has these timeouts, in seconds.
SOCIAL_HTTP_CONNECT_TIMEOUT = env_int("SOCIAL_HTTP_CONNECT_TIMEOUT", 3)
SOCIAL_HTTP_READ_TIMEOUT = env_int("SOCIAL_HTTP_READ_TIMEOUT", 10)
# One wall-clock deadline, in seconds, on all of a callback's requests to its provider
# (discovery, token, keys, user info): past it the callback answers 504 provider_timeout.
SOCIAL_CALLBACK_DEADLINE = env_int("SOCIAL_CALLBACK_DEADLINE", 15)
# Callbacks each worker process runs at once (a bulkhead); the excess answers 503 at once.
# Keep it below GUNICORN_THREADS so that a hung provider leaves threads to everything else.
SOCIAL_CALLBACK_CONCURRENCY = env_int("SOCIAL_CALLBACK_CONCURRENCY", 4)
# How long a login begun with /authorize may take to come back to /callback.
SOCIAL_PENDING_LOGIN_TTL = env_int("SOCIAL_PENDING_LOGIN_TTL", 10 * 60)
# A new identity whose verified email equals an existing user's email signs in as that user.
SOCIAL_LINK_BY_VERIFIED_EMAIL = env_bool("SOCIAL_LINK_BY_VERIFIED_EMAIL", True)
# Refuse sign-ins whose provider gives no verified email (Kakao users may share none).
SOCIAL_REQUIRE_EMAIL = env_bool("SOCIAL_REQUIRE_EMAIL", False)
# /authorize sets a cookie that /callback must bring back (RFC 9700 §4.7.1): a leaked code and
# state cannot be redeemed from another browser. Off only for API clients without cookies.
SOCIAL_BIND_TO_BROWSER = env_bool("SOCIAL_BIND_TO_BROWSER", True)
# A provider without a client id is not offered.
SOCIAL_KAKAO_CLIENT_ID = env_str("SOCIAL_KAKAO_CLIENT_ID")
# Empty unless "Client Secret" is enabled for the app at Kakao Developers.
SOCIAL_KAKAO_CLIENT_SECRET = env_str("SOCIAL_KAKAO_CLIENT_SECRET")
SOCIAL_KAKAO_AUTHORIZE_URL = env_str("SOCIAL_KAKAO_AUTHORIZE_URL", "https://kauth.kakao.com/oauth/authorize")
SOCIAL_KAKAO_TOKEN_URL = env_str("SOCIAL_KAKAO_TOKEN_URL", "https://kauth.kakao.com/oauth/token")
SOCIAL_KAKAO_USERINFO_URL = env_str("SOCIAL_KAKAO_USERINFO_URL", "https://kapi.kakao.com/v2/user/me")
# Kakao's numeric app ID (App Keys page): /token accepts a Kakao SDK's access token only when
# Kakao says it was issued to this app. Empty: Kakao takes no native token.
SOCIAL_KAKAO_APP_ID = env_str("SOCIAL_KAKAO_APP_ID")
SOCIAL_KAKAO_TOKEN_INFO_URL = env_str("SOCIAL_KAKAO_TOKEN_INFO_URL", "https://kapi.kakao.com/v1/user/access_token_info")
# Kakao Login's OpenID Connect (enabled for the app at Kakao): /token accepts an id_token whose
# audience is one of these app keys (the native app key). Empty: Kakao takes no id_token.
SOCIAL_KAKAO_CLIENT_IDS = env_list("SOCIAL_KAKAO_CLIENT_IDS", [])
SOCIAL_KAKAO_DISCOVERY_URL = env_str(
    "SOCIAL_KAKAO_DISCOVERY_URL", "https://kauth.kakao.com/.well-known/openid-configuration"
)
# On: /token refuses a Kakao id_token sent without the nonce given to the SDK (docs/mobile.md).
SOCIAL_KAKAO_REQUIRE_NONCE = env_bool("SOCIAL_KAKAO_REQUIRE_NONCE", False)
# The app's Admin key (Kakao Developers > App > Platform keys): unlinks a deleted account at
# Kakao, and authenticates Kakao's unlink callback (docs/accounts.md). Empty: neither.
SOCIAL_KAKAO_ADMIN_KEY = env_str("SOCIAL_KAKAO_ADMIN_KEY")
SOCIAL_KAKAO_UNLINK_URL = env_str("SOCIAL_KAKAO_UNLINK_URL", "https://kapi.kakao.com/v1/user/unlink")
SOCIAL_KAKAO_SCOPES = env_list("SOCIAL_KAKAO_SCOPES", ["profile_nickname", "profile_image", "account_email"])
SOCIAL_GOOGLE_CLIENT_ID = env_str("SOCIAL_GOOGLE_CLIENT_ID")
SOCIAL_GOOGLE_CLIENT_SECRET = env_str("SOCIAL_GOOGLE_CLIENT_SECRET")
SOCIAL_GOOGLE_DISCOVERY_URL = env_str(
    "SOCIAL_GOOGLE_DISCOVERY_URL", "https://accounts.google.com/.well-known/openid-configuration"
)
SOCIAL_GOOGLE_SCOPES = env_list("SOCIAL_GOOGLE_SCOPES", ["openid", "email", "profile"])
# The Android and iOS apps' client IDs, accepted as an id_token's audience at /token.
SOCIAL_GOOGLE_CLIENT_IDS = env_list("SOCIAL_GOOGLE_CLIENT_IDS", [])
# On: /token refuses a Google id_token sent without the nonce given to the SDK (docs/mobile.md).
SOCIAL_GOOGLE_REQUIRE_NONCE = env_bool("SOCIAL_GOOGLE_REQUIRE_NONCE", True)
# Naver (redirect flow only: no Naver API binds an access token to an app, docs/mobile.md).
SOCIAL_NAVER_CLIENT_ID = env_str("SOCIAL_NAVER_CLIENT_ID")
SOCIAL_NAVER_CLIENT_SECRET = env_str("SOCIAL_NAVER_CLIENT_SECRET")
SOCIAL_NAVER_AUTHORIZE_URL = env_str("SOCIAL_NAVER_AUTHORIZE_URL", "https://nid.naver.com/oauth2.0/authorize")
SOCIAL_NAVER_TOKEN_URL = env_str("SOCIAL_NAVER_TOKEN_URL", "https://nid.naver.com/oauth2.0/token")
SOCIAL_NAVER_USERINFO_URL = env_str("SOCIAL_NAVER_USERINFO_URL", "https://openapi.naver.com/v1/nid/me")
# Naver reports no verification of the address: off, its email never links or becomes the user's.
SOCIAL_NAVER_TRUST_EMAIL = env_bool("SOCIAL_NAVER_TRUST_EMAIL", False)
# Sign in with Apple: the Services ID (web), the apps' bundle IDs (native), and what signs the
# client secret (Team ID, Key ID, the .p8 key inline or in a file).
SOCIAL_APPLE_CLIENT_ID = env_str("SOCIAL_APPLE_CLIENT_ID")
SOCIAL_APPLE_CLIENT_IDS = env_list("SOCIAL_APPLE_CLIENT_IDS", [])
SOCIAL_APPLE_TEAM_ID = env_str("SOCIAL_APPLE_TEAM_ID")
SOCIAL_APPLE_KEY_ID = env_str("SOCIAL_APPLE_KEY_ID")
SOCIAL_APPLE_PRIVATE_KEY = env_str("SOCIAL_APPLE_PRIVATE_KEY")
SOCIAL_APPLE_PRIVATE_KEY_FILE = env_str("SOCIAL_APPLE_PRIVATE_KEY_FILE")
# This API's /api/auth/social/apple/form-post URL, registered at Apple as the Return URL.
SOCIAL_APPLE_FORM_POST_URI = env_str("SOCIAL_APPLE_FORM_POST_URI")
SOCIAL_APPLE_DISCOVERY_URL = env_str(
    "SOCIAL_APPLE_DISCOVERY_URL", "https://appleid.apple.com/.well-known/openid-configuration"
)
SOCIAL_APPLE_SCOPES = env_list("SOCIAL_APPLE_SCOPES", ["name", "email"])
# On: /token refuses an Apple id_token sent without the nonce given to the SDK (docs/mobile.md).
SOCIAL_APPLE_REQUIRE_NONCE = env_bool("SOCIAL_APPLE_REQUIRE_NONCE", True)
# More OpenID Connect providers, offered after Kakao and Google in this order: a JSON object
# {"<name>": {"display_name", "client_id", "client_secret", "discovery_url", "scopes",
# "client_ids", "trust_email", "require_nonce"}} (docs/providers.md).
SOCIAL_OIDC_PROVIDERS: dict[str, dict[str, Any]] = env_json("SOCIAL_OIDC_PROVIDERS_JSON", {})

# --- dev identity provider: read through devidp.conf.dev_idp_settings() -----------------
# A local OpenID Connect provider (devidp/, under /dev-idp/) so that `make run` signs in
# with no Kakao or Google credentials. Only with DJANGO_DEBUG: devidp.E001 refuses it otherwise.
SOCIAL_DEV_PROVIDER = env_bool("SOCIAL_DEV_PROVIDER", False)
# Where both the browser and the social app reach this server; the issuer is this + /dev-idp.
SOCIAL_DEV_BASE_URL = env_str("SOCIAL_DEV_BASE_URL", DEV_ORIGIN).rstrip("/")
SOCIAL_DEV_CLIENT_ID = env_str("SOCIAL_DEV_CLIENT_ID", "dev-client")
SOCIAL_DEV_CLIENT_SECRET = env_str("SOCIAL_DEV_CLIENT_SECRET", "dev-client-secret-for-local-use-only")
# A public client standing for a mobile app, whose id_tokens POST /api/auth/social/dev/token takes.
SOCIAL_DEV_NATIVE_CLIENT_ID = env_str("SOCIAL_DEV_NATIVE_CLIENT_ID", "dev-native-client")
if DEBUG and not SOCIAL_REDIRECT_URIS:
    # The sign-in page's callbacks on the local server, for every provider (Naver's too: `make run`
    # with its credentials must not answer redirect_uri_not_allowed).
    SOCIAL_REDIRECT_URIS = dev_redirect_uris(SOCIAL_DEV_BASE_URL)
if DEBUG and SOCIAL_DEV_PROVIDER:
    SOCIAL_OIDC_PROVIDERS = {
        **SOCIAL_OIDC_PROVIDERS,
        "dev": social_provider_entry(
            base_url=SOCIAL_DEV_BASE_URL,
            client_id=SOCIAL_DEV_CLIENT_ID,
            client_secret=SOCIAL_DEV_CLIENT_SECRET,
            native_client_id=SOCIAL_DEV_NATIVE_CLIENT_ID,
        ),
    }

# --- accounts: read through accounts.conf.account_settings() ----------------------------
# Sign-up, sign-in, reset and change with an email and a password (docs/accounts.md).
AUTH_PASSWORD_LOGIN = env_bool("AUTH_PASSWORD_LOGIN", True)
# The frontend pages the emailed links open; the API gets {uid} and {token} back from them.
ACCOUNTS_VERIFY_EMAIL_URL = env_str(
    "ACCOUNTS_VERIFY_EMAIL_URL", f"{DEV_ORIGIN}/auth/verify-email#uid={{uid}}&token={{token}}"
)
ACCOUNTS_RESET_PASSWORD_URL = env_str(
    "ACCOUNTS_RESET_PASSWORD_URL", f"{DEV_ORIGIN}/auth/reset-password#uid={{uid}}&token={{token}}"
)
# How long emailed links work, in seconds (Django's name for it covers both kinds).
PASSWORD_RESET_TIMEOUT = env_int("ACCOUNTS_EMAIL_LINK_TTL", 24 * 3600)
# Deleting the account within this many minutes of signing in needs no password.
ACCOUNTS_RECENT_SIGN_IN_MINUTES = env_int("ACCOUNTS_RECENT_SIGN_IN_MINUTES", 10)
# A client that signed in with a password keeps a device token this long: it is then not locked out
# by failures others cause at its address (accounts.devices).
ACCOUNTS_DEVICE_TOKEN_DAYS = env_int("ACCOUNTS_DEVICE_TOKEN_DAYS", 180)
# Emailed sign-in codes, email change (docs/accounts.md).
# How long an emailed sign-in code works, in seconds.
ACCOUNTS_EMAIL_CODE_TTL = env_int("ACCOUNTS_EMAIL_CODE_TTL", 600)
# Whether an emailed code to an address without an account creates one (verified by the code).
ACCOUNTS_EMAIL_CODE_SIGNUP = env_bool("ACCOUNTS_EMAIL_CODE_SIGNUP", True)
# The sign-in page the code's email links to, which fills the code in: {email} and {code} in it.
ACCOUNTS_EMAIL_CODE_URL = env_str("ACCOUNTS_EMAIL_CODE_URL", f"{DEV_ORIGIN}/#email={{email}}&code={{code}}")
# The pages the email change's links open ({uid} and {token}): the confirmation to the new address, and
# the "this wasn't me" link to the old one.
ACCOUNTS_EMAIL_CHANGE_URL = env_str(
    "ACCOUNTS_EMAIL_CHANGE_URL", f"{DEV_ORIGIN}/auth/email-change#uid={{uid}}&token={{token}}"
)
ACCOUNTS_EMAIL_CHANGE_CANCEL_URL = env_str(
    "ACCOUNTS_EMAIL_CHANGE_CANCEL_URL", f"{DEV_ORIGIN}/auth/email-change-cancel#uid={{uid}}&token={{token}}"
)
# Code requests per address, and failed codes per address (each code also dies after 5 wrong tries).
API_THROTTLE_RATES["email_code_email"] = env_str("API_THROTTLE_EMAIL_CODE_EMAIL", "5/15min")
API_THROTTLE_RATES["email_code_failures"] = env_str("API_THROTTLE_EMAIL_CODE_FAILURES", "10/15min")

# --- the task queue: django-tasks (core.tasks) -------------------------------------------
# Emails leave after the answer, through a queue: the database backend drained by `manage.py db_worker`
# (docs/operations.md), or the immediate backend, which runs each task in the request (DEBUG, tests).
TASKS_BACKEND = env_str(
    "TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend" if DEBUG else "django_tasks_db.DatabaseBackend"
)
# Two queues, each drained by its own worker (docs/operations.md): webhook deliveries, which wait on
# receivers up to WEBHOOKS_DELIVERY_DEADLINE each, never hold a sign-in code's email behind them.
TASKS = {"default": {"BACKEND": TASKS_BACKEND, "QUEUES": ["default", "webhooks"]}}
# Seconds a task may stay RUNNING before its worker counts as dead (killed mid-task) and the task is run
# again (core.tasks): above the longest a task legitimately runs, a few of EMAIL_TIMEOUT and of
# WEBHOOKS_DELIVERY_DEADLINE (core.checks says when it is not).
TASKS_STRANDED_AFTER = env_int("TASKS_STRANDED_AFTER", 300)

# --- email: Django's email framework --------------------------------------------------
# SMTP unless DJANGO_DEBUG, where emails are printed to the console and their links shown on
# the sign-in page (accounts.mail.DevMailboxBackend).
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND", "accounts.mail.DevMailboxBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Auth backend <no-reply@localhost>")

# --- webhooks: read through webhooks.conf.webhook_settings() ----------------------------
# Endpoints told of user and session events per Standard Webhooks (docs/webhooks.md): a JSON list of
# {"url", "secret": "whsec_...", "events": [...]}, checked at start (webhooks.E001).
WEBHOOKS_JSON = env_json("WEBHOOKS_JSON", [])
# Seconds one delivery may take in all (connect, send, the whole answer) before it counts as failed.
WEBHOOKS_DELIVERY_DEADLINE = env_int("WEBHOOKS_DELIVERY_DEADLINE", 10)

# --- passkeys: WebAuthn credentials and passkey sign-in (passkeys/, docs/passkeys.md) --------------
# On under DJANGO_DEBUG (make run); with debug off an operator turns it on and names the relying party,
# or the server refuses to start (passkeys.E001): a browser binds every credential to the RP ID for good.
AUTH_WEBAUTHN = env_bool("AUTH_WEBAUTHN", DEBUG)
# Browsers refuse an IP address as an RP ID, so `make run`'s page does passkeys at http://localhost:8000.
WEBAUTHN_RP_ID = env_str("WEBAUTHN_RP_ID", "localhost" if DEBUG else "")
WEBAUTHN_RP_NAME = env_str("WEBAUTHN_RP_NAME", "Auth backend")
# Exact origins (scheme, host, port) whose pages may run the ceremonies.
WEBAUTHN_ORIGINS = env_list("WEBAUTHN_ORIGINS", ["http://localhost:8000"] if DEBUG else [])
# How long a ceremony's challenge can be answered (it is single-use either way).
WEBAUTHN_CHALLENGE_SECONDS = env_int("WEBAUTHN_CHALLENGE_SECONDS", 300)
# Passkey sign-in options and answers, per client IP.
API_THROTTLE_RATES["webauthn"] = env_str("API_THROTTLE_WEBAUTHN", "30/min")

if not DEBUG:
    refuse_unsafe_keys(
        secret_key=SECRET_KEY,
        insecure_default=INSECURE_DEFAULT_SECRET_KEY,
        jwt_algorithm=JWT_ALGORITHM,
        jwt_signing_key=JWT_SIGNING_KEY,
    )

# --- mfa: read through mfa.conf.mfa_settings() (docs/mfa.md) ---------------------------
# Whose sign-in must enrol a second factor before it gets tokens: off, staff or all.
AUTH_MFA_REQUIRED = env_str("AUTH_MFA_REQUIRED", "off")
# The issuer an authenticator app shows beside the account.
MFA_TOTP_ISSUER = env_str("MFA_TOTP_ISSUER", "Auth backend")
# Seconds an mfa_token (the second step of a sign-in) lives, and the wrong codes it survives.
MFA_TOKEN_TTL = env_int("MFA_TOKEN_TTL", 300)
MFA_TOKEN_MAX_FAILURES = env_int("MFA_TOKEN_MAX_FAILURES", 5)
