"""``gridservice serve``: the API and the browser app."""

from __future__ import annotations

from typing import Annotated

import typer

from gridservice.cli.common import DataOpt, app, console, data_path
from gridservice.config import default_data_path, get_settings


@app.command()
def serve(
    data: DataOpt = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8000).")] = None,
) -> None:
    """Serve the API and the browser app; builds the demo first if it is missing."""
    import uvicorn

    from gridservice.api import create_app
    from gridservice.cli.data import write_demo
    from gridservice.io import open_store

    settings = get_settings()
    target = data_path(data)
    if not open_store(target).exists() and target == str(default_data_path()):
        console.print("no data yet: generating the Nanfeng demo first")
        write_demo(target)
    application = create_app(target)
    host, port = host or settings.host, port or settings.port
    console.print(f"serving [bold]{target}[/] at http://{host}:{port}/  (API docs: /docs)")
    uvicorn.run(application, host=host, port=port, log_level="warning")
