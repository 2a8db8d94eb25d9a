"""The README's command table is true: every verb is in it, with the arguments and options it requires.

Each code span of the table's command column is one verb (``gridservice plan check FILE
[--complete]``, later spans on a row may drop ``gridservice``); ``a\\|b`` is a choice of values.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer

from gridservice.cli import app

README = Path(__file__).resolve().parents[2] / "README.md"


def leaves(command=None, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], object]:
    command = command or typer.main.get_command(app)
    subs = getattr(command, "commands", None)
    if not subs:
        return {path: command}
    return {p: c for name, sub in subs.items() for p, c in leaves(sub, (*path, name)).items()}


COMMANDS = leaves()


def spans() -> list[str]:
    text = README.read_text(encoding="utf-8")
    table = text[text.index("| who | command |"):]
    table = table[:table.index("\n\n")]
    rows = [line.split(" | ")[1] for line in table.splitlines()[2:]]
    return [s.replace("\\|", "|").removeprefix("gridservice ") for row in rows for s in re.findall(r"`([^`]+)`", row)]


def parse(span: str) -> tuple[tuple[str, ...], list[str], set[str]]:
    """The verb path, the positional words right after it and every ``--option`` named."""
    words = span.split()
    path: tuple[str, ...] = ()
    while words and any(p[: len(path) + 1] == (*path, words[0]) for p in COMMANDS):
        path, words = (*path, words[0]), words[1:]
    positional = []
    for w in words:
        if w.startswith(("-", "[", "(")):
            break
        positional.append(w)
    options = {w.strip("[]()|") for w in words if w.strip("[]()|").startswith("--")}
    return path, positional, options


SPANS = [parse(s) for s in spans()]


def test_every_verb_is_in_the_table() -> None:
    assert sorted(p for p, _, _ in SPANS) == sorted(COMMANDS)


@pytest.mark.parametrize(("path", "positional", "options"), SPANS, ids=lambda v: " ".join(v) if
                         isinstance(v, tuple) else None)
def test_each_verb_as_its_help_says(path: tuple[str, ...], positional: list[str], options: set[str]) -> None:
    command = COMMANDS[path]
    params = command.params  # type: ignore[attr-defined]
    known = {o for p in params if getattr(p, "opts", None) for o in [*p.opts, *p.secondary_opts]}
    assert options <= known, f"{' '.join(path)}: no such option {options - known}"
    required = {p.opts[0] for p in params if p.required and p.param_type_name == "option"}
    assert required <= options, f"{' '.join(path)}: the table omits {required - options}"
    arguments = [p for p in params if p.param_type_name == "argument"]
    needed = sum(p.required for p in arguments)
    assert needed <= len(positional) <= len(arguments), f"{' '.join(path)}: arguments {positional}"
