"""Offline assets: every script and stylesheet comes from an installed package."""

from __future__ import annotations

import re

import folium
import pytest

from gridservice.errors import AssetError
from gridservice.maps import ASSET_URL_PREFIX, asset_dir, asset_files, base_map, map_html, offline_html
from gridservice.webfont import FONT_CSS_URL

EXTERNAL = re.compile(r"""<(?:script|link)\b[^>]*(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


def test_every_asset_is_an_installed_file():
    files = asset_files()
    assert {"leaflet.js", "leaflet.css", "leaflet-heat.js", "gridservice-maps.js", "images/layers.png"} <= set(files)
    assert all(p.is_file() and p.stat().st_size > 0 for p in files.values())
    assert "Leaflet" in files["leaflet.js"].read_text(encoding="utf-8")[:2000]


def test_inlined_page_links_nothing_outside():
    m = base_map((116.4, 27.1, 116.5, 27.2), basemap="none")
    html = map_html(m)
    assert not EXTERNAL.search(html)
    assert "<script src" not in html and 'rel="stylesheet"' not in html
    assert html.count("/* leaflet.js */") == 1 and "/* gridservice-maps.css */" in html
    # Leaflet's control images are embedded too.
    assert "url(images/" not in html and "data:image/png;base64," in html


def test_folium_cdn_links_are_rewritten_to_local_copies():
    page = ('<head><script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"></script>'
            '<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css"/>'
            '<script src="https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/'
            'leaflet_heat.min.js"></script></head>')
    served = offline_html(page, inline=False)
    assert served == (f'<head><script src="{ASSET_URL_PREFIX}/leaflet.js"></script>'
                      f'<link rel="stylesheet" href="{ASSET_URL_PREFIX}/leaflet.css"/>'
                      f'<script src="{ASSET_URL_PREFIX}/leaflet-heat.js"></script>'
                      f'<link rel="stylesheet" href="{FONT_CSS_URL}"/></head>')
    inlined = offline_html(page)
    assert "cdn.jsdelivr" not in inlined
    assert asset_files()["leaflet-heat.js"].read_text(encoding="utf-8").strip()[:200] in inlined


def test_a_link_with_no_local_copy_is_refused_by_name():
    m = folium.Map(tiles=None)  # folium's own page pulls jQuery and Bootstrap from CDNs
    with pytest.raises(AssetError, match=r"code\.jquery\.com/jquery"):
        offline_html(m)


def test_asset_dir_serves_the_same_bytes(tmp_path):
    root = asset_dir(tmp_path)
    for name, path in asset_files().items():
        assert (root / name).read_bytes() == path.read_bytes()
    assert asset_dir(tmp_path) == root  # built once, then reused
