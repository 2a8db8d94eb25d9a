"""Every response carries the security headers; pages running inline library scripts get only that allowance."""

from __future__ import annotations

from api_helpers import SETTINGS, headers
from fastapi.testclient import TestClient

from gridservice.api import create_app
from gridservice.api.headers import tile_sources


def _policy(value: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in value.split("; ")}


def test_api_answers_carry_the_security_headers(client: TestClient) -> None:
    for r in (client.get("/api/v1/health"), client.get("/api/v1/grids"),  # the second is a 401 problem
              client.get("/api/v1/grids", headers=headers("planner"))):
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"
        csp = _policy(r.headers["content-security-policy"])
        assert csp["script-src"] == ["'self'"] and csp["frame-ancestors"] == ["'none'"]
        assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"]


def test_maps_may_run_their_inline_script_and_load_tiles(client: TestClient) -> None:
    r = client.get("/maps/coverage?basemap=none", headers=headers("supervisor"))
    assert r.status_code == 200 and "<script>" in r.text  # Folium starts the map inline
    csp = _policy(r.headers["content-security-policy"])
    assert csp["script-src"] == ["'self'", "'unsafe-inline'"]
    assert "https://tile.openstreetmap.org" in csp["img-src"] and "https://*.is.autonavi.com" in csp["img-src"]


def test_the_configured_tile_server_may_serve_images(small_gpkg) -> None:
    assert tile_sources("http://10.1.2.3:8080/tiles/{z}/{x}/{y}.png")[-1] == "http://10.1.2.3:8080"
    # the local basemap and none draw no tiles from elsewhere: only the named ones may be chosen per map
    assert tile_sources("local") == tile_sources("none") == ["https://tile.openstreetmap.org",
                                                             "https://*.is.autonavi.com"]
    settings = SETTINGS.model_copy(update={"basemap": "http://10.1.2.3:8080/tiles/{z}/{x}/{y}.png"})
    with TestClient(create_app(str(small_gpkg), settings=settings, web=False)) as c:
        img = _policy(c.get("/api/v1/health").headers["content-security-policy"])["img-src"]
    assert img[:3] == ["'self'", "data:", "blob:"] and "http://10.1.2.3:8080" in img
