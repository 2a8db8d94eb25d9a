"""Customers at every zoom in headless Chromium: below zoom 15 the dispatcher's map shows their density in
squares, above it the dots. What is drawn is checked against the demo's customers read with geopandas: every
customer in view lies in a drawn square, and each square's count is the number geopandas finds in it.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

import geopandas as gpd
import pytest
import shapely

from headless import wait_until

pytestmark = pytest.mark.browser

#: Nanfeng lies at 116.45°E, 27.2°N: UTM zone 50 north, where the squares are squares.
UTM_50N = "EPSG:32650"

DRAWN = """() => { const v = window.gridservice.dispatcher; const out = [];
  v.map.eachLayer((l) => { if (l.options.pane === 'density' && l.feature)
    out.push({count: l.feature.properties.count, fill: l.options.fillColor, geometry: v.view.geometryOf(l)}); });
  const rows = [...document.querySelectorAll('.leaflet-bottom.leaflet-left .legend-row')].map((r) =>
    ({colour: getComputedStyle(r.querySelector('.swatch')).backgroundColor, label: r.textContent}));
  const b = v.map.getBounds();
  return {cells: out, bounds: [...v.view.fromLatLng(b.getSouthWest()), ...v.view.fromLatLng(b.getNorthEast())],
          zoom: v.map.getZoom(), rows,
          legend: document.querySelector('.leaflet-bottom.leaflet-left .legend').textContent,
          dots: document.querySelectorAll('.leaflet-customers-pane path').length}; }"""
CENTRE = """([lon, lat, zoom]) => { const v = window.gridservice.dispatcher;
  v.map.setView(v.view.toLatLng(lon, lat), zoom, {animate: false}); }"""


def _drawn(page: Any) -> dict:
    """What the map shows once it has drawn the view it is at (the app notes the view it drew)."""
    wait_until(page, """() => { const v = window.gridservice.dispatcher; const b = v.map.getBounds();
        const view = [...v.view.fromLatLng(b.getSouthWest()), ...v.view.fromLatLng(b.getNorthEast())];
        return v.map.getContainer().dataset.densityView === view.map((x) => x.toFixed(6)).join(','); }""")
    return page.evaluate(DRAWN)


def test_dispatcher_sees_customer_density_when_zoomed_out_and_dots_when_in(tab: Any) -> None:
    server, page = tab.server, tab.page
    customers = gpd.read_file(server.data, layer="customers")
    customers = customers[~(customers.geometry.isna() | customers.geometry.is_empty)]
    tab.login("dispatcher")
    page.wait_for_selector("#dispatcher-map .density-cell")

    drawn = _drawn(page)
    assert drawn["zoom"] < 15 and drawn["cells"] and drawn["dots"] == 0
    cells = gpd.GeoDataFrame([c["count"] for c in drawn["cells"]], columns=["count"],
                             geometry=[shapely.geometry.shape(c["geometry"]) for c in drawn["cells"]], crs="EPSG:4326")
    in_view = customers[customers.intersects(shapely.box(*drawn["bounds"])).to_numpy()].to_crs(UTM_50N)
    joined = gpd.sjoin(customers.to_crs(UTM_50N)[["geometry"]], cells.to_crs(UTM_50N), predicate="within")
    assert set(in_view.index) <= set(joined.index)  # no customer in view is left out
    assert joined.groupby("index_right").size().sort_index().tolist() == cells["count"].tolist()
    assert "方格" in drawn["legend"]
    # the legend's classes follow each other without overlap and cover every count; each square has its class's colour
    classes = [(int(lo), int(hi or lo), row["colour"]) for row in drawn["rows"]
               for lo, hi in [re.fullmatch(r"([\d,]+)(?: – ([\d,]+))?", row["label"].replace(",", "")).groups()]]
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(classes))
    assert classes[0][0] == cells["count"].min() and classes[-1][1] == cells["count"].max()
    for count, fill in zip(cells["count"], [c["fill"] for c in drawn["cells"]], strict=True):
        [colour] = [c for lo, hi, c in classes if lo <= count <= hi]
        assert colour == "rgb({}, {}, {})".format(*(int(fill[i : i + 2], 16) for i in (1, 3, 5)))
    tab.shot("dispatcher-density")

    # zoomed in on a customer: the dots, and the squares gone
    c = customers.geometry.iloc[len(customers) // 2]
    page.evaluate(CENTRE, [c.x, c.y, 16])
    page.wait_for_selector(".leaflet-customers-pane path")
    near = _drawn(page)
    assert near["cells"] == [] and near["dots"] > 0 and near["legend"] == ""

    # and out again
    page.evaluate(CENTRE, [c.x, c.y, 12])
    far = _drawn(page)
    assert far["cells"] and far["dots"] == 0

    # a move, and the view left before its squares come: nothing touches the removed map
    page.evaluate(f"([lon, lat]) => {{ ({CENTRE})([lon, lat, 13]); document.querySelector('#logout').click(); }}",
                  [c.x, c.y])
    page.wait_for_selector("#login-form")
    page.wait_for_timeout(800)
    assert tab.blocked == [] and tab.errors == []


def test_a_removed_map_ignores_late_moves(tab: Any) -> None:
    """A view's requests can answer after the view was left: fitting or centring its removed map (the grids
    loaded, the routes drawn), or reading its bounds or a position, does not raise."""
    page = tab.page
    tab.login("dispatcher")
    moved = page.evaluate("""async () => {
        const { createMap } = await import('/app/map.js');
        const div = document.createElement('div');
        div.style.height = '200px';
        document.body.append(div);
        const view = createMap(div, {});
        view.map.remove();
        view.map.fitBounds([[27.0, 116.3], [27.3, 116.6]]);
        view.map.setView([27.2, 116.45], 12);
        view.map.getBounds();
        view.map.latLngToContainerPoint([27.2, 116.45]);
        return true; }""")
    assert moved and tab.errors == []
