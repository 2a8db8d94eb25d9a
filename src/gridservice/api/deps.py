"""What routes depend on: the area, the store, the user and their role, a page.

Routes declare these as ``Annotated`` aliases::

    @router.post("/work-orders")
    def create(body: WorkOrderCreate, area: AreaDep, user: Dispatcher) -> ...

A user is recognised by, in order: an ``Authorization: Bearer`` token, HTTP
basic credentials (QGIS), the browser app's cookie, or a ``token`` query
parameter (a GIS client that can only be given a URL). A state change that
only the cookie authenticates must come from this server's own pages
(:func:`~gridservice.api.security.check_same_origin`).

The dependencies that only read the app's state are ``async``: FastAPI runs
each plain ``def`` one in its thread pool, a hop per dependency per request.
Reading the area stays ``def`` (it may read the store to follow another
process's write), and so does each route that computes.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPBasic, OAuth2PasswordBearer

from gridservice.api.security import (
    COOKIE,
    AuditTrail,
    BasicCache,
    LoginGuard,
    RateLimit,
    Tokens,
    check_same_origin,
    client_of,
)
from gridservice.api.state import AreaHolder
from gridservice.auth import User, require
from gridservice.config import Rules, Settings
from gridservice.errors import AuthenticationError
from gridservice.io import Store
from gridservice.model import ServiceArea

# Declared for the OpenAPI docs ("Authorize" in /docs); the checks are below.
_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/login", auto_error=False)
_basic = HTTPBasic(auto_error=False)


async def get_settings(request: Request) -> Settings:
    """The app's settings (those :func:`~gridservice.api.create_app` was given)."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def get_rules(settings: SettingsDep) -> Rules:
    """The rules every analysis a route runs is given."""
    return settings.rules


RulesDep = Annotated[Rules, Depends(get_rules)]


async def get_holder(request: Request) -> AreaHolder:
    """The app's :class:`AreaHolder`."""
    return request.app.state.holder


HolderDep = Annotated[AreaHolder, Depends(get_holder)]


def get_area(holder: HolderDep) -> ServiceArea:
    """The current service area."""
    return holder.get()


AreaDep = Annotated[ServiceArea, Depends(get_area)]


async def get_store(holder: HolderDep) -> Store:
    """The store writes go to."""
    return holder.store


StoreDep = Annotated[Store, Depends(get_store)]


async def get_tokens(request: Request) -> Tokens:
    """The app's token issuer."""
    return request.app.state.tokens


TokensDep = Annotated[Tokens, Depends(get_tokens)]


async def get_guard(request: Request) -> LoginGuard:
    """The app's login throttle (every password check goes through it)."""
    return request.app.state.guard


GuardDep = Annotated[LoginGuard, Depends(get_guard)]


async def get_lookups(request: Request) -> RateLimit:
    """The app's per-user limit on customer lookups."""
    return request.app.state.lookups


LookupsDep = Annotated[RateLimit, Depends(get_lookups)]


async def get_trail(request: Request) -> AuditTrail:
    """The app's audit trail of lookups."""
    return request.app.state.trail


TrailDep = Annotated[AuditTrail, Depends(get_trail)]


def identify(request: Request, area: ServiceArea, tokens: Tokens) -> User:
    """The user a request's credentials name, or :class:`AuthenticationError` (401)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        return tokens.user(area, value.strip())
    if scheme.lower() == "basic" and value:
        try:
            username, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
        except ValueError:
            msg = "malformed basic credentials"
            raise AuthenticationError(msg) from None
        cache: BasicCache = request.app.state.basic_cache
        return cache.check(area, username, password, client=client_of(request))
    if cookie := request.cookies.get(COOKIE):
        check_same_origin(request)
        return tokens.user(area, cookie)
    if token := request.query_params.get("token"):
        return tokens.user(area, token)
    msg = "log in first (POST /api/v1/auth/login)"
    raise AuthenticationError(msg)


async def current_user(
    request: Request,
    area: AreaDep,
    tokens: TokensDep,
    _token: Annotated[str | None, Depends(_bearer)] = None,
    _credentials: Annotated[object, Depends(_basic)] = None,
) -> User:
    """The logged-in user, or :class:`AuthenticationError` (401)."""
    if _credentials is not None:  # a password check, which may wait out a throttle: off the event loop
        return await run_in_threadpool(identify, request, area, tokens)
    return identify(request, area, tokens)


CurrentUser = Annotated[User, Depends(current_user)]


def allowed(action: str):
    """A dependency giving the user if their role may perform ``action`` (else 403)."""

    async def dependency(user: CurrentUser) -> User:
        require(user, action)
        return user

    dependency.__name__ = f"allowed_{action.replace('.', '_')}"
    return dependency


Planner = Annotated[User, Depends(allowed("plan.commit"))]
Dispatcher = Annotated[User, Depends(allowed("work_order.create"))]
OutageWriter = Annotated[User, Depends(allowed("outage.create"))]
SwitchOperator = Annotated[User, Depends(allowed("switch.operate"))]
Admin = Annotated[User, Depends(allowed("user.manage"))]


@dataclass(frozen=True)
class Page:
    """One page of a list."""

    limit: int
    offset: int


async def page(
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many items.")] = 100,
    offset: Annotated[int, Query(ge=0, description="Skip this many items first.")] = 0,
) -> Page:
    """The ``limit``/``offset`` query parameters."""
    return Page(limit, offset)


PageDep = Annotated[Page, Depends(page)]
