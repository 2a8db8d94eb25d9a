"""``gridservice serve``: the API, the OGC API for GIS clients and the browser app."""

from __future__ import annotations

import os
import threading
from typing import Annotated

import typer

from gridservice.cli.common import DataOpt, app, console, data_path
from gridservice.cli.common import settings as cli_settings
from gridservice.config import default_data_path


@app.command()
def serve(
    data: DataOpt = None,
    host: Annotated[str | None, typer.Option(
        help="Address to listen on (default 127.0.0.1; env GRIDSERVICE_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000; env GRIDSERVICE_PORT).")] = None,
    workers: Annotated[int | None, typer.Option(
        min=1, help="Server processes over the one store (default 1; env GRIDSERVICE_WORKERS).")] = None,
) -> None:
    """Serve the API (/api/v1, docs at /docs), the OGC API (/ogc), maps and the browser app.

    Builds the demo first if it is missing; when the data holds the demo
    users, their logins are printed. With --workers N each of N processes
    loads the area and answers requests; a write through any of them is seen
    by the others' next read.
    """
    import uvicorn

    from gridservice.api import create_app
    from gridservice.api.security import check_secret
    from gridservice.auth import new_secret
    from gridservice.cli.data import write_demo
    from gridservice.io import open_store

    settings = cli_settings()
    target = data_path(data)
    store = open_store(target)
    if not store.exists() and target == str(default_data_path()):
        console.print("no data yet: generating the Nanfeng demo first")
        write_demo(target)
    host, port, workers = host or settings.host, port or settings.port, workers or settings.workers
    url = f"http://{host}:{port}"
    if workers == 1:
        with console.status("loading the service area"):
            application = create_app(target, settings=settings)
        users = application.state.holder.get().users
    else:
        # The workers are new processes: they learn the data, their number and the signing key (one for all,
        # or a login made on one is refused by the others) from the environment.
        os.environ.update(GRIDSERVICE_DATA=target, GRIDSERVICE_WORKERS=str(workers),
                          GRIDSERVICE_SECRET_KEY=check_secret(settings.secret_key or new_secret()))
        users = store.read(["users"])["users"]
        console.print(f"starting {workers} workers; each loads the service area")
    console.print(f"serving [bold]{target}[/] at {url}/  (API docs: {url}/docs, QGIS: {url}/ogc)")
    logins = demo_logins(users)
    if logins:
        console.print("demo logins (change them before real use: `gridservice user add NAME --role ROLE --replace`):")
        for username, (role, password) in logins.items():
            console.print(f"  {role:<11} {username} / {password}")
    if not settings.secret_key:
        console.print("[dim]GRIDSERVICE_SECRET_KEY is not set: logins end when the server stops[/]")
    if workers == 1:
        try:
            uvicorn.run(application, host=host, port=port, log_level="warning")
        finally:
            getattr(application.state, "warm_up_stop", threading.Event()).set()  # stopping: no more warm-up
    else:
        uvicorn.run("gridservice.api.app:from_environment", factory=True, workers=workers, host=host, port=port,
                    log_level="warning")


def demo_logins(users: object) -> dict[str, tuple[str, str]]:
    """The demo users whose demo password still works: username → (role, password)."""
    from gridservice.auth import DEMO_USERS, verify_password

    out = {}
    for username in DEMO_USERS:
        if username in users.index:  # type: ignore[attr-defined]
            password = f"{username}-demo"
            if verify_password(password, str(users.loc[username, "password_hash"])):  # type: ignore[attr-defined]
                out[username] = (str(users.loc[username, "role"]), password)  # type: ignore[attr-defined]
    return out
