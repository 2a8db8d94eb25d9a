"""Login and logout: a bearer token for API clients, a cookie for the browser app."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from gridservice.api.deps import AreaDep, CurrentUser, TokensDep
from gridservice.api.models import LoginRequest, TokenPublic, UserPublic
from gridservice.api.security import COOKIE
from gridservice.auth import authenticate
from gridservice.errors import DataError

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
async def login(request: Request, response: Response, area: AreaDep, tokens: TokensDep) -> TokenPublic:
    """Check a username and password; returns a bearer token and sets the app's cookie."""
    body = await _credentials(request)
    user = await run_in_threadpool(authenticate, area.users, body.username, body.password)
    token, expires = tokens.issue(user)
    response.set_cookie(COOKIE, token, max_age=tokens.minutes * 60, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return TokenPublic(access_token=token, expires_at=expires,
                       user=UserPublic(username=user.username, role=user.role, display_name=user.display_name))


@router.post("/logout", status_code=204)
def logout(response: Response) -> Response:
    """Forget the browser app's cookie (bearer tokens simply expire)."""
    response.status_code = 204
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    """Who is logged in, with their role."""
    return UserPublic(username=user.username, role=user.role, display_name=user.display_name)
