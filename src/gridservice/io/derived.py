"""Derived state on disk: what takes seconds to build from the layers (the customer search index) is kept
under a digest of the very data it is built from, so that a restart loads it instead of building it.

An entry is a directory ``<root>/<kind>-<digest>/``: the object's NumPy arrays as ``.npy`` files
(memory-mapped when loaded, so that several server processes share one copy in the page cache), its
text columns as Arrow files (memory-mapped too), and ``tree.json`` saying how they fit together. No
pickle: a file in the cache can hold numbers and text, never code, and only the classes the caller
names are rebuilt.

An entry cannot be stale: data that changed has another digest, so it gets a new entry (the caller
computes the digest from the columns the object reads). An entry is written to a temporary directory
and renamed into place, so a reader sees a whole entry or none; of each kind the :data:`KEEP` most
recently used entries stay on disk. A cache that cannot be read or written is skipped: the object is
built, as without one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa

__all__ = ["KEEP", "load_or_build"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Entries of one kind kept on disk (the one in use and a few it may come back to).
KEEP = 2
_FORMAT = 1


def load_or_build(root: Path | None, kind: str, digest: str, build: Callable[[], T], *,
                  classes: Iterable[type]) -> T:
    """The object saved under ``kind`` and ``digest`` in ``root``, else ``build()``'s result, saved there.

    ``classes`` are the classes the object is made of (besides arrays, text columns, dicts, lists,
    numbers and strings); nothing else is rebuilt from a file. ``root`` ``None``: no cache.
    """
    if root is None:
        return build()
    known = {c.__qualname__: c for c in classes}
    path = Path(root) / f"{kind}-{digest}"
    if (path / "tree.json").is_file():
        try:
            value = _load(path, known)
        except (OSError, ValueError, KeyError, TypeError, pa.ArrowException) as exc:
            log.warning("derived state %s unreadable (%s): rebuilding it", path, exc)
        else:
            with contextlib.suppress(OSError):  # a read-only cache is still read
                os.utime(path)  # most recently used
            return value  # type: ignore[no-any-return]
    value = build()
    try:
        _save(value, path, known)
        _prune(Path(root), kind)
    except (OSError, TypeError, pa.ArrowException) as exc:
        log.warning("derived state not saved to %s: %s", path, exc)
    return value


def _save(value: object, path: Path, known: dict[str, type]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        files: list[str] = []
        tree = _encode(value, tmp, files, known)
        (tmp / "tree.json").write_text(json.dumps({"format": _FORMAT, "tree": tree}))
        try:
            tmp.rename(path)
        except OSError:
            if not (path / "tree.json").is_file():  # another process saved the same entry first: keep it
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _encode(value: Any, tmp: Path, files: list[str], known: dict[str, type]) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            msg = "object arrays are not saved"
            raise TypeError(msg)
        name = f"{len(files)}.npy"
        np.save(tmp / name, np.ascontiguousarray(value), allow_pickle=False)
        files.append(name)
        return {"npy": name}
    if isinstance(value, pd.Series):
        name = f"{len(files)}.arrow"
        array = pa.array(value.array, type=pa.string())
        with pa.OSFile(str(tmp / name), "wb") as sink, pa.ipc.new_file(sink, pa.schema([("v", pa.string())])) as w:
            w.write_table(pa.table({"v": array}))
        files.append(name)
        return {"text": name}
    if isinstance(value, dict):
        return {"dict": [[k, _encode(v, tmp, files, known)] for k, v in value.items()]}
    if isinstance(value, list | tuple):
        return {"list" if isinstance(value, list) else "tuple": [_encode(v, tmp, files, known) for v in value]}
    cls = type(value)
    if known.get(cls.__qualname__) is not cls:
        msg = f"{cls.__qualname__} is not among the classes to save"
        raise TypeError(msg)
    fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)} if dataclasses.is_dataclass(
        value) else vars(value)
    return {"object": cls.__qualname__, "fields": {k: _encode(v, tmp, files, known) for k, v in fields.items()}}


def _load(path: Path, known: dict[str, type]) -> Any:
    doc = json.loads((path / "tree.json").read_text())
    if doc.get("format") != _FORMAT:
        msg = f"format {doc.get('format')!r}"
        raise ValueError(msg)
    return _decode(doc["tree"], path, known)


def _decode(node: Any, path: Path, known: dict[str, type]) -> Any:
    if not isinstance(node, dict):
        return node
    if "npy" in node:
        return np.load(path / _file(node["npy"]), mmap_mode="r", allow_pickle=False)
    if "text" in node:
        with pa.memory_map(str(path / _file(node["text"]))) as source:
            column = pa.ipc.open_file(source).read_all().column("v").combine_chunks()
        return pd.Series(column, dtype="str")
    if "dict" in node:
        return {k: _decode(v, path, known) for k, v in node["dict"]}
    if "list" in node:
        return [_decode(v, path, known) for v in node["list"]]
    if "tuple" in node:
        return tuple(_decode(v, path, known) for v in node["tuple"])
    cls = known[node["object"]]
    fields = {k: _decode(v, path, known) for k, v in node["fields"].items()}
    if dataclasses.is_dataclass(cls):
        return cls(**fields)
    obj = cls.__new__(cls)
    vars(obj).update(fields)
    return obj


def _file(name: str) -> str:
    """A file name from ``tree.json``, never a path out of the entry."""
    if Path(name).name != name or name.startswith("."):
        msg = f"bad file name {name!r}"
        raise ValueError(msg)
    return name


def _prune(root: Path, kind: str) -> None:
    """Keep the :data:`KEEP` most recently used entries of ``kind``."""
    entries = sorted((p for p in root.glob(f"{kind}-*") if p.is_dir()), key=lambda p: p.stat().st_mtime,
                     reverse=True)
    for old in entries[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)
