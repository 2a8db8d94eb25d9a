"""Login, refresh and logout: bearer tokens for API clients, cookies for the browser app.

A login gives a short access token and a refresh token good for the shift;
``POST /auth/refresh`` trades the refresh token for a new access token, and
logout ends every login of the user (their tokens stop working at once).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from gridservice.api.deps import AreaDep, CurrentUser, GuardDep, HolderDep, TokensDep, identify
from gridservice.api.models import LoginRequest, RefreshRequest, TokenPublic, UserPublic
from gridservice.api.security import COOKIE, REFRESH_COOKIE, Tokens, audit, check_same_origin, client_of
from gridservice.auth import User, end_logins
from gridservice.errors import AuthenticationError, DataError

router = APIRouter(prefix="/auth", tags=["auth"])


async def _credentials(request: Request) -> LoginRequest:
    """JSON ``{"username", "password"}`` or an OAuth2 password form (the docs' Authorize button)."""
    if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded", "multipart/")):
        form = await request.form()
        data: Any = {"username": form.get("username"), "password": form.get("password")}
    else:
        try:
            data = await request.json()
        except ValueError:
            msg = "the body must be JSON {\"username\": …, \"password\": …} or a login form"
            raise DataError(msg) from None
    try:
        return LoginRequest.model_validate(data)
    except ValidationError as exc:
        fields = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise DataError(f"login: {fields}") from None


@router.post("/login", response_model=TokenPublic, openapi_extra={"requestBody": {"content": {
    "application/json": {"schema": LoginRequest.model_json_schema()},
    "application/x-www-form-urlencoded": {"schema": LoginRequest.model_json_schema()}}, "required": True}})
async def login(request: Request, response: Response, area: AreaDep, holder: HolderDep, tokens: TokensDep,
                guard: GuardDep) -> TokenPublic:
    """Check a username and password; returns an access and a refresh token and sets the app's cookies.

    Failed logins are throttled per account and per client (429 with ``Retry-After``).
    """
    body = await _credentials(request)
    client = client_of(request)
    user = await run_in_threadpool(guard.authenticate, area.users, body.username, body.password, client=client)
    await run_in_threadpool(audit, holder, user=user.username, action="auth.login", detail=f"from {client}")
    refresh, refresh_expires = tokens.issue(user, kind="refresh")
    secure = request.url.scheme == "https"
    response.set_cookie(REFRESH_COOKIE, refresh, max_age=tokens.refresh_minutes * 60, httponly=True,
                        samesite="strict", secure=secure, path="/api/v1/auth")
    return _access(request, response, tokens, user, refresh, refresh_expires)


@router.post("/refresh", response_model=TokenPublic)
def refresh(request: Request, response: Response, area: AreaDep, tokens: TokensDep,
            body: RefreshRequest | None = None) -> TokenPublic:
    """A new access token for a refresh token (in the body, or the app's cookie)."""
    token = body.refresh_token if body is not None else request.cookies.get(REFRESH_COOKIE)
    if not token:
        msg = "no refresh token: log in (POST /api/v1/auth/login)"
        raise AuthenticationError(msg)
    if body is None:
        check_same_origin(request)
    user = tokens.user(area, token, kind="refresh")
    return _access(request, response, tokens, user, token, tokens.read(token, kind="refresh").expires)


def _access(request: Request, response: Response, tokens: Tokens, user: User, refresh: str,
            refresh_expires: datetime) -> TokenPublic:
    token, expires = tokens.issue(user)
    response.set_cookie(COOKIE, token, max_age=tokens.minutes * 60, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return TokenPublic(access_token=token, expires_at=expires, refresh_token=refresh,
                       refresh_expires_at=refresh_expires,
                       user=UserPublic.of(user))


@router.post("/logout", status_code=204)
def logout(request: Request, area: AreaDep, holder: HolderDep, tokens: TokensDep) -> Response:
    """End every login of the user (their tokens stop working at once) and forget the app's cookies."""
    try:
        user: User | None = identify(request, area, tokens)
    except AuthenticationError:  # already logged out or expired: only the cookies are left to clear
        user = None
    if user is not None:
        with holder.writing() as changes:
            end_logins(holder.store, user.username, by=user.username)
            changes.reread.append("users")
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    response.delete_cookie(REFRESH_COOKIE, path="/api/v1/auth")
    return response


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    """Who is logged in, with their role."""
    return UserPublic.of(user)
