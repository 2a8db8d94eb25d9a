"""Users, roles, what each role may do, and masking of personal data.

Four roles use gridservice (SPEC §1):

============  ===========================================  ====================================
role          may write                                    sees customers' names, phones and
                                                           addresses
============  ===========================================  ====================================
planner       grid plans (commit, revert)                  masked (张*, 138****5678, 琴城镇东门路…)
dispatcher    work orders, outages                         in full (calls customers)
supervisor    nothing (reads every view)                   masked
admin         everything, including users                  in full
============  ===========================================  ====================================

Every role reads everything else, and searches customers only by what it may
read (:mod:`gridservice.search`). Passwords are hashed with Argon2id through
pwdlib; the ``users`` layer holds only the hashes, and each user's
``token_version``, which changes whenever the user's logins must end (logout,
a new password or role, removal). Each write and each lookup of personal data
is recorded in the ``audit_log`` layer with its user (:func:`record`).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
from pwdlib import PasswordHash

from gridservice import clock
from gridservice.errors import AuthenticationError, ConflictError, DataError, NotFoundError, PermissionDeniedError
from gridservice.io import Store
from gridservice.io.tables import conform
from gridservice.privacy import mask_address, mask_name, mask_phone, mask_phones_in_text
from gridservice.schema import LAYERS

ROLES: tuple[str, ...] = LAYERS["users"].column("role").choices or ()

#: Action → roles allowed to perform it. Reading needs only a login.
PERMISSIONS: dict[str, frozenset[str]] = {
    "plan.commit": frozenset({"planner", "admin"}),
    "plan.revert": frozenset({"planner", "admin"}),
    "work_order.create": frozenset({"dispatcher", "admin"}),
    "work_order.update": frozenset({"dispatcher", "admin"}),
    "outage.create": frozenset({"dispatcher", "admin"}),
    "outage.close": frozenset({"dispatcher", "admin"}),
    # switching (倒闸操作) is the dispatcher's: it changes what every trace and outage impact shows
    "switch.operate": frozenset({"dispatcher", "admin"}),
    "user.manage": frozenset({"admin"}),
    "application.read": frozenset({"supervisor", "dispatcher", "admin"}),
    "theft.read": frozenset({"supervisor", "dispatcher", "admin"}),
    "meter_check.write": frozenset({"dispatcher", "admin"}),
    # the 6+1 duty roster is made by the planner (营销管理, who staffs the grids); supervisors audit it
    "roster.write": frozenset({"planner", "admin"}),
    "visit.read": frozenset({"supervisor", "dispatcher", "admin"}),
    "visit.write": frozenset({"dispatcher", "admin"}),
    "warning.write": frozenset({"supervisor", "admin"}),
}

#: Roles that see customers' names and phones unmasked.
SEES_PERSONAL_DATA: frozenset[str] = frozenset({"dispatcher", "admin"})

#: One demo user per role: username → (role, display name). Passwords are ``<username>-demo``.
DEMO_USERS: dict[str, tuple[str, str]] = {
    "planner": ("planner", "规划员 李明"),
    "dispatcher": ("dispatcher", "调度员 王芳"),
    "supervisor": ("supervisor", "管控专责 陈静"),
    "admin": ("admin", "系统管理员"),
}

_MIN_PASSWORD = 8


@dataclass(frozen=True)
class User:
    """A logged-in user."""

    username: str
    role: str
    display_name: str = ""
    #: The users layer's ``token_version`` when this user was read: tokens carry it.
    token_version: str = ""

    def can(self, action: str) -> bool:
        """Whether this user's role may perform ``action``."""
        return self.role in PERMISSIONS.get(action, frozenset(ROLES))

    @property
    def permissions(self) -> list[str]:
        """The guarded actions (:data:`PERMISSIONS`) this user may perform."""
        return [action for action in PERMISSIONS if self.can(action)]

    @property
    def sees_personal_data(self) -> bool:
        """Whether names and phones are shown unmasked to this user."""
        return self.role in SEES_PERSONAL_DATA


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()  # Argon2id with OWASP parameters


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` (salted; never the same twice)."""
    if len(password.strip()) < _MIN_PASSWORD:
        msg = f"password too short: at least {_MIN_PASSWORD} characters besides spaces"
        raise DataError(msg)
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (False for a malformed hash)."""
    try:
        return bool(_hasher().verify(password, password_hash))
    except Exception:
        return False


def require(user: User, action: str) -> None:
    """Raise :class:`PermissionDeniedError` unless ``user`` may perform ``action``."""
    if not user.can(action):
        allowed = ", ".join(sorted(PERMISSIONS[action]))
        msg = f"{user.username} ({user.role}) may not {action.replace('.', ' ')}; allowed roles: {allowed}"
        raise PermissionDeniedError(msg)


def user_frame(rows: Iterable[dict[str, str]]) -> pd.DataFrame:
    """A ``users`` layer frame from records with username, role, password_hash, display_name."""
    return conform("users", pd.DataFrame(list(rows), columns=LAYERS["users"].column_names), source="users")


def make_user(username: str, role: str, password: str, *, display_name: str = "") -> dict[str, str]:
    """One users-layer record with the password hashed; checks the username and role."""
    username = username.strip()
    if not username or any(ch.isspace() or ch == ":" for ch in username):
        msg = f"invalid username {username!r}: no spaces or colons"
        raise DataError(msg)
    if role not in ROLES:
        msg = f"unknown role {role!r}; roles are: {', '.join(ROLES)}"
        raise DataError(msg)
    return {"username": username, "role": role, "password_hash": hash_password(password),
            "display_name": display_name or username, "token_version": _new_token_version()}


def _new_token_version() -> str:
    # Random, so a version never comes back (a user removed and added again does not revive old tokens).
    return secrets.token_hex(8)


def demo_users() -> tuple[pd.DataFrame, dict[str, str]]:
    """One user per role for the demo, and their passwords (username → password).

    The passwords are public (``planner-demo`` …): the demo is for trying
    gridservice out, never for real data.
    """
    passwords = {name: f"{name}-demo" for name in DEMO_USERS}
    rows = [make_user(name, role, passwords[name], display_name=title) for name, (role, title) in DEMO_USERS.items()]
    return user_frame(rows), passwords


def authenticate(users: pd.DataFrame, username: str, password: str) -> User:
    """The user whose name and password match, or :class:`AuthenticationError`."""
    if username not in users.index:
        _hasher().hash(password)  # same work as a real check: no timing hint that the name is unknown
        msg = "wrong username or password"
        raise AuthenticationError(msg)
    row = users.loc[username]
    if not verify_password(password, str(row["password_hash"])):
        msg = "wrong username or password"
        raise AuthenticationError(msg)
    return users_by_name(users)[username]


def users_by_name(users: pd.DataFrame) -> dict[str, User]:
    """Every user of a ``users`` layer, by username (a request's lookup is then a dict's)."""
    versions = users["token_version"] if "token_version" in users.columns else pd.Series(pd.NA, index=users.index)
    names = users["display_name"] if "display_name" in users.columns else pd.Series("", index=users.index)
    return {str(name): User(str(name), str(role), "" if pd.isna(title) else str(title),
                            "" if pd.isna(version) else str(version))
            for name, role, title, version in zip(users.index, users["role"], names, versions, strict=True)}


def user_of(users: Mapping[str, User], username: str, *, token_version: str | None = None) -> User:
    """The user called ``username`` (of :func:`users_by_name`), or :class:`AuthenticationError`.

    With ``token_version`` (from a token), the user's logins must not have
    ended since the token was issued.
    """
    user = users.get(username)
    if user is None:
        msg = f"user {username!r} no longer exists"
        raise AuthenticationError(msg)
    if token_version is not None and token_version != user.token_version:
        msg = "login ended (logged out, or the password or role changed): log in again"
        raise AuthenticationError(msg)
    return user


# -- the users layer in a store --------------------------------------------


def list_users(store: Store) -> pd.DataFrame:
    """The users of a store, without their password hashes (nor token versions)."""
    users = _users(store)
    return users.drop(columns=["password_hash", "token_version"])


def add_user(store: Store, username: str, role: str, password: str, *, display_name: str = "",
             by: str = "cli", replace: bool = False) -> User:
    """Add a user (or replace one with ``replace``), with its audit-log entry, in one write."""
    made = make_user(username, role, password, display_name=display_name)
    name = made["username"]
    with store.lock():  # read-check-write: two admins adding the same name cannot both win
        users = _users(store)
        if name in users.index and not replace:
            msg = f"user {name!r} already exists"
            raise ConflictError(msg)
        _save(store, {"users": user_frame([made])}, user=by, action="user.add", feature_id=name, detail=role)
    return User(name, role, made["display_name"], made["token_version"])


def remove_user(store: Store, username: str, *, by: str = "cli") -> None:
    """Remove a user, with its audit-log entry, in one write."""
    with store.lock():
        users = _users(store)
        if username not in users.index:
            msg = f"no user {username!r}"
            raise NotFoundError(msg)
        admins = users.index[users["role"] == "admin"]
        if list(admins) == [username]:
            msg = f"{username!r} is the last admin: add another admin before removing it"
            raise ConflictError(msg)
        _save(store, {}, delete=[username], user=by, action="user.remove", feature_id=username)


def end_logins(store: Store, username: str, *, by: str) -> None:
    """End every login of ``username`` (its tokens stop working), with its audit-log entry, in one write."""
    with store.lock():
        users = _users(store)
        if username not in users.index:
            msg = f"no user {username!r}"
            raise NotFoundError(msg)
        changed = users.loc[[username]].assign(token_version=_new_token_version())
        _save(store, {"users": changed}, user=by, action="auth.logout", feature_id=username)


def _users(store: Store) -> pd.DataFrame:
    if store.exists() and "users" in store.layers():
        return store.read_layer("users")
    return user_frame([])


# -- masking ----------------------------------------------------------------


def mask_personal(df: pd.DataFrame, user: User, *,
                  columns: Iterable[str] = ("name", "phone", "address")) -> pd.DataFrame:
    """``df`` with customers' names, phones and addresses masked unless ``user`` may see them."""
    if user.sees_personal_data:
        return df
    out = df.copy()
    masks = {"phone": mask_phone, "address": mask_address}
    for col in columns:
        if col in out.columns:
            out[col] = next((m for key, m in masks.items() if key in col), mask_name)(out[col])
    return out


# -- the audit log ------------------------------------------------------------


def audit_entry(*, user: str, action: str, layer: str | None = None, feature_id: str | None = None,
                detail: str | None = None) -> pd.DataFrame:
    """One ``audit_log`` row stamped now, with a unique ``log_id``."""
    return audit_frame([audit_record(user=user, action=action, layer=layer, feature_id=feature_id, detail=detail)])


def audit_record(*, user: str, action: str, layer: str | None = None, feature_id: str | None = None,
                 detail: str | None = None) -> dict[str, object]:
    """One ``audit_log`` record stamped now, with a unique ``log_id`` (cheap: no frame yet)."""
    now = clock.now()
    log_id = f"L{now.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:12]}"
    return {"log_id": log_id, "at": now, "user": user, "action": action, "layer": layer, "feature_id": feature_id,
            "detail": detail}


def audit_frame(records: Iterable[dict[str, object]]) -> pd.DataFrame:
    """``audit_log`` rows from :func:`audit_record` records."""
    return conform("audit_log", pd.DataFrame(list(records)), source="audit_log")


def record(store: Store, *, user: str, action: str, layer: str | None = None, feature_id: str | None = None,
           detail: str | None = None) -> str:
    """Append one entry to the audit log; returns its ``log_id``."""
    row = audit_entry(user=user, action=action, layer=layer, feature_id=feature_id, detail=detail)
    store.append("audit_log", row)
    return str(row.index[0])


def _save(store: Store, frames: dict[str, pd.DataFrame], *, delete: list[str] | None = None, user: str, action: str,
          feature_id: str, detail: str | None = None) -> None:
    """Users' rows changed with their audit-log entry, in one transaction (rows only where the layers exist)."""
    entry = audit_entry(user=user, action=action, layer="users", feature_id=feature_id, detail=detail)
    if store.exists() and {"users", "audit_log"} <= set(store.layers()):
        store.upsert({**frames, "audit_log": entry}, delete={"users": delete or []})
        return
    users = _users(store)  # a store without these layers yet: write them whole
    users = pd.concat([users.drop(index=[*(delete or []), *frames.get("users", users.iloc[:0]).index]),
                       *frames.values()])
    present = store.exists() and "audit_log" in store.layers()
    log = store.read_layer("audit_log") if present else conform("audit_log", pd.DataFrame())
    store.write_locked({"users": users, "audit_log": pd.concat([log, entry])})


def new_secret() -> str:
    """A random signing key (for tokens when none is configured)."""
    return secrets.token_urlsafe(32)


__all__ = [
    "DEMO_USERS",
    "PERMISSIONS",
    "ROLES",
    "SEES_PERSONAL_DATA",
    "User",
    "add_user",
    "audit_entry",
    "audit_frame",
    "audit_record",
    "authenticate",
    "demo_users",
    "end_logins",
    "hash_password",
    "list_users",
    "make_user",
    "mask_address",
    "mask_name",
    "mask_personal",
    "mask_phone",
    "mask_phones_in_text",
    "record",
    "remove_user",
    "require",
    "user_of",
    "users_by_name",
    "verify_password",
]
