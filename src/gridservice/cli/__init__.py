"""The ``gridservice`` command: a thin face over the domain functions.

Each module registers its verbs on :data:`app`. Domain errors become one red
line on stderr and a non-zero exit; nothing prints a traceback.
"""

from __future__ import annotations

import sys

# Importing the modules registers their commands.
from gridservice.cli import applications as _applications  # noqa: F401
from gridservice.cli import data as _data  # noqa: F401
from gridservice.cli import maps as _maps  # noqa: F401
from gridservice.cli import metrics as _metrics  # noqa: F401
from gridservice.cli import propose as _propose  # noqa: F401
from gridservice.cli import province as _province  # noqa: F401
from gridservice.cli import roster as _roster  # noqa: F401
from gridservice.cli import serve as _serve  # noqa: F401
from gridservice.cli import spatial as _spatial  # noqa: F401
from gridservice.cli import stars as _stars  # noqa: F401
from gridservice.cli import theft as _theft  # noqa: F401
from gridservice.cli import topology as _topology  # noqa: F401
from gridservice.cli import users as _users  # noqa: F401
from gridservice.cli import visits as _visits  # noqa: F401
from gridservice.cli import warnings as _warnings  # noqa: F401
from gridservice.cli.common import app, fail
from gridservice.errors import GridserviceError


def main() -> None:
    """Entry point of the ``gridservice`` script."""
    try:
        app()
    except GridserviceError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted", code=130)
    except OSError as exc:  # unreadable files, full disks: one line, not a traceback
        fail(f"{getattr(exc, 'filename', '') or ''}: {exc.strerror or exc}".lstrip(": "))


__all__ = ["app", "main"]

if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
