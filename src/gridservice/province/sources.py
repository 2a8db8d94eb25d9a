"""Where a province's counties are: ``--areas SOURCE`` → county name → store URL.

SOURCE is a folder of GeoPackages, a glob of them (``'data/*.gpkg'``) or one
file; each county is named by its file's stem (``nanfeng.gpkg`` → ``nanfeng``).
Every URL is opened with :func:`gridservice.io.open_store`, so any store that
function knows can hold a county.
"""

from __future__ import annotations

import glob
from pathlib import Path

from gridservice.errors import DataError


def county_stores(source: str | Path) -> dict[str, str]:
    """The counties of ``source``, sorted by name, each with its store URL.

    Raises
    ------
    DataError
        If ``source`` names no GeoPackage, or two files share a county name.
    """
    text = str(source)
    path = Path(text)
    if path.is_dir():
        files = sorted(path.glob("*.gpkg"))
    elif glob.has_magic(text):
        files = sorted(Path(p) for p in glob.glob(text))
    else:
        files = [path]  # one county; opening it reports a missing file as that county's error
    out: dict[str, str] = {}
    for f in files:
        if f.name.startswith("."):  # a write in progress (.NAME.*.tmp.gpkg), not a county
            continue
        if f.stem in out:
            msg = f"--areas {text}: two counties named {f.stem!r} ({out[f.stem]} and {f})"
            raise DataError(msg)
        out[f.stem] = str(f)
    if not out:
        msg = f"--areas {text}: no GeoPackage (.gpkg) found"
        raise DataError(msg)
    return out
