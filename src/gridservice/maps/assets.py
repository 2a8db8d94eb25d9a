"""Front-end assets of the maps, served locally: nothing comes from a CDN.

Folium's templates point at CDN URLs. A utility intranet has no internet, so
every script and stylesheet a map needs is taken from a Python package
installed with gridservice (``pip install -e .`` is the whole set-up):

========================  =========================================  =======================
asset                     file                                       package (PyPI)
========================  =========================================  =======================
``leaflet.js`` / ``.css``  Leaflet 1.9.4 and its control images       ``django-js-lib-leaflet``
``leaflet-heat.js``        Leaflet.heat, as folium ships it           ``folium``
``gridservice-maps.*``     our canvas layer, legend and label helpers  ``gridservice``
Noto Sans SC (CJK font)    slices for the page's text                 npm, :mod:`gridservice.webfont`
========================  =========================================  =======================

(``django-js-lib-leaflet`` is a plain wheel of Leaflet's ``dist`` folder; it
does not need Django.) An exported file gets every asset inlined
(:func:`offline_html`); the server mounts :func:`asset_dir` at
:data:`ASSET_URL_PREFIX` and rewrites links to it (``inline=False``).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import re
import shutil
from functools import cache
from pathlib import Path, PurePosixPath

import folium

from gridservice.errors import AssetError
from gridservice.webfont import FONT_CSS_URL, font_face_css

__all__ = ["ASSET_URL_PREFIX", "asset_dir", "asset_files", "offline_html", "resolve_url"]

#: Where the server mounts :func:`asset_dir`; maps built for the server link here.
ASSET_URL_PREFIX = "/maps/assets"

_LEAFLET_IMAGES = ("layers.png", "layers-2x.png", "marker-icon.png", "marker-icon-2x.png", "marker-shadow.png")

# CDN file names (as folium and its plugins spell them) -> our asset name.
_BY_BASENAME = {
    "leaflet.js": "leaflet.js",
    "leaflet.css": "leaflet.css",
    "leaflet_heat.min.js": "leaflet-heat.js",
    "leaflet-heat.js": "leaflet-heat.js",
}

_TAG = re.compile(
    r"""<script\b[^>]*?\bsrc\s*=\s*["'](?P<js>[^"']+)["'][^>]*>\s*</script>"""
    r"""|<link\b[^>]*?\bhref\s*=\s*["'](?P<css>[^"']+)["'][^>]*?/?>""",
    re.IGNORECASE,
)
_CSS_URL = re.compile(r"""url\(\s*["']?(?!data:|https?:|/)(?P<path>[^"')]+)["']?\s*\)""")


def _package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        msg = (f"the map assets need the Python package {package!r}, which is not installed; "
               f"run `pip install -e .` (it is a dependency of gridservice)")
        raise AssetError(msg)
    return Path(next(iter(spec.submodule_search_locations)))


@cache
def asset_files() -> dict[str, Path]:
    """Asset name (a relative URL path) → the installed file that serves it.

    Raises
    ------
    AssetError
        When a package that carries an asset is missing or incomplete.
    """
    leaflet = _package_dir("js_lib_leaflet") / "static" / "js_lib_leaflet"
    files = {
        "leaflet.js": leaflet / "leaflet.js",
        "leaflet.css": leaflet / "leaflet.css",
        **{f"images/{name}": leaflet / "images" / name for name in _LEAFLET_IMAGES},
        "leaflet-heat.js": Path(folium.__file__).parent / "templates" / "leaflet_heat.min.js",
        "gridservice-maps.js": Path(__file__).parent / "static" / "gridservice-maps.js",
        "gridservice-maps.css": Path(__file__).parent / "static" / "gridservice-maps.css",
    }
    missing = [f"{name} ({path})" for name, path in files.items() if not path.is_file()]
    if missing:
        msg = f"map assets missing: {', '.join(missing)}; reinstall with `pip install -e .`"
        raise AssetError(msg)
    return files


def _cache_home() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gridservice"


def asset_dir(root: str | os.PathLike[str] | None = None) -> Path:
    """A directory holding every asset under its name, for a static-files mount.

    The files are copied from their packages into a folder named after their
    content hash, so a new Leaflet or a changed helper gets a new folder and a
    browser cache never mixes versions.

    Parameters
    ----------
    root
        Parent folder (default: ``$XDG_CACHE_HOME/gridservice``).

    Examples
    --------
    >>> from fastapi.staticfiles import StaticFiles  # doctest: +SKIP
    >>> app.mount(ASSET_URL_PREFIX, StaticFiles(directory=asset_dir()))  # doctest: +SKIP
    """
    files = asset_files()
    digest = hashlib.sha256()
    for name, path in sorted(files.items()):
        digest.update(name.encode())
        digest.update(path.read_bytes())
    target = Path(root) if root is not None else _cache_home()
    target = target / f"map-assets-{digest.hexdigest()[:12]}"
    if target.is_dir():
        return target
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    for name, path in files.items():
        dst = tmp / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dst)
    try:
        tmp.rename(target)
    except OSError:  # another process won the race: its copy is identical
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_url(url: str, *, prefix: str = ASSET_URL_PREFIX) -> str | None:
    """The asset name a script or stylesheet URL stands for, or ``None``.

    Folium's CDN URLs are recognised by file name (``.../leaflet@1.9.3/dist/leaflet.js``
    → ``leaflet.js``); URLs under ``prefix`` are ours already.
    """
    path = url.split("?", 1)[0].split("#", 1)[0]
    if path.startswith(prefix.rstrip("/") + "/"):
        name = path[len(prefix.rstrip("/")) + 1 :]
        return name if name in asset_files() else None
    return _BY_BASENAME.get(PurePosixPath(path).name)


def _data_uri(path: Path) -> str:
    mimes = {".png": "image/png", ".svg": "image/svg+xml", ".gif": "image/gif"}
    mime = mimes.get(path.suffix, "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def _inline_css(name: str) -> str:
    files = asset_files()
    css = files[name].read_text(encoding="utf-8")
    base = PurePosixPath(name).parent

    def embed(match: re.Match[str]) -> str:
        rel = str(base / match.group("path")) if str(base) != "." else match.group("path")
        target = files.get(rel)
        return f'url("{_data_uri(target)}")' if target is not None else match.group(0)

    return _CSS_URL.sub(embed, css)


def _script_text(name: str) -> str:
    # A literal "</script" inside inlined code would end the tag early.
    return asset_files()[name].read_text(encoding="utf-8").replace("</script", "<\\/script")


def offline_html(html: str | folium.Map, *, inline: bool = True, prefix: str = ASSET_URL_PREFIX) -> str:
    """Rewrite every ``<script src>`` and stylesheet ``<link href>`` to local assets.

    Parameters
    ----------
    html
        A rendered page, or a map to render.
    inline
        ``True``: embed each script and stylesheet (images as data URIs) so the
        file opens anywhere with no network. ``False``: point them at
        ``prefix`` (the server's mount of :func:`asset_dir`).
    prefix
        URL prefix of the assets for ``inline=False``.

    Raises
    ------
    AssetError
        When the page links a script or stylesheet that has no local copy
        (e.g. jQuery pulled in by a folium marker icon); the message lists them.
    """
    if not isinstance(html, str):
        html = html.get_root().render()
    unknown: list[str] = []
    seen: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        url = match.group("js") or match.group("css")
        is_js = match.group("js") is not None
        if not is_js and "stylesheet" not in match.group(0).lower():
            return match.group(0)  # <link rel="icon">, preload hints: not fetched as code
        name = resolve_url(url, prefix=prefix)
        if name is None:
            unknown.append(url)
            return match.group(0)
        if name in seen:
            return ""
        seen.add(name)
        if not inline:
            href = f"{prefix.rstrip('/')}/{name}"
            return f'<script src="{href}"></script>' if is_js else f'<link rel="stylesheet" href="{href}"/>'
        if is_js:
            return f"<script>/* {name} */\n{_script_text(name)}\n</script>"
        return f"<style>/* {name} */\n{_inline_css(name)}\n</style>"

    out = _TAG.sub(replace, html)
    if unknown:
        msg = f"the map links assets with no local copy (they would be fetched from the internet): {', '.join(unknown)}"
        raise AssetError(msg)
    # The Chinese web font: the server's copy, or the slices this page's text needs, embedded.
    font = f'<link rel="stylesheet" href="{FONT_CSS_URL}"/>' if not inline else f"<style>{font_face_css(out)}</style>"
    head = out.find("</head>")
    return out[:head] + font + out[head:] if head >= 0 else font + out
