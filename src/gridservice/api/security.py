"""Login tokens (signed JWTs) and cached checks of HTTP basic credentials.

Tokens are HS256 JWTs (PyJWT) carrying the username and an expiry; the user's
role is looked up on every request, so a role change or a removed user takes
effect at once. The signing key is ``GRIDSERVICE_SECRET_KEY``, or a random
key per server start when none is set (tokens then end with the process).
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta

import jwt
import pandas as pd

from gridservice.auth import User, authenticate
from gridservice.errors import AuthenticationError

COOKIE = "gridservice_token"
_ALGORITHM = "HS256"


class Tokens:
    """Issues and reads login tokens with one signing key."""

    def __init__(self, secret: str, *, minutes: int) -> None:
        self.secret = secret
        self.minutes = minutes

    def issue(self, user: User) -> tuple[str, datetime]:
        """A token for ``user`` and when it expires."""
        now = datetime.now(UTC)
        expires = now + timedelta(minutes=self.minutes)
        token = jwt.encode({"sub": user.username, "role": user.role, "iat": now, "exp": expires},
                           self.secret, algorithm=_ALGORITHM)
        return token, expires

    def username(self, token: str) -> str:
        """The username a valid token was issued to, or :class:`AuthenticationError`."""
        try:
            claims = jwt.decode(token, self.secret, algorithms=[_ALGORITHM], options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError:
            msg = "login expired: log in again"
            raise AuthenticationError(msg) from None
        except jwt.InvalidTokenError:
            msg = "invalid login token"
            raise AuthenticationError(msg) from None
        return str(claims["sub"])


class BasicCache:
    """Remembers verified basic credentials: QGIS sends them with every request,
    and an Argon2 check per request would cost more than the request itself.

    Keys are digests of (username, password, stored hash), so a changed
    password or hash stops matching; plaintext passwords are never kept.
    """

    def __init__(self, size: int = 256) -> None:
        self._ok: dict[bytes, None] = {}
        self._size = size
        self._lock = threading.Lock()

    def check(self, users: pd.DataFrame, username: str, password: str) -> User:
        """The user, if the credentials are right (cached), else :class:`AuthenticationError`."""
        stored = str(users.loc[username, "password_hash"]) if username in users.index else ""
        key = hashlib.sha256(f"{username}\0{password}\0{stored}".encode()).digest()
        with self._lock:
            known = key in self._ok
        if not known:
            user = authenticate(users, username, password)
            with self._lock:
                if len(self._ok) >= self._size:
                    self._ok.pop(next(iter(self._ok)))
                self._ok[key] = None
            return user
        row = users.loc[username]
        return User(username, str(row["role"]), str(row.get("display_name") or ""))
