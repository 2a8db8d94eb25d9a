"""What every command shares: the app, ``--data``, ``--format``, output and progress."""

from __future__ import annotations

import getpass
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn

import numpy as np
import pandas as pd
import typer
from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from typer.core import TyperGroup

from gridservice.config import Rules, Settings, get_settings


class Group(TyperGroup):
    """Typer's command group, with flags that read as flags in ``--help``.

    Typer's help prints a value type beside every option, ``<bool>`` too, as
    if ``--force`` took a value; a flag takes none, so for every command of
    the tree its flags (``--help`` included) get an empty type.
    """

    def get_params(self, ctx: typer.Context) -> list[Any]:
        _plain_flags(self, ctx)
        return super().get_params(ctx)


def _plain_flags(command: Any, ctx: typer.Context) -> None:
    for param in [*command.params, command.get_help_option(ctx)]:
        if getattr(param, "is_flag", False):
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _plain_flags(sub, ctx)


app = typer.Typer(
    cls=Group,
    name="gridservice",
    help="Grid-based service-area GIS for distribution utilities (供电服务网格化管理).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)


class Format(StrEnum):
    """How a command prints its result."""

    table = "table"
    json = "json"
    csv = "csv"


DataOpt = Annotated[
    str | None,
    typer.Option("--data", "-d", help="GeoPackage path or postgresql://USER@HOST/DB?area=NAME "
                                      "(default: the demo; env GRIDSERVICE_DATA)."),
]
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="table, json or csv.")]


OverwriteOpt = Annotated[bool, typer.Option("--force", help="Replace an existing GeoPackage.")]
UserOpt = Annotated[str | None, typer.Option("--user", help="Who is acting, for the audit log (default: $USER).")]


def acting_user(user: str | None) -> str:
    """The ``--user`` given, else the login name (``cli`` where a container has none)."""
    if user:
        return user
    try:
        return os.environ.get("USER") or getpass.getuser()
    except OSError:  # no login name in some containers
        return "cli"


def output_file(out: Path, data: str | None, *, suffixes: tuple[str, ...], force: bool = False) -> Path:
    """Where a command may write ``--out``: a file named with one of ``suffixes``, never the service
    area itself, and an existing GeoPackage (which may hold other data) only with ``--force``.
    Missing folders are made."""
    if out.suffix.lower() not in suffixes:
        fail(f"--out {out}: expected a {' / '.join(suffixes)} file name")
    if out.is_dir():
        fail(f"--out {out} is a folder: name a file")
    if out.exists() and out.resolve() == Path(data_path(data)).resolve():
        fail(f"--out {out} is the service area itself (--data): choose another file")
    if out.exists() and out.suffix.lower() == ".gpkg" and not force:
        fail(f"--out {out} already exists and may hold other layers: pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def settings() -> Settings:
    """This process's settings (``GRIDSERVICE_…`` variables): the CLI's one place to read them."""
    return get_settings()


def rules() -> Rules:
    """The rules every verb passes to the analyses: ``GRIDSERVICE_RULES__…`` over the SPEC §4 defaults."""
    return settings().rules


def data_path(data: str | None) -> str:
    """The ``--data`` value, or the configured default."""
    return data or settings().data


def fail(message: str, *, code: int = 1) -> NoReturn:
    """Print one clear error line and exit non-zero."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise SystemExit(code)


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: timestamps as ISO text, NaN as null, no geometry."""
    df = df.drop(columns=[c for c in ("geometry",) if c in df.columns])
    text = df.to_json(orient="records", date_format="iso", force_ascii=False, date_unit="s")
    return json.loads(text)


def emit(result: pd.DataFrame | dict[str, Any] | list[Any], fmt: Format, *, title: str | None = None) -> None:
    """Print a frame or a JSON-able object in the chosen format."""
    if isinstance(result, pd.DataFrame):
        if fmt is Format.json:
            sys.stdout.write(json.dumps(records(result), ensure_ascii=False, indent=2) + "\n")
        elif fmt is Format.csv:
            result.drop(columns=[c for c in ("geometry",) if c in result.columns]).to_csv(sys.stdout, index=False)
        else:
            console.print(frame_table(result, title=title))
        return
    if fmt is Format.table:
        console.print_json(json.dumps(plain(result), ensure_ascii=False, default=str))
    else:
        sys.stdout.write(json.dumps(plain(result), ensure_ascii=False, indent=2, default=str) + "\n")


def plain(value: Any) -> Any:
    """``value`` with every missing value (NaN, NaT, NA, None) as ``None`` — JSON null, never the
    text "NaN"/"NaT"/"<NA>" — NumPy scalars as Python ones and timestamps as ISO text."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def frame_table(df: pd.DataFrame, *, title: str | None = None, limit: int = 200) -> FrameTable:
    """The first ``limit`` rows, laid out for the terminal they are printed on (see :class:`FrameTable`)."""
    cols = [c for c in df.columns if c != "geometry"]
    rows = [["" if pd.isna(v) else str(v) for v in row] for row in df[cols].head(limit).itertuples(index=False)]
    caption = f"{limit} of {len(df)} rows shown; use --format csv for all" if len(df) > limit else None
    return FrameTable([str(c) for c in cols], rows, title=title, caption=caption)


#: Narrowest a column of prose (values with spaces) is squeezed to before a table gives way to records.
PROSE_MIN_WIDTH = 20


@dataclass
class FrameTable:
    """Rows of text laid out by the width of the console that prints them.

    A header never wraps, nor does a value without spaces (an id, a number,
    a time). When every column fits at its full width the rows are a table;
    when they fit with only the prose columns wrapped (to at least
    :data:`PROSE_MIN_WIDTH`), a table with those wrapped; otherwise each row
    is a block of ``column  value`` lines, as ``psql``'s expanded display.
    """

    headers: list[str]
    rows: list[list[str]]
    title: str | None = None
    caption: str | None = None

    def widths(self, width: int) -> list[int] | None:
        """Column widths of a table that fits in ``width`` cells, or ``None`` when none does."""
        room = width - (3 * len(self.headers) + 1)  # borders and one space of padding each side
        columns = list(zip(*self.rows, strict=True)) if self.rows else [()] * len(self.headers)
        natural, floor = [], []
        for header, values in zip(self.headers, columns, strict=True):
            full = max([cell_len(header), *(cell_len(v) for v in values)])
            if any(" " in v for v in values):
                words = max([cell_len(header), *(cell_len(w) for v in values for w in v.split())])
                floor.append(min(full, max(words, PROSE_MIN_WIDTH)))
            else:
                floor.append(full)
            natural.append(full)
        if sum(natural) <= room:
            return natural
        spare = room - sum(floor)
        if spare < 0:
            return None
        want = [n - f for n, f in zip(natural, floor, strict=True)]
        return [f + w * spare // sum(want) for f, w in zip(floor, want, strict=True)]

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        widths = self.widths(options.max_width)
        if widths is not None:
            table = Table(title=self.title, caption=self.caption)
            for header, w in zip(self.headers, widths, strict=True):
                table.add_column(header, width=w, overflow="fold")
            for row in self.rows:
                table.add_row(*row)
        else:
            table = Table(title=self.title, caption=self.caption, show_header=False, box=box.HORIZONTALS,
                          expand=True)
            table.add_column(style="bold", no_wrap=True)
            table.add_column(overflow="fold", ratio=1)  # the values take the width, not the names
            for row in self.rows:
                for i, (header, value) in enumerate(zip(self.headers, row, strict=True)):
                    table.add_row(header, value, end_section=i == len(row) - 1)
        yield table


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[str, float], None]]:
    """A Rich progress bar driven by a domain ``progress(step, fraction)`` callback."""
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TextColumn("{task.fields[step]}"), TimeElapsedColumn(), console=err_console, transient=False,
    ) as bar:
        task = bar.add_task(description, total=1.0, step="")

        def update(step: str, fraction: float) -> None:
            bar.update(task, completed=min(max(fraction, 0.0), 1.0), step=step)

        yield update
        bar.update(task, completed=1.0, step="done")
