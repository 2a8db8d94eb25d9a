"""The CJK web font: Chinese reads on a machine without CJK system fonts.

A fresh Debian has no Chinese font; a browser there draws every 汉字 as an
empty box. The app, the maps and the report name Noto Sans SC first in
their font stacks and bring it themselves, from the npm package
``@fontsource-variable/noto-sans-sc`` (``npm ci --prefix web``): one
variable font cut by Unicode range into about a hundred small WOFF2 files.

* Pages the server serves link its stylesheet (:data:`FONT_CSS_URL`); a
  browser fetches only the slices holding characters it draws.
* Files that must open anywhere (an exported map, the HTML report) embed the
  slices their own text needs as data URIs (:func:`font_face_css`).
"""

from __future__ import annotations

import base64
import bisect
import re
from functools import cache
from pathlib import Path

from gridservice.config import web_root
from gridservice.errors import AssetError

__all__ = ["FONT_CSS_URL", "FONT_FAMILY", "FONT_STACK", "font_dir", "font_face_css"]

#: The npm package the font comes from.
PACKAGE = "@fontsource-variable/noto-sans-sc"
#: Its family name, as its stylesheet declares it.
FONT_FAMILY = "Noto Sans SC Variable"
#: The CSS font stack of our pages: the web font first, so every machine draws the same letters.
FONT_STACK = f'"{FONT_FAMILY}", "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif'
#: Where the server serves the package (``gridservice.api.web.VENDOR``).
FONT_CSS_URL = "/vendor/noto-sans-sc/index.css"

_FACE = re.compile(r"@font-face\s*\{(?P<body>[^}]*)\}")
_SRC = re.compile(r"url\(\s*['\"]?(?P<path>[^'\")]+\.woff2)['\"]?\s*\)")
_RANGE = re.compile(r"unicode-range:\s*(?P<ranges>[^;]+);")


def font_dir() -> Path:
    """The installed font package.

    Raises
    ------
    AssetError
        When ``web/node_modules`` does not hold it (``npm ci --prefix web`` was not run).
    """
    path = web_root() / "node_modules" / PACKAGE
    if not (path / "index.css").is_file():
        msg = (f"the Chinese web font ({PACKAGE}) is not installed in {path.parent.parent}; "
               f"run `npm ci --prefix web` in the gridservice checkout")
        raise AssetError(msg)
    return path


def _ranges(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        lo, _, hi = part.strip().removeprefix("U+").partition("-")
        out.append((int(lo, 16), int(hi or lo, 16)))
    return out


@cache
def _faces(root: Path) -> tuple[tuple[tuple[tuple[int, int], ...], Path, str], ...]:
    """Each ``@font-face`` of the package: its code point ranges, its file and its rule."""
    css = (root / "index.css").read_text(encoding="utf-8")
    faces = []
    for match in _FACE.finditer(css):
        body = match.group("body")
        src, ranges = _SRC.search(body), _RANGE.search(body)
        if src is None or ranges is None:
            continue
        faces.append((tuple(_ranges(ranges.group("ranges"))), root / src.group("path"), match.group(0)))
    if not faces:
        msg = f"{root / 'index.css'}: no @font-face with a woff2 file and a unicode-range"
        raise AssetError(msg)
    return tuple(faces)


def font_face_css(text: str) -> str:
    """``@font-face`` rules, files embedded, for the slices of the font that ``text`` uses.

    Only slices holding a character of ``text`` are embedded, so a page with
    a few hundred distinct 汉字 carries a fraction of the font.

    Examples
    --------
    >>> css = font_face_css("网格")  # doctest: +SKIP
    >>> css.count("@font-face"), "data:font/woff2;base64," in css  # doctest: +SKIP
    (1, True)
    """
    used = sorted({ord(c) for c in set(text) if ord(c) > 0x7F} | {ord("a")})  # Latin too: digits share the font

    def needed(ranges: tuple[tuple[int, int], ...]) -> bool:
        for lo, hi in ranges:
            i = bisect.bisect_left(used, lo)
            if i < len(used) and used[i] <= hi:
                return True
        return False

    rules = []
    for ranges, path, rule in _faces(font_dir()):
        if needed(ranges):
            uri = "data:font/woff2;base64," + base64.b64encode(path.read_bytes()).decode()
            rules.append(_SRC.sub(f"url({uri})", rule, count=1))
    return "\n".join(rules)
