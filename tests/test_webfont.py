"""The CJK web font: the slices a page's text needs, embedded from the npm package."""

from __future__ import annotations

import base64
import re

import pytest

from gridservice.errors import AssetError
from gridservice.webfont import FONT_FAMILY, font_dir, font_face_css

DATA = re.compile(r"url\(data:font/woff2;base64,(?P<b64>[A-Za-z0-9+/=]+)\)")


def _embedded(css: str) -> list[bytes]:
    return [base64.b64decode(m.group("b64")) for m in DATA.finditer(css)]


def test_embeds_package_files_and_only_as_many_as_the_text_needs():
    files = {p.read_bytes() for p in (font_dir() / "files").glob("*.woff2")}
    few = _embedded(font_face_css("网格"))
    many = _embedded(font_face_css("南丰县供电服务区域网格覆盖客户数琴城镇白舍镇太和镇桑田镇紫霄镇"
                                   "市山镇洽湾镇三溪乡莱溪乡傅坊乡"))
    assert all(b in files for b in few + many)  # the package's own bytes, not a copy in the repo
    assert 1 <= len(few) <= 3  # the Latin slice and the one or two slices of 网 and 格
    assert len(few) < len(many) < len(files) // 2
    assert all(FONT_FAMILY in rule for rule in font_face_css("网格").split("\n") if "font-family" in rule)


def test_a_missing_font_package_says_what_to_run(tmp_path, monkeypatch):
    monkeypatch.setenv("GRIDSERVICE_WEB_DIR", str(tmp_path))
    with pytest.raises(AssetError, match=r"npm ci --prefix web"):
        font_face_css("网格")
