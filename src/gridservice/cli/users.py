"""``gridservice user add|list|remove``: the people who may log in, and their roles."""

from __future__ import annotations

from typing import Annotated

import typer

from gridservice.auth import ROLES, add_user, end_logins, list_users, remove_user
from gridservice.cli.common import DataOpt, Format, FormatOpt, app, console, data_path, emit, fail
from gridservice.io import open_store

user_app = typer.Typer(help=f"Users and roles ({', '.join(ROLES)}).", no_args_is_help=True)
app.add_typer(user_app, name="user")

_BY = "cli"


@user_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name (no spaces or colons).")],
    role: Annotated[str, typer.Option("--role", "-r", help=f"One of: {', '.join(ROLES)}.")],
    data: DataOpt = None,
    display_name: Annotated[str, typer.Option("--name", help="Name shown in the app.")] = "",
    password: Annotated[str | None, typer.Option(
        help="Password (at least 8 characters); asked for when not given, which keeps it out of the shell history.",
    )] = None,
    replace: Annotated[bool, typer.Option("--replace",
                                          help="Replace an existing user (a new password or role).")] = False,
) -> None:
    """Add a user with a role; the password is stored only as an Argon2 hash.

    With ``--replace``, the user's earlier logins end at once."""
    store = open_store(data_path(data))
    if not store.exists():
        fail(f"{store.url}: no such GeoPackage")
    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    user = add_user(store, username, role, password, display_name=display_name, by=_BY, replace=replace)
    console.print(f"{'replaced' if replace else 'added'} [bold]{user.username}[/] ({user.role})")


@user_app.command("list")
def list_(data: DataOpt = None, fmt: FormatOpt = Format.table) -> None:
    """Users and their roles (never a password hash)."""
    store = open_store(data_path(data))
    if not store.exists():
        fail(f"{store.url}: no such GeoPackage")
    emit(list_users(store).reset_index(), fmt, title="users")


@user_app.command("remove")
def remove(username: Annotated[str, typer.Argument(help="Login name.")], data: DataOpt = None) -> None:
    """Remove a user; their logins stop working at once."""
    store = open_store(data_path(data))
    if not store.exists():
        fail(f"{store.url}: no such GeoPackage")
    remove_user(store, username, by=_BY)
    console.print(f"removed [bold]{username}[/]")


@user_app.command("logout")
def logout(username: Annotated[str, typer.Argument(help="Login name.")], data: DataOpt = None) -> None:
    """End every login of a user: their tokens stop working at once (a lost laptop, a leaked token)."""
    store = open_store(data_path(data))
    if not store.exists():
        fail(f"{store.url}: no such GeoPackage")
    end_logins(store, username, by=_BY)
    console.print(f"ended the logins of [bold]{username}[/]")
