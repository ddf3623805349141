"""What the tokens app does: start sessions, rotate refresh tokens, end sessions.

Functions are keyword-only and named <entity>_<action>. Access tokens are verified from
their signature alone (plus one optional cache read); refresh tokens always meet the
database, where rotation inserts the presented token's successor: its `rotated_from` is
unique, so of concurrent requests with the same token only one insert is admitted.
"""

import contextlib
import functools
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Any

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.conf import forget_when_settings_change
from core.events import AuthEvent, emit
from core.models import User
from core.transactions import retry_on_conflict
from tokens import backend, denylist, fastsql, selectors
from tokens.backend import TokenType
from tokens.conf import token_settings
from tokens.errors import NotAuthenticated, SessionNotFound, TokenExpired, TokenInvalid, TokenReused, TokenRevoked
from tokens.models import RefreshToken, Session, SessionEndReason
from webhooks.events import EventType, session_data
from webhooks.services import event_publish, events_publish

# The event each way of ending one session is logged as.
_END_EVENTS = {SessionEndReason.LOGOUT: AuthEvent.LOGOUT, SessionEndReason.ENDED_BY_USER: AuthEvent.SESSION_DELETED}

# A user id as `sub` carries it: a positive BigAutoField value, in ASCII decimal digits.
_USER_ID = re.compile(r"[1-9][0-9]{0,18}")
_MAX_USER_ID = 2**63 - 1
# Registered claims that an extra-claims hook cannot override.
_RESERVED_CLAIMS = frozenset(
    {"iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid", "token_type", "auth_time", "amr", "acr"}
)

# RFC 8176's `amr` value of a sign-in that proved more than one factor, and the assurance level it
# reaches (NIST SP 800-63B; Supabase names its claim `aal`, here it is OpenID's `acr`).
AMR_MULTI_FACTOR = "mfa"
ACR_SINGLE_FACTOR = "aal1"
ACR_MULTI_FACTOR = "aal2"


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    expires_in: int
    refresh_expires_in: int
    token_type: str = "Bearer"  # noqa: S105 (RFC 6750 scheme name)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who sent a request, from the verified access token alone (no database).

    One instance serves every request with the same token (see _access_principal), so its
    claims are read-only.
    """

    user_id: int
    session_id: uuid.UUID
    expires_at: datetime
    claims: Mapping[str, Any]


def _timestamp(moment: datetime) -> int:
    return int(moment.timestamp())


def acr_of(amr: Sequence[str]) -> str:
    """`aal2` for a sign-in whose `amr` says it proved more than one factor, else `aal1`."""
    return ACR_MULTI_FACTOR if AMR_MULTI_FACTOR in amr else ACR_SINGLE_FACTOR


def _extra_claims(user: User) -> dict[str, Any]:
    hook = token_settings().extra_claims
    if hook is None:
        return {}
    return {name: value for name, value in hook(user).items() if name not in _RESERVED_CLAIMS}


def _token_pair_issue(*, user: User, session: Session, refresh_token: RefreshToken, now: datetime) -> TokenPair:
    conf = token_settings()
    common = {
        "iss": conf.issuer,
        "aud": conf.audience,
        "sub": str(user.pk),
        "sid": str(session.id),
        "iat": _timestamp(now),
    }
    access_expires_at = now + conf.access_ttl
    # How the user signed in, from the session: a refresh carries the sign-in's values (docs/mfa.md).
    sign_in = {"auth_time": _timestamp(session.auth_time), "amr": list(session.amr), "acr": session.acr}
    access = backend.encode(
        {
            **_extra_claims(user),
            **common,
            **sign_in,
            "exp": _timestamp(access_expires_at),
            "jti": uuid.uuid4().hex,
        },
        token_type=TokenType.ACCESS,
    )
    # The refresh token's own issue time: re-issuing the current one (the reuse interval)
    # gives back the very token its holder has.
    refresh = backend.encode(
        {
            **common,
            "iat": _timestamp(refresh_token.issued_at),
            "exp": _timestamp(refresh_token.expires_at),
            "jti": refresh_token.jti.hex,
        },
        token_type=TokenType.REFRESH,
    )
    return TokenPair(
        access=access,
        refresh=refresh,
        expires_in=int(conf.access_ttl.total_seconds()),
        refresh_expires_in=int((refresh_token.expires_at - now).total_seconds()),
    )


def _refresh_token_create(*, session: Session, now: datetime, rotated_from: RefreshToken | None = None) -> RefreshToken:
    """A new refresh token row, saved through the refresh path's hand-built INSERT (tokens.fastsql)."""
    # Never past the session's absolute end, however often it refreshes.
    expires_at = min(now + token_settings().refresh_ttl, session.expires_at)
    token = RefreshToken(
        jti=uuid.uuid4(), session=session, issued_at=now, expires_at=expires_at, rotated_from=rotated_from
    )
    fastsql.refresh_token_insert(token)
    return token


@retry_on_conflict
def session_start(*, user: User, amr: Sequence[str] = (), user_agent: str = "", ip: str | None = None) -> TokenPair:
    """A new session (a sign-in on one device) and its first token pair.

    `amr`: how the user proved who they are (RFC 8176 values); the access tokens carry it, with
    `acr` derived from it. Sign-ins go through mfa.services.sign_in, which calls this once the
    second factor, if the user has one, is proven.
    """
    now = timezone.now()
    with transaction.atomic():
        session = Session.objects.create(
            user=user,
            created_at=now,
            expires_at=now + token_settings().session_max_age,
            user_agent=user_agent[:512],
            ip=ip,
            auth_time=now,
            amr=list(amr),
            acr=acr_of(amr),
        )
        refresh_token = _refresh_token_create(session=session, now=now)
        event_publish(EventType.SESSION_STARTED, user_id=user.pk, data=session_data(session.id))
    _sessions_over_limit_end(user_id=user.pk)
    return _token_pair_issue(user=user, session=session, refresh_token=refresh_token, now=now)


def _sessions_over_limit_end(*, user_id: int) -> None:
    """Ends the user's least recently used live sessions beyond JWT_MAX_SESSIONS_PER_USER.

    One COUNT on the (user, ended_at) index while under the limit, as nearly always. After the
    sign-in's commit, so that a slow denylist write holds no transaction. Two sign-ins at once
    may each see the other's session uncommitted and leave one more than the limit; the next
    sign-in ends it.
    """
    limit = token_settings().max_sessions_per_user
    if Session.objects.filter(user_id=user_id, ended_at__isnull=True).count() <= limit:
        return
    least_recently_used = list(
        Session.objects.live()
        .filter(user_id=user_id)
        .order_by("-last_used_at", "-created_at")
        .values_list("id", flat=True)[limit:]
    )
    if not least_recently_used:
        return  # the unended ones beyond the limit have expired: nothing to refuse
    _sessions_end(Session.objects.filter(id__in=least_recently_used), reason=SessionEndReason.SESSION_LIMIT)
    for session_id in least_recently_used:
        emit(AuthEvent.SESSION_EVICTED, outcome=SessionEndReason.SESSION_LIMIT, user_id=user_id, session_id=session_id)


def session_reauthenticated(*, session_id: uuid.UUID, user_id: int, amr: Sequence[str]) -> TokenPair:
    """A fresh pair for the same live session, which now says the user proved `amr` just now.

    The session's newest refresh token is rotated, as a refresh would: the client's refresh
    token becomes its predecessor (forgiven within JWT_REFRESH_REUSE_INTERVAL, reuse after).
    A refresh racing this one wins the rotation: the client is told to try again.
    """
    now = timezone.now()
    session = Session.objects.select_related("user").filter(id=session_id, user_id=user_id).first()
    if session is None or session.ended_at is not None or not session.user.is_active:
        raise TokenRevoked()
    if session.expires_at <= now:
        raise TokenExpired(_("The session has reached its maximum age; sign in again."))
    head = (
        RefreshToken.objects.filter(session=session, replaced_by__isnull=True, expires_at__gt=now)
        .order_by("-issued_at")
        .first()
    )
    if head is None:
        raise TokenExpired(_("The session has no refresh token left; sign in again."))
    session.auth_time, session.amr, session.acr = now, list(amr), acr_of(amr)
    Session.objects.filter(id=session.id).update(auth_time=now, amr=session.amr, acr=session.acr)
    head.session = session
    successor = _successor_insert(token=head, now=now)
    if successor is None:
        raise TokenReused(_("The session refreshed at the same moment; reauthenticate again with the new tokens."))
    return _token_pair_issue(user=session.user, session=session, refresh_token=successor, now=now)


def _claims_uuid(claims: dict[str, Any], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(claims.get(name)))
    except ValueError:
        raise TokenInvalid(_("The token's `%(name)s` claim is malformed.") % {"name": name}) from None


def _claims_user_id(claims: dict[str, Any]) -> int:
    """The user id in `sub`: decimal digits that a BigAutoField can hold, nothing int() would also take."""
    subject = claims["sub"]
    if not _USER_ID.fullmatch(subject) or int(subject) > _MAX_USER_ID:
        raise TokenInvalid(_("The token's `sub` claim is malformed."))
    return int(subject)


def _refresh_token_load(claims: dict[str, Any], *, now: datetime) -> RefreshToken:
    """The refresh token that verified claims name, with the checks every use of one shares.

    One query: the session, its user, the token's successor (is_used) and whether that
    successor was rotated in turn come along (tokens.selectors.refresh_token_get).
    """
    jti, session_id, user_id = _claims_uuid(claims, "jti"), _claims_uuid(claims, "sid"), _claims_user_id(claims)
    token = selectors.refresh_token_get(jti=jti)
    if token is None or token.session_id != session_id or token.session.user_id != user_id:
        raise TokenInvalid(_("The refresh token is unknown."))
    session = token.session
    if session.ended_at is not None or not session.user.is_active:
        raise TokenRevoked()
    if session.expires_at <= now:
        raise TokenExpired(_("The session has reached its maximum age; sign in again."))
    return token


def token_pair_refresh(*, refresh: str) -> TokenPair:
    """Rotates a refresh token: inserts its successor and issues the next pair.

    The successor's unique `rotated_from` is the guard: of several requests racing with
    the same token, the database accepts exactly one insert. A rotated token presented
    again is reuse (RFC 9700 §4.14.2) and ends the whole session, the successor included,
    since the server cannot tell a replaying attacker from the legitimate client, with one
    exception: within JWT_REFRESH_REUSE_INTERVAL of its rotation, while its successor is
    still the session's active token, it gets a fresh access token and that successor (no
    new row), so that a client's racing requests (two tabs, a retry after a lost response)
    do not end its own session. At most 4 queries on every branch.
    """
    claims = backend.decode(refresh, token_type=TokenType.REFRESH)
    now = timezone.now()
    token = _refresh_token_load(claims, now=now)
    session = token.session
    interval = token_settings().refresh_reuse_interval
    successor: RefreshToken | None
    raced = False
    if token.is_used:
        successor = token.replaced_by
    else:
        successor = _successor_insert(token=token, now=now)
        if successor is not None:
            emit(AuthEvent.REFRESH, outcome="success", user_id=session.user_id, session_id=session.pk)
            return _token_pair_issue(user=session.user, session=session, refresh_token=successor, now=now)
        # Another request rotated it while this one ran: the token was unused when this one read
        # it, so the two raced (two tabs, a retry after a timeout). Its successor is worth a read
        # only if the interval may forgive this presentation.
        raced = True
        successor = _successor_get(token=token) if interval else None
    if successor is not None and _reuse_is_forgiven(successor=successor, interval=interval, now=now, raced=raced):
        emit(AuthEvent.REFRESH, outcome="reuse_interval", user_id=session.user_id, session_id=session.pk)
        return _token_pair_issue(user=session.user, session=session, refresh_token=successor, now=now)
    emit(AuthEvent.REUSE_DETECTED, outcome="session_ended", user_id=session.user_id, session_id=session.pk)
    _session_end_one(session_id=session.pk, user_id=session.user_id, reason=SessionEndReason.REUSE)
    raise TokenReused(_("This refresh token was already used; the session has been ended."))


@retry_on_conflict
def _successor_insert(*, token: RefreshToken, now: datetime) -> RefreshToken | None:
    """The token's successor, or None when another request inserted one first.

    In autocommit the INSERT is its own transaction and a unique violation leaves nothing
    to roll back. Only inside an outer transaction (ATOMIC_REQUESTS, a test) does it need a
    savepoint to keep that transaction usable; elsewhere BEGIN and COMMIT would only cost
    two of the refresh's 4 queries.
    """
    in_transaction = transaction.get_connection().in_atomic_block
    try:
        with transaction.atomic() if in_transaction else contextlib.nullcontext():
            return _refresh_token_create(session=token.session, now=now, rotated_from=token)
    except IntegrityError:
        return None


def _successor_get(*, token: RefreshToken) -> RefreshToken | None:
    # A lost insert means the winner's row is committed, so this read sees it.
    return RefreshToken.objects.select_related("replaced_by").filter(rotated_from=token).first()


def _reuse_is_forgiven(*, successor: RefreshToken, interval: timedelta, now: datetime, raced: bool) -> bool:
    """Whether a rotated token may have its successor: the interval is on, the successor unused, and young.

    A presentation that raced the rotation is forgiven whatever the successor's age: `issued_at`
    is when the winner began, and a database that stalled before its commit (a lock, a pause)
    would otherwise make a client's own retry, sent during the stall, look like reuse and end
    its session.
    """
    return bool(interval) and not successor.is_used and (raced or now - successor.issued_at <= interval)


# How many verified access tokens each process remembers (see _access_principal).
VERIFIED_ACCESS_TOKENS_CACHED = 4096


@forget_when_settings_change
@functools.lru_cache(maxsize=VERIFIED_ACCESS_TOKENS_CACHED)
def _access_principal(token: str) -> tuple[str, Principal]:
    """(kid, principal) of an access token whose signature and claims verified, remembered.

    A client sends the same access token with every request until it expires, so each
    process verifies a token and reads its claims once; afterwards each use only rechecks
    its key and expiry (backend.check_access_current) and the denylist. Only valid tokens
    are remembered (lru_cache keeps no exceptions), the cache is bounded and is dropped when
    settings change. Revocation is not cached: the denylist is asked on every request.
    """
    kid, claims = backend.verify(token, token_type=TokenType.ACCESS)
    principal = Principal(
        user_id=_claims_user_id(claims),
        session_id=_claims_uuid(claims, "sid"),
        expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
        claims=MappingProxyType(claims),
    )
    return kid, principal


def access_token_authenticate(*, token: str, check_denylist: bool = True) -> Principal:
    """The principal of a valid access token: no database, at most one cache read.

    `check_denylist=False` skips that read, for uses where a revoked token does no harm.
    """
    if not token:
        raise NotAuthenticated(_("The Authorization header has no token."))
    kid, principal = _access_principal(token)
    backend.check_access_current(kid=kid, exp=principal.claims["exp"])
    if check_denylist and token_settings().session_denylist and denylist.is_session_denied(principal.session_id):
        raise TokenRevoked()
    return principal


def token_verify(*, token: str) -> dict[str, Any]:
    """The claims of a valid token of either kind, with the same checks as its real use.

    Unlike a refresh, verifying a used refresh token does not end its session: verify
    only reports.
    """
    if backend.peek_token_type(token) == TokenType.REFRESH:
        claims = backend.decode(token, token_type=TokenType.REFRESH)
        if _refresh_token_load(claims, now=timezone.now()).is_used:
            raise TokenReused(_("This refresh token was already used."))
        return claims
    return dict(access_token_authenticate(token=token).claims)


def _sessions_end(sessions: QuerySet[Session], *, reason: SessionEndReason) -> int:
    """Ends the live sessions of a queryset: their ids (one SELECT), one UPDATE, the ids into the denylist."""
    live = dict(sessions.filter(ended_at__isnull=True).values_list("id", "user_id"))
    if not live:
        return 0
    session_ids = list(live)
    ended = Session.objects.filter(id__in=session_ids, ended_at__isnull=True).update(
        ended_at=timezone.now(), end_reason=reason
    )
    events_publish(
        EventType.SESSION_ENDED, events=[(user_id, session_data(id_, reason=reason)) for id_, user_id in live.items()]
    )
    denylist.deny_sessions(session_ids)
    return ended


def _session_end_one(*, session_id: uuid.UUID, user_id: int, reason: SessionEndReason) -> bool:
    """Ends one session of the user if it is live: one UPDATE, and its id into the denylist if it ended now;
    whether it did."""
    ended = Session.objects.filter(id=session_id, ended_at__isnull=True).update(
        ended_at=timezone.now(), end_reason=reason
    )
    if ended:
        event_publish(EventType.SESSION_ENDED, user_id=user_id, data=session_data(session_id, reason=reason))
        denylist.deny_sessions([session_id])
    return bool(ended)


def _session_end_again(session_id: uuid.UUID) -> None:
    """A logout of a session that had ended already: its id into the denylist again (idempotent).

    Maybe this very logout, sent again after a 503 whose UPDATE had committed but whose denylist
    entry was never written (the database failing over between the two, or Redis down): without
    this, the retry's 204 would leave the session's access tokens working until they expire.
    """
    denylist.deny_sessions([session_id])


def session_end(
    *, session_id: uuid.UUID, user_id: int | None = None, reason: SessionEndReason = SessionEndReason.LOGOUT
) -> None:
    """Ends one session; with `user_id`, only if it is that user's (SessionNotFound otherwise)."""
    sessions = Session.objects.filter(id=session_id)
    if user_id is not None:
        sessions = sessions.filter(user_id=user_id)
    if not sessions.exists():
        raise SessionNotFound()
    if not _sessions_end(sessions, reason=reason):
        _session_end_again(session_id)
    emit(_END_EVENTS[reason], outcome="success", user_id=user_id, session_id=session_id)


def session_end_by_refresh(*, refresh: str) -> None:
    """Ends the session a refresh token names, in 2 queries."""
    claims = backend.decode(refresh, token_type=TokenType.REFRESH)
    session_id, user_id = _claims_uuid(claims, "sid"), _claims_user_id(claims)
    known = RefreshToken.objects.filter(
        jti=_claims_uuid(claims, "jti"), session_id=session_id, session__user_id=user_id
    )
    if not known.exists():
        raise TokenInvalid(_("The refresh token is unknown."))
    if not _session_end_one(session_id=session_id, user_id=user_id, reason=SessionEndReason.LOGOUT):
        _session_end_again(session_id)
    emit(AuthEvent.LOGOUT, outcome="success", user_id=user_id, session_id=session_id)


def session_logout(*, refresh: str | None, access: str | None) -> None:
    """Ends the session a client signs out of.

    The refresh token names it whenever the client has one (in the body or the cookie),
    whatever the state of the access token: a page whose access token has just expired
    must still sign out for real, not believe it did while the session lives on for days.
    Without a refresh token, the bearer access token names it.
    """
    if refresh:
        session_end_by_refresh(refresh=refresh)
    elif access:
        # Ending a session that already ended does nothing: no denylist read, so that logout
        # still reaches the database with the cache down (docs/operations.md).
        principal = access_token_authenticate(token=access, check_denylist=False)
        session_end(session_id=principal.session_id, user_id=principal.user_id)
    else:
        raise NotAuthenticated(_("Send the refresh token (body or cookie) or a bearer access token."))


def session_end_all(
    *, user_id: int, reason: SessionEndReason = SessionEndReason.LOGOUT_ALL, keep_session_id: uuid.UUID | None = None
) -> int:
    """Ends every session of a user, but `keep_session_id`'s if given; returns how many were live."""
    sessions = Session.objects.filter(user_id=user_id)
    if keep_session_id is not None:
        sessions = sessions.exclude(id=keep_session_id)
    ended = _sessions_end(sessions, reason=reason)
    # Why, when it was not the user asking: a password change, a disabled user...
    outcome = "success" if reason == SessionEndReason.LOGOUT_ALL else str(reason)
    emit(AuthEvent.LOGOUT_ALL, outcome=outcome, user_id=user_id, sessions_ended=ended)
    return ended


def sessions_end_by_admin(*, sessions: QuerySet[Session]) -> int:
    return _sessions_end(sessions, reason=SessionEndReason.ADMIN)


# Rows per flush batch: each batch is one short transaction, so a refresh waits on it at most
# that long, and its IN lists stay far below the 65,535 parameters PostgreSQL's server-side
# binding and MySQL allow per statement.
FLUSH_BATCH_SIZE = 1000


def tokens_flush_expired(*, now: datetime | None = None, batch_size: int = FLUSH_BATCH_SIZE) -> tuple[int, int]:
    """Deletes expired refresh tokens, then the sessions that have nothing left to refresh with.

    Used tokens are kept until they expire: presenting one before then is how reuse is
    detected. Returns (sessions deleted, refresh tokens deleted).
    """
    batches = list(refresh_tokens_flush_batches(now=now, batch_size=batch_size))
    return sum(batch.sessions for batch in batches), sum(batch.tokens for batch in batches)


def refresh_tokens_flush_batches(
    *, now: datetime | None = None, batch_size: int = FLUSH_BATCH_SIZE
) -> Iterator[fastsql.FlushBatch]:
    """Deletes the expired refresh tokens in batches, each its own transaction, yielding each once committed.

    Stopped at any point, it has lost nothing, and the next run goes on with what is left. A
    token counts as expired past `exp` plus the leeway: one still within it may be presented,
    and its successor's insert must find it (a vanished predecessor would look like reuse).
    Each batch starts its scan of the expires_at index where the last one stopped, past the
    entries that one left dead.
    """
    db = connections[DEFAULT_DB_ALIAS]
    until = db.ops.adapt_datetimefield_value((now or timezone.now()) - token_settings().leeway)
    while True:
        batch, until = fastsql.refresh_tokens_flush_batch(db, until=until, batch_size=batch_size)
        yield batch
        if batch.tokens < batch_size:
            return


def token_pair_for_email(*, email: str, create: bool = False) -> TokenPair:
    """A session for the user with this email, for local scripts and benchmarks."""
    try:
        user = User.objects.get_by_email(email)
    except User.DoesNotExist:
        if not create:
            raise
        user = User.objects.create_user(email=email)
    return session_start(user=user, user_agent="manage.py issue_tokens")
