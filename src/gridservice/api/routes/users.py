"""User management (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.concurrency import run_in_threadpool

from gridservice.api.deps import Admin, AreaDep, HolderDep
from gridservice.api.geojson import records
from gridservice.api.models import UserCreate, UserPublic
from gridservice.auth import User, add_user, remove_user

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserPublic])
def users(area: AreaDep, user: Admin) -> list[UserPublic]:
    """Every user with their role (never a password hash)."""
    frame = area.users.drop(columns="password_hash").reset_index()
    return [UserPublic.model_validate(row) for row in records(frame, index=False)]


@router.post("", response_model=UserPublic, status_code=201)
async def create_user(body: UserCreate, holder: HolderDep, user: Admin) -> UserPublic:
    """Add a user (recorded in the audit log)."""
    def work() -> User:
        with holder.writing() as changes:
            made = add_user(holder.store, body.username, body.role, body.password,
                            display_name=body.display_name or "", by=user.username)
            changes.reread.append("users")
        return made

    made = await run_in_threadpool(work)
    return UserPublic.of(made)


@router.delete("/{username}", status_code=204)
def delete_user(username: str, holder: HolderDep, user: Admin) -> Response:
    """Remove a user; their tokens stop working at once."""
    with holder.writing() as changes:
        remove_user(holder.store, username, by=user.username)
        changes.reread.append("users")
    return Response(status_code=204)
