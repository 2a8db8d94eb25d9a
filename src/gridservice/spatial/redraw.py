"""The redraw workflow: preview what a plan moves, commit it as a version, revert.

A plan (:func:`gridservice.spatial.plan.read_plan`) is previewed against the
service area before anything is saved (:func:`preview_plan`): which
customers, transformers and open work orders change grid, and per grid the
customers, households per grid member and area before and after.

:func:`commit_plan` saves the plan as the next plan version in one store
transaction — the grids, their snapshot in ``grid_history``, the
``plan_versions`` row and one ``audit_log`` row per change — so a commit is
all or nothing. It refuses a plan with errors unless forced with a reason
(recorded) — invalid polygons (self-intersections, bad rings) even then —
and a stale base version: the latest version is re-read under the
store's write lock and checked again by the store inside the write's own
transaction (in SQL on PostGIS), so of two planners committing on the same
base exactly one wins and the other gets :class:`~gridservice.errors.ConflictError`.

Versions are numbered from the grids' ``plan_version``. The first commit also
snapshots the plan it replaces, so every version can be restored with
:func:`revert_plan` (which commits the old version as a new one; history is
never rewritten). Grid codes stay stable: a changed code is a plan error.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gridservice import clock
from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import ConflictError, DataError, InvalidPlanError, NotFoundError, StoreError
from gridservice.io import Store
from gridservice.io.tables import conform
from gridservice.model import ServiceArea
from gridservice.schema import CRS, LAYERS, TIMEZONE
from gridservice.spatial.locate import assign_grids
from gridservice.spatial.plan import (
    PLAN_ATTRIBUTES,
    PlanContext,
    grid_members,
    latest_grid_version,
    latest_version,
    merge_plan,
    repaired,
    run_checks,
)

#: The layers whose rows can change grid, in report order.
MOVING_LAYERS = ("customers", "transformers", "work_orders")


@dataclass(frozen=True)
class PlanPreview:
    """What a plan would change, before it is saved.

    Attributes
    ----------
    grids
        The whole plan after the change (EPSG:4326, indexed by ``grid_id``).
    summary
        One row per grid (before or after): ``code``, ``name``,
        ``station_id``, ``status`` (added/changed/removed/unchanged),
        ``customers_before``/``_after``/``_change``, ``grid_members``,
        ``households_per_member_before``/``_after`` (NaN without members),
        ``area_km2_before``/``_after``.
    moves
        One row per customer, transformer or open work order that changes
        grid: ``layer``, ``feature_id``, ``from_grid_id``, ``to_grid_id``
        (NaN: outside every grid).
    findings
        The plan checks (:func:`gridservice.spatial.plan.check_plan`).
    """

    grids: gpd.GeoDataFrame
    summary: pd.DataFrame
    moves: pd.DataFrame
    findings: gpd.GeoDataFrame

    @property
    def errors(self) -> gpd.GeoDataFrame:
        """The findings that block a commit."""
        return self.findings[self.findings["severity"] == "error"]

    def move_counts(self) -> dict[str, int]:
        """How many rows of each layer change grid."""
        counts = self.moves["layer"].value_counts()
        return {name: int(counts.get(name, 0)) for name in MOVING_LAYERS}

    @property
    def changed(self) -> list[str]:
        """Grids added, changed or removed."""
        return list(self.summary.index[self.summary["status"] != "unchanged"])


def preview_plan(
    area: ServiceArea, plan: gpd.GeoDataFrame, *, complete: bool = False, rules: Rules = DEFAULT_RULES
) -> PlanPreview:
    """Preview a plan: what moves between grids and how each grid's load changes.

    Parameters
    ----------
    area
        The service area as it is.
    plan
        Grids from :func:`~gridservice.spatial.plan.read_plan` (some or all).
    complete
        ``plan`` is the whole plan: grids it lacks are removed.
    rules
        Thresholds for the plan checks (default: the configured rules).

    Returns
    -------
    PlanPreview
    """
    after_grids = merge_plan(area.grids, plan, complete=complete)
    before = assign_grids(area)
    after = assign_grids(area, after_grids)
    moves = _moves(area, before, after)
    summary = _summary(area, area.grids, after_grids, before["customers"], after["customers"])
    ctx = PlanContext(area, after_grids, plan.index, rules)
    ctx.customer_grids = after["customers"]  # located once, shared with the checks
    return PlanPreview(after_grids, summary, moves, run_checks(ctx))


def _moves(area: ServiceArea, before: dict[str, pd.Series], after: dict[str, pd.Series]) -> pd.DataFrame:
    parts = []
    for name in MOVING_LAYERS:
        b, a = before[name], after[name]
        moved = ~((b == a).fillna(False) | (b.isna() & a.isna()))
        if name == "work_orders":
            moved &= area.work_orders["status"] != "closed"
        moved = moved.to_numpy()
        parts.append(pd.DataFrame({"layer": name, "feature_id": b.index[moved].astype("str"),
                                   "from_grid_id": b[moved].to_numpy(), "to_grid_id": a[moved].to_numpy()}))
    out = pd.concat(parts, ignore_index=True)
    return out.astype({"layer": "str", "feature_id": "str", "from_grid_id": "str", "to_grid_id": "str"})


def _area_km2(area: ServiceArea, grids: gpd.GeoDataFrame) -> pd.Series:
    if not len(grids):
        return pd.Series(dtype=float)
    metric = gpd.GeoSeries(repaired(grids.geometry.to_numpy()), index=grids.index, crs=CRS).to_crs(area.metric_crs)
    return (metric.area / 1e6).round(3)


def _status(before: gpd.GeoDataFrame, after: gpd.GeoDataFrame, ids: pd.Index) -> pd.Series:
    status = pd.Series("unchanged", index=ids, dtype="str")
    status[~ids.isin(before.index)] = "added"
    status[~ids.isin(after.index)] = "removed"
    both = ids[ids.isin(before.index) & ids.isin(after.index)]
    if len(both):
        g0 = shapely.normalize(before.geometry.loc[both].to_numpy())
        g1 = shapely.normalize(after.geometry.loc[both].to_numpy())
        same = shapely.equals_exact(g0, g1, tolerance=1e-9)
        for col in PLAN_ATTRIBUTES:
            same &= (before.loc[both, col] == after.loc[both, col]).fillna(False).to_numpy()
        status[both[~same]] = "changed"
    return status


def _summary(area: ServiceArea, before: gpd.GeoDataFrame, after: gpd.GeoDataFrame,
             customers_before: pd.Series, customers_after: pd.Series) -> pd.DataFrame:
    ids = pd.Index([*before.index, *after.index[~after.index.isin(before.index)]], name="grid_id")
    cols = list(PLAN_ATTRIBUTES)
    attrs = pd.concat([after[cols], before.loc[~before.index.isin(after.index), cols]])
    out = attrs.reindex(ids)
    out["status"] = _status(before, after, ids)
    out["customers_before"] = customers_before.value_counts().reindex(ids, fill_value=0).astype("int64")
    out["customers_after"] = customers_after.value_counts().reindex(ids, fill_value=0).astype("int64")
    out["customers_change"] = out["customers_after"] - out["customers_before"]
    members = grid_members(area).reindex(ids, fill_value=0).astype("int64")
    out["grid_members"] = members
    per = members.where(members > 0)
    out["households_per_member_before"] = (out["customers_before"] / per).round(1)
    out["households_per_member_after"] = (out["customers_after"] / per).round(1)
    out["area_km2_before"] = _area_km2(area, before).reindex(ids)
    out["area_km2_after"] = _area_km2(area, after).reindex(ids)
    return out


# -- commit, history, revert ----------------------------------------------------


@dataclass(frozen=True)
class CommitResult:
    """A saved plan version."""

    version: int
    base_version: int
    changed: list[str]
    forced_reason: str | None
    preview: PlanPreview

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {"plan_version": self.version, "base_version": self.base_version, "changed_grids": self.changed,
                "forced_reason": self.forced_reason, "moves": self.preview.move_counts(),
                "findings": len(self.preview.findings)}


def _store(area: ServiceArea, store: Store | None) -> Store:
    target = store or area.store
    if target is None:
        msg = "this service area was not read from a store; nothing to commit to"
        raise StoreError(msg)
    return target


def commit_plan(
    area: ServiceArea,
    plan: gpd.GeoDataFrame,
    *,
    author: str,
    note: str,
    base_version: int | None = None,
    force_reason: str | None = None,
    complete: bool = False,
    store: Store | None = None,
    rules: Rules = DEFAULT_RULES,
    now: pd.Timestamp | None = None,
    action: str = "plan_commit",
) -> CommitResult:
    """Save a plan as the next plan version, atomically.

    Parameters
    ----------
    area
        The service area the plan was drawn on (read from ``store``).
    plan
        Grids from :func:`~gridservice.spatial.plan.read_plan` (some or all).
    author, note
        Who commits and why; both go to ``plan_versions`` and the audit log.
    base_version
        The version the plan was drawn on (default: the area's latest).
        Anything older than the store's latest version is refused.
    force_reason
        Commit despite plan errors; the reason is recorded.
    complete
        ``plan`` is the whole plan: grids it lacks are removed, with their
        grid_staff rows (a revert).
    store
        Where to save (default: the store the area was read from).
    rules
        Thresholds for the plan checks.
    now
        Commit time (default: now, Asia/Shanghai).
    action
        The audit log's action for the version row.

    Returns
    -------
    CommitResult

    Raises
    ------
    InvalidPlanError
        The plan has errors and no ``force_reason`` was given; ``problems``
        holds the findings. Nothing is saved.
    ConflictError
        Someone committed since ``base_version`` (or since ``area`` was read).
    """
    author, note = (author or "").strip(), (note or "").strip()
    if not author:
        msg = "a plan commit needs an author"
        raise DataError(msg)
    if force_reason is not None and not force_reason.strip():
        msg = "a forced commit needs a reason"
        raise DataError(msg)
    target = _store(area, store)
    seen = latest_grid_version(area)
    base = seen if base_version is None else int(base_version)
    _check_base(_latest_in(target), base, seen)  # cheap early answer; repeated under the lock
    preview = preview_plan(area, plan, complete=complete, rules=rules)
    errors = preview.errors
    if len(errors) and force_reason is None:
        shown = "; ".join(errors["message"].head(3))
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        msg = (f"the plan has {len(errors)} error(s): {shown}{more} — nothing was saved "
               "(fix them or force with a reason)")
        raise InvalidPlanError(msg, problems=errors)
    broken = errors[errors["check"] == "invalid_polygon"] if len(errors) else errors
    if len(broken):  # a reason may keep a gap or an overlap for now, never a polygon no GIS can use
        msg = (f"{len(broken)} grid polygon(s) are invalid (self-intersecting or bad rings): "
               f"{'; '.join(broken['message'].head(3))} — a forced commit cannot save them, nothing was saved "
               "(each finding carries a repaired polygon)")
        raise InvalidPlanError(msg, problems=errors)
    when = (now if now is not None else clock.now()).tz_convert(TIMEZONE)
    with target.lock():
        fresh = _latest_in(target, ["grid_history", "audit_log", "grid_staff"])
        latest = _check_base(fresh, base, seen)
        version = latest + 1
        frames = _version_frames(fresh, preview, version=version, base=latest, author=author, note=note,
                                 force_reason=force_reason, when=when, action=action, complete=complete)
        seen_versions = fresh["plan_versions"].index
        try:  # the stores check again in the write's own transaction (in SQL on PostGIS)
            target.write_locked(frames, unchanged=("plan_versions", "plan_version",
                                                   int(seen_versions.max()) if len(seen_versions) else None))
        except ConflictError:
            current = _latest_in(target)
            raise ConflictError(_stale_message(current["plan_versions"], base,
                                               latest_version(current["plan_versions"], current["grids"]))) from None
    return CommitResult(version, latest, preview.changed, force_reason, preview)


def _latest_in(store: Store, more: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """The store's grids and plan versions (and ``more`` layers), as they are now."""
    return store.read(["grids", "plan_versions", *(more or [])])


def _check_base(fresh: dict[str, pd.DataFrame], base: int, seen: int) -> int:
    """The store's latest version, or ConflictError when the plan was drawn on an older one."""
    latest = latest_version(fresh["plan_versions"], fresh["grids"])
    if base > latest or base < 0:
        msg = f"there is no plan version {base}: the latest is {latest}"
        raise DataError(msg)
    if base != latest or seen != latest:
        raise ConflictError(_stale_message(fresh["plan_versions"], base if base != latest else seen, latest))
    return latest


def _stale_message(versions: pd.DataFrame, base: int, latest: int) -> str:
    who = ""
    if latest in versions.index:
        row = versions.loc[latest]
        who = f" by {row['author']} at {row['committed_at']:%Y-%m-%d %H:%M}"
    return (f"plan version {base} is stale: version {latest} was committed{who}; "
            "reload the grids and redo the change on the latest version")


def _version_frames(
    fresh: dict[str, pd.DataFrame], preview: PlanPreview, *, version: int, base: int, author: str, note: str,
    force_reason: str | None, when: pd.Timestamp, action: str, complete: bool,
) -> dict[str, pd.DataFrame]:
    """The layers a commit replaces: grids, grid_history, plan_versions, audit_log (and grid_staff)."""
    grids = preview.grids.copy()
    grids["plan_version"] = version
    history = [fresh["grid_history"]]
    versions = [fresh["plan_versions"]]
    if len(fresh["grids"]) and not (fresh["grid_history"]["plan_version"] == base).any():
        history.append(_snapshot(fresh["grids"], base))  # so the plan being replaced can be restored
        if base not in fresh["plan_versions"].index:
            versions.append(pd.DataFrame({"base_version": [pd.NA], "author": ["gridservice"],
                                          "note": ["plan in force before the first commit"],
                                          "committed_at": [when], "forced_reason": [np.nan]},
                                         index=pd.Index([base], name="plan_version")))
    history.append(_snapshot(grids, version))
    versions.append(pd.DataFrame({"base_version": [base], "author": [author], "note": [note or np.nan],
                                  "committed_at": [when], "forced_reason": [force_reason or np.nan]},
                                 index=pd.Index([version], name="plan_version")))
    log = _audit_rows(preview, version=version, base=base, author=author, note=note, force_reason=force_reason,
                      when=when, action=action)
    frames: dict[str, pd.DataFrame] = {
        "grids": conform("grids", grids, check_values=False),
        "grid_history": conform("grid_history", _concat(history), check_values=False),
        "plan_versions": conform("plan_versions", _concat(versions), check_values=False),
    }
    removed = preview.summary.index[preview.summary["status"] == "removed"]
    staff = fresh["grid_staff"]
    dropped = staff[staff["grid_id"].isin(removed)] if complete else staff.iloc[:0]
    if len(dropped):
        frames["grid_staff"] = staff.drop(index=dropped.index)
        log = pd.concat([log, _log(when, author, "grid_staff_removed", "grid_staff", dropped["grid_id"], [
            {"plan_version": version, "staff_id": s, "role": r} for s, r in zip(dropped["staff_id"], dropped["role"],
                                                                                 strict=True)])])
    frames["audit_log"] = conform("audit_log", _concat([fresh["audit_log"], log]), check_values=False)
    return frames


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [f for f in frames if len(f)]
    return pd.concat(parts) if parts else frames[0]


def _snapshot(grids: gpd.GeoDataFrame, version: int) -> gpd.GeoDataFrame:
    cols = [c for c in LAYERS["grid_history"].column_names if c not in ("plan_version", "grid_id")]
    snap = grids[cols].reset_index()
    snap.insert(0, "plan_version", version)
    return gpd.GeoDataFrame(snap, geometry=grids.geometry.to_numpy(), crs=CRS)


def _log(
    when: pd.Timestamp, user: str, action: str, layer: str, ids: Any, details: list[dict[str, Any]]
) -> pd.DataFrame:
    ids = [str(i) for i in ids]
    return pd.DataFrame({
        "at": [when] * len(ids), "user": user, "action": action, "layer": layer, "feature_id": ids,
        "detail": [json.dumps(d, ensure_ascii=False, default=_json_default) for d in details],
    }, index=pd.Index([uuid.uuid4().hex for _ in ids], name="log_id"))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return None if pd.isna(value) else str(value)


def _audit_rows(preview: PlanPreview, *, version: int, base: int, author: str, note: str,
                force_reason: str | None, when: pd.Timestamp, action: str) -> pd.DataFrame:
    s = preview.summary
    changed = s[s["status"] != "unchanged"]
    per_grid = [{"plan_version": version, "code": r.code, "name": r.name, "station_id": r.station_id,
                 "area_km2_before": r.area_km2_before, "area_km2_after": r.area_km2_after,
                 "customers_before": r.customers_before, "customers_after": r.customers_after}
                for r in changed.itertuples()]
    actions = ("grid_" + changed["status"]).tolist()
    grid_rows = [_log(when, author, a, "grids", [i], [d]) for a, i, d in zip(actions, changed.index, per_grid,
                                                                               strict=True)]
    head = _log(when, author, action, "plan_versions", [version], [{
        "base_version": base, "note": note, "forced_reason": force_reason, "changed_grids": list(changed.index),
        "moves": preview.move_counts(), "errors_overridden": len(preview.errors) if force_reason else 0,
    }])
    return pd.concat([head, *grid_rows])


def plan_history(area: ServiceArea | Store) -> pd.DataFrame:
    """Plan versions, oldest first, with how many grids each one holds.

    Accepts a loaded area or a store (then only two layers are read).
    """
    if isinstance(area, ServiceArea):
        versions, history = area.plan_versions, area.grid_history
    else:
        frames = area.read(["plan_versions", "grid_history"])
        versions, history = frames["plan_versions"], frames["grid_history"]
    out = versions.sort_index().copy()
    out["grids"] = history.groupby("plan_version").size().reindex(out.index, fill_value=0).astype("int64")
    return out.reset_index()


def version_grids(area: ServiceArea, version: int) -> gpd.GeoDataFrame:
    """The grids of a saved plan version (from ``grid_history``)."""
    history = area.grid_history
    rows = history[history["plan_version"] == version]
    if not len(rows):
        known = sorted(int(v) for v in history["plan_version"].unique())
        msg = f"plan version {version} has no saved grids (saved versions: {', '.join(map(str, known)) or 'none'})"
        raise NotFoundError(msg)
    return conform("grids", rows.drop(columns="plan_version").assign(plan_version=version), check_values=False)


def revert_plan(
    area: ServiceArea,
    version: int,
    *,
    author: str,
    note: str | None = None,
    base_version: int | None = None,
    force_reason: str | None = None,
    store: Store | None = None,
    rules: Rules = DEFAULT_RULES,
    now: pd.Timestamp | None = None,
) -> CommitResult:
    """Restore plan version ``version`` by committing it as a new version.

    Grids added after ``version`` are removed together with their grid_staff
    rows (each removal is in the audit log). Checks and the stale-version
    rule apply as for :func:`commit_plan`.
    """
    plan = version_grids(area, version)
    return commit_plan(area, plan, author=author, note=note or f"revert to plan version {version}",
                       base_version=base_version, force_reason=force_reason, complete=True, store=store,
                       rules=rules, now=now, action="plan_revert")


__all__ = [
    "MOVING_LAYERS",
    "CommitResult",
    "PlanPreview",
    "commit_plan",
    "plan_history",
    "preview_plan",
    "revert_plan",
    "version_grids",
]
