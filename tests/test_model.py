"""The in-memory service area: helpers of :mod:`gridservice.model`."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import shapely
from pyproj.aoi import AreaOfInterest
from pyproj.database import query_utm_crs_info

from gridservice.model import ServiceArea, utm_crs
from gridservice.schema import LAYERS


@pytest.mark.parametrize(("lon", "lat"), [(116.5, 27.2), (-73.9, 40.7), (151.2, -33.9), (-0.1, 51.5), (2.0, -1.0)])
def test_utm_crs_is_the_zone_pyproj_names(lon: float, lat: float) -> None:
    """Checked against pyproj's own UTM zone lookup (WGS 84, northern 326xx / southern 327xx)."""
    [zone] = query_utm_crs_info(datum_name="WGS 84", area_of_interest=AreaOfInterest(lon, lat, lon, lat))
    assert utm_crs(shapely.Point(lon, lat)) == f"{zone.auth_name}:{zone.code}"


def test_utm_crs_uses_the_centroid() -> None:
    # A box from 113.5° to 119.5° E straddles zones 49 and 50; its centroid (116.5° E) lies in 50.
    assert utm_crs(shapely.box(113.5, 26.0, 119.5, 28.0)) == "EPSG:32650"


# -- declared layers and the one cache --------------------------------------------------------


def test_every_declared_layer_is_an_attribute(tiny: ServiceArea) -> None:
    declared = {name for name, value in vars(ServiceArea).items() if type(value).__name__ == "_Layer"}
    assert declared == set(LAYERS)
    assert tiny.customers is tiny.layers["customers"]
    with pytest.raises(AttributeError):
        tiny.not_a_layer  # noqa: B018


def test_cached_holds_while_its_input_frames_are_the_same(tiny: ServiceArea) -> None:
    built: list[str] = []

    def build(name: str) -> str:
        built.append(name)
        return name

    for area in (tiny, tiny):
        area.cached("by_grids", ("grids",), lambda: build("by_grids"))
        area.cached("by_customers", ("customers",), lambda: build("by_customers"))
    assert built == ["by_grids", "by_customers"]
    # a copy with new customers keeps the entry built from grids only
    moved = tiny.replace(customers=tiny.customers.iloc[:2])
    moved.cached("by_grids", ("grids",), lambda: build("by_grids"))
    moved.cached("by_customers", ("customers",), lambda: build("by_customers"))
    assert built == ["by_grids", "by_customers", "by_customers"]
    # a layer swapped in the layers dict (not through replace) is seen too
    swapped = tiny.replace()
    swapped.layers["grids"] = tiny.grids.copy()
    swapped.cached("by_grids", ("grids",), lambda: build("by_grids"))
    assert built[-1] == "by_grids" and len(built) == 4


def test_a_token_entry_survives_new_frames_with_the_same_token(tiny: ServiceArea) -> None:
    def names(area: ServiceArea) -> tuple[str, ...]:
        return tuple(area.customers["name"])

    built: list[int] = []
    tiny.cached("index", ("customers",), lambda: built.append(1) or "index", token=names)
    same = tiny.replace(customers=tiny.customers.assign(grid_id="G1"))  # names unchanged
    assert same.cached("index", ("customers",), lambda: built.append(2) or "new", token=names) == "index"
    renamed = tiny.replace(customers=tiny.customers.assign(name="x"))
    assert renamed.cached("index", ("customers",), lambda: built.append(3) or "new", token=names) == "new"
    reloaded = ServiceArea({k: v.copy() for k, v in tiny.layers.items()}, trusted=True)  # new frames, as reloaded
    reloaded.adopt_cached(tiny)
    assert reloaded.cached("index", ("customers",), lambda: built.append(4) or "new", token=names) == "index"
    assert built == [1, 3]


def test_a_build_holds_up_only_its_own_name(tiny: ServiceArea) -> None:
    """A slow build in one thread (the server's warm-up) lets another thread build and read other
    entries, and a second caller of the same name waits for that one build instead of repeating it."""
    started, release = threading.Event(), threading.Event()
    built: list[str] = []

    def slow() -> str:
        built.append("slow")
        started.set()
        assert release.wait(30)
        return "slow"

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(tiny.cached, "slow", ("customers",), slow)
        assert started.wait(30)
        assert tiny.cached("quick", ("grids",), lambda: "quick") == "quick"  # not behind the slow build
        second = pool.submit(tiny.cached, "slow", ("customers",), slow)
        release.set()
        assert first.result(30) == second.result(30) == "slow"
    assert built == ["slow"]


def test_cached_update_derives_from_the_stale_value() -> None:
    area = ServiceArea({})
    seen = []

    def update(old: int) -> int | None:
        seen.append(old)
        return old + 1 if old < 2 else None  # None: build afresh

    token = lambda a: len(a.layers["substations"].columns)  # noqa: E731
    assert area.cached("n", ("substations",), lambda: 1, token=token, update=update) == 1
    assert seen == []  # the first build has no stale value
    area.layers["substations"]["extra"] = []
    assert area.cached("n", ("substations",), lambda: 10, token=token, update=update) == 2
    area.layers["substations"]["more"] = []
    assert area.cached("n", ("substations",), lambda: 10, token=token, update=update) == 10
    assert seen == [1, 2]
