"""Map pages: only known basemaps, and a bounded cache of pages."""

from __future__ import annotations

from api_helpers import headers
from fastapi.testclient import TestClient

from gridservice.api.state import AreaHolder
from gridservice.model import LRU_SIZE


def test_a_basemap_outside_the_allow_list_is_refused(client: TestClient) -> None:
    r = client.get("/maps/coverage", params={"basemap": "http://evil.example/{z}/{x}/{y}.png"},
                   headers=headers("supervisor"))
    assert r.status_code == 422
    assert r.json()["detail"] == ("basemap 'http://evil.example/{z}/{x}/{y}.png': use one of local, none, osm, "
                                  "gcj02 (or leave it out)")
    ok = client.get("/maps/coverage", params={"basemap": "gcj02"}, headers=headers("supervisor"))
    assert ok.status_code == 200 and "autonavi.com" in ok.text


def test_page_variants_are_kept_least_recently_used_first_out(small_gpkg) -> None:
    area = AreaHolder(str(small_gpkg)).get()
    built: list[int] = []

    def page(i: int) -> str:
        return area.cached(f"page{i}", tuple(area.layers), lambda: built.append(i) or f"<html>{i}</html>", lru=True)

    for i in range(LRU_SIZE):
        page(i)
    page(0)  # used again: now the most recent
    page(LRU_SIZE)  # one too many: page 1, the least recently used, goes
    assert built == [*range(LRU_SIZE), LRU_SIZE]
    page(0)
    assert built[-1] == LRU_SIZE  # page 0 was kept
    page(1)
    assert built[-1] == 1  # page 1 was built anew
