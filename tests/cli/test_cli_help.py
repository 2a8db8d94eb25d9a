"""``--help`` of every command: flags read as flags, with no value type."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from gridservice.cli import app


def command_paths(command=None, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    command = command or typer.main.get_command(app)
    subs = getattr(command, "commands", {})
    return [path] + [p for name, sub in subs.items() for p in command_paths(sub, (*path, name))]


PATHS = command_paths()


def test_the_tree_is_walked() -> None:
    assert {(), ("plan",), ("plan", "propose"), ("init",), ("user", "add"), ("audit",)} <= set(PATHS)


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "gridservice")
def test_flags_show_no_value_type(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    help_line = next(line for line in result.output.splitlines() if "--help" in line)
    assert help_line.split("│")[1].split() == ["--help", "Show", "this", "message", "and", "exit."]


def test_overwrite_flags_are_plain() -> None:
    for path, flag in ((("init",), "--force"), (("user", "add"), "--replace"), (("plan", "propose"), "--force")):
        out = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "160"}).output
        line = next(line for line in out.splitlines() if f" {flag} " in line)
        assert "--no-" not in line and "<" not in line, line
