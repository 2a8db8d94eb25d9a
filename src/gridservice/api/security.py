"""Login tokens, login throttling, lookup limits, the cross-site check and audit entries.

Tokens are HS256 JWTs (PyJWT) carrying the username, the user's
``token_version``, their kind and an expiry. An access token lasts
``token_minutes`` (15 by default); a refresh token lasts the shift
(``refresh_minutes``, 480) and is exchanged for new access tokens at
``POST /auth/refresh``. Each request looks the user up, so a removed user, a
changed role, or a token version that moved on (logout, a new password or
role) takes effect at once, in every server process: the version lives in the
store's ``users`` layer. The signing key is ``GRIDSERVICE_SECRET_KEY`` (at
least 32 bytes), or a random key per server start when none is set (tokens
then end with the process).

Lookups of customers are audited by an :class:`AuditTrail`, after the
response. Password checks (the login form and HTTP basic credentials) go through one
:class:`LoginGuard` per server: backoff per account and per client, and a
bound on concurrent Argon2 checks (each takes ~64 MiB and ~0.2 s). Customer
lookups are limited per user by a :class:`RateLimit`. The limits are counted
per server process; with ``serve --workers N`` each process counts its share,
1/N of each limit, so N processes together allow about what one would (a
client whose requests all land on one process gets its share only).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import jwt
import pandas as pd
from fastapi import BackgroundTasks, Request

from gridservice.api.state import AreaHolder
from gridservice.auth import User, audit_frame, audit_record, authenticate, record, user_of, users_by_name
from gridservice.errors import (
    AuthenticationError,
    DataError,
    PermissionDeniedError,
    RateLimitError,
    StoreUnavailable,
)
from gridservice.model import ServiceArea

COOKIE = "gridservice_token"
REFRESH_COOKIE = "gridservice_refresh"
_ALGORITHM = "HS256"
#: HS256 keys shorter than this are guessed from one token (RFC 7518 §3.2 asks for the hash size).
MIN_SECRET_BYTES = 32
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def check_secret(secret: str) -> str:
    """``secret`` if it is long enough to sign tokens, else :class:`DataError`."""
    size = len(secret.encode())
    if size < MIN_SECRET_BYTES:
        msg = (f"GRIDSERVICE_SECRET_KEY is {size} bytes: a signing key needs at least {MIN_SECRET_BYTES} "
               "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')")
        raise DataError(msg)
    return secret


@dataclass(frozen=True)
class Claims:
    """What a valid token says."""

    username: str
    version: str
    expires: datetime


class Tokens:
    """Issues and reads login tokens with one signing key."""

    def __init__(self, secret: str, *, minutes: int, refresh_minutes: int = 480) -> None:
        self.secret = check_secret(secret)
        self.minutes = minutes
        self.refresh_minutes = refresh_minutes

    def issue(self, user: User, *, kind: str = "access") -> tuple[str, datetime]:
        """A token of ``kind`` (access or refresh) for ``user``, and when it expires."""
        now = datetime.now(UTC)
        expires = now + timedelta(minutes=self.minutes if kind == "access" else self.refresh_minutes)
        token = jwt.encode({"sub": user.username, "ver": user.token_version, "kind": kind, "iat": now,
                            "exp": expires}, self.secret, algorithm=_ALGORITHM)
        return token, expires

    def read(self, token: str, *, kind: str = "access") -> Claims:
        """What a valid token of ``kind`` says, or :class:`AuthenticationError`."""
        try:
            claims = jwt.decode(token, self.secret, algorithms=[_ALGORITHM],
                                options={"require": ["exp", "sub", "ver", "kind"]})
        except jwt.ExpiredSignatureError:
            msg = "login expired: log in again" if kind == "refresh" else "access token expired: refresh it or log in"
            raise AuthenticationError(msg) from None
        except jwt.InvalidTokenError:
            msg = "invalid login token"
            raise AuthenticationError(msg) from None
        if claims["kind"] != kind:
            msg = f"a {claims['kind']} token cannot be used as an {kind} token"
            raise AuthenticationError(msg)
        return Claims(str(claims["sub"]), str(claims["ver"]), datetime.fromtimestamp(claims["exp"], UTC))

    def user(self, area: ServiceArea, token: str, *, kind: str = "access") -> User:
        """The user of a valid token whose logins have not ended since."""
        claims = self.read(token, kind=kind)
        return user_of(known_users(area), claims.username, token_version=claims.version)


def known_users(area: ServiceArea) -> dict[str, User]:
    """The area's users by username, kept while its ``users`` layer is unchanged."""
    return area.cached("users_by_name", ("users",), lambda: users_by_name(area.users))


# -- password checks ----------------------------------------------------------


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0  # when the last failure was counted (monotonic seconds)


class LoginGuard:
    """Throttles password checks per account and per client, and bounds how many run at once.

    The first ``account_free`` failures of an account (``client_free`` of a
    client, which may be a whole office behind one address) cost nothing;
    after that each further attempt waits ``base_s`` seconds, doubling with
    every failure up to ``cap_s``, and is refused with :class:`RateLimitError`
    (429, ``Retry-After``) without looking at the password. A success clears
    the account; failures are forgotten ``forget_s`` after the last one.

    Parameters
    ----------
    on_failure
        Called with ``user``, ``action`` and ``detail`` for each failed check
        and each lockout (the server writes them to the audit log).
    share
        This process's share of the limits (``1/N`` of ``N`` server workers):
        the free failures and the concurrent checks are that part of the
        numbers given, rounded up.
    """

    def __init__(self, *, on_failure: Callable[..., None] | None = None, account_free: int = 5,
                 client_free: int = 20, base_s: float = 30.0, cap_s: float = 900.0, forget_s: float = 3600.0,
                 concurrent: int = 2, queue_s: float = 5.0, clock: Callable[[], float] = time.monotonic,
                 size: int = 10_000, share: float = 1.0) -> None:
        self._on_failure = on_failure or (lambda **_: None)
        self._free = {"account": math.ceil(account_free * share), "client": math.ceil(client_free * share)}
        self._base, self._cap, self._forget = base_s, cap_s, forget_s
        self._argon = threading.BoundedSemaphore(math.ceil(concurrent * share))
        self._queue_s = queue_s
        self._clock = clock
        self._size = size
        self._failures: OrderedDict[tuple[str, str], _Failures] = OrderedDict()
        self._lock = threading.Lock()

    def authenticate(self, users: pd.DataFrame, username: str, password: str, *, client: str,
                     via: str = "login") -> User:
        """The user whose credentials these are; :class:`AuthenticationError` (401) or :class:`RateLimitError` (429)."""
        keys = (("account", username), ("client", client))
        with self._lock:
            now = self._clock()
            wait = max(self._wait(key, now) for key in keys)
            if wait > 0:
                msg = f"too many failed logins for {username!r} or from {client}: retry in {wait:.0f} s"
                raise RateLimitError(msg, retry_after=wait)
            # Counted as failed until it succeeds, so parallel guesses cannot slip past the limit.
            for key in keys:
                self._count(key, now, +1)
        if not self._argon.acquire(timeout=self._queue_s):
            with self._lock:
                for key in keys:
                    self._count(key, self._clock(), -1)
            msg = "too many logins being checked at once: retry in a second"
            raise RateLimitError(msg, retry_after=1)
        try:
            user = authenticate(users, username, password)
        except AuthenticationError:
            self._on_failure(user=username, action="auth.login_failed", detail=f"{via} from {client}")
            with self._lock:
                locked = [kind for kind, value in keys if self._wait((kind, value), self._clock()) > 0]
            if locked:
                self._on_failure(user=username, action="auth.locked",
                                 detail=f"{' and '.join(locked)} locked after failed logins from {client}")
            raise
        finally:
            self._argon.release()
        with self._lock:
            self._failures.pop(keys[0], None)
            self._count(keys[1], self._clock(), -1)
        return user

    def _delay(self, kind: str, count: int) -> float:
        over = count - self._free[kind]
        return 0.0 if over < 0 else min(self._cap, self._base * 2.0 ** over)

    def _wait(self, key: tuple[str, str], now: float) -> float:
        f = self._failures.get(key)
        if f is None:
            return 0.0
        if now - f.last > self._forget:
            del self._failures[key]
            return 0.0
        return max(0.0, f.last + self._delay(key[0], f.count) - now)

    def _count(self, key: tuple[str, str], now: float, step: int) -> None:
        f = self._failures.setdefault(key, _Failures())
        f.count = max(0, f.count + step)
        if step > 0:
            f.last = now
        self._failures.move_to_end(key)
        while len(self._failures) > self._size:
            self._failures.popitem(last=False)


class BasicCache:
    """Remembers verified basic credentials: QGIS sends them with every request,
    and an Argon2 check per request would cost more than the request itself.

    Keys are digests of (username, password, stored hash), so a changed
    password or hash stops matching; plaintext passwords are never kept.
    Checks that miss the cache go through the server's :class:`LoginGuard`.
    """

    def __init__(self, guard: LoginGuard, size: int = 256) -> None:
        self._guard = guard
        self._ok: dict[bytes, None] = {}
        self._size = size
        self._lock = threading.Lock()

    def check(self, area: ServiceArea, username: str, password: str, *, client: str) -> User:
        """The user, if the credentials are right (cached), else :class:`AuthenticationError`."""
        users = area.users
        stored = str(users.loc[username, "password_hash"]) if username in users.index else ""
        key = hashlib.sha256(f"{username}\0{password}\0{stored}".encode()).digest()
        with self._lock:
            known = key in self._ok
        if not known:
            user = self._guard.authenticate(users, username, password, client=client, via="basic credentials")
            with self._lock:
                if len(self._ok) >= self._size:
                    self._ok.pop(next(iter(self._ok)))
                self._ok[key] = None
            return user
        return user_of(known_users(area), username)


# -- request checks -----------------------------------------------------------


class RateLimit:
    """At most ``per_minute`` actions per key (a user) and minute, in bursts of up to half that
    (a token bucket)."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._rate = per_minute / 60.0
        self._capacity = max(1.0, per_minute / 2)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, *, what: str = "lookups") -> None:
        """Spend one action of ``key``, or :class:`RateLimitError` (429) saying when to retry."""
        with self._lock:
            now = self._clock()
            tokens, at = self._buckets.get(key, (self._capacity, now))
            tokens = min(self._capacity, tokens + (now - at) * self._rate)
            if tokens < 1:
                wait = (1 - tokens) / self._rate
                msg = f"too many {what}: at most {self.per_minute} a minute; retry in {wait:.0f} s"
                raise RateLimitError(msg, retry_after=wait)
            self._buckets[key] = (tokens - 1, now)


def check_same_origin(request: Request) -> None:
    """Refuse a state change made with the login cookie unless it comes from this server's pages.

    A browser sends the cookie with requests that other sites start (a form
    posted from evil.example); it also says where they come from in
    ``Origin`` (or ``Referer``), which such a site cannot forge.
    """
    if request.method in _SAFE_METHODS:
        return
    source = request.headers.get("origin") or request.headers.get("referer") or ""
    host = request.headers.get("host", "").lower()
    if not source or urlsplit(source).netloc.lower() != host:
        msg = (f"cross-site request refused: a change made with the login cookie must come from this server's "
               f"pages (Origin {source or 'missing'}, server {host}); API clients send a bearer token")
        raise PermissionDeniedError(msg)


def client_of(request: Request) -> str:
    """The address a request came from (what per-client limits count)."""
    return request.client.host if request.client else "unknown"


def audit(holder: AreaHolder, *, user: str, action: str, layer: str | None = None,
          feature_id: str | None = None, detail: str | None = None) -> None:
    """Append one audit-log entry through the holder (the area in memory stays current, no reload)."""
    with holder.writing():
        record(holder.store, user=user, action=action, layer=layer, feature_id=feature_id, detail=detail)


class AuditTrail:
    """Audit-log entries of lookups, written after the response, many in one append.

    A lookup costs milliseconds and an append tens of them; each request
    queues its entry and schedules :meth:`flush` as a background task (run
    once the response is sent). One flush writes at a time, and whichever
    runs next writes every entry queued meanwhile, so under load many
    lookups share one transaction.
    """

    def __init__(self, holder: AreaHolder) -> None:
        self._holder = holder
        self._pending: list[dict[str, object]] = []
        self._lock = threading.Lock()
        self._writing = threading.Lock()

    def note(self, background: BackgroundTasks, *, user: str, action: str, layer: str | None = None,
             feature_id: str | None = None, detail: str | None = None) -> None:
        """Queue one entry, stamped now, and schedule its write after the response."""
        entry = audit_record(user=user, action=action, layer=layer, feature_id=feature_id, detail=detail)
        with self._lock:
            self._pending.append(entry)
        background.add_task(self.flush)

    def flush(self) -> None:
        """Write every queued entry (kept for the next flush if the store cannot take them now)."""
        with self._writing:
            with self._lock:
                entries, self._pending = self._pending, []
            if not entries:
                return
            try:
                with self._holder.writing():
                    self._holder.store.append("audit_log", audit_frame(entries))
            except StoreUnavailable:
                with self._lock:
                    self._pending[:0] = entries
                raise
