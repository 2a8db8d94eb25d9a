"""Duty rosters (排班): the 6+1 work mode, who is on duty now, and the roster's gaps.

A shift (``shifts`` layer) is one staff member's local calendar day: ``duty``
(值班: the first to call for the grids they are linked to), ``standby``
(备班: next), ``rest`` or ``leave``. Duty and standby are working days.

:func:`make_roster` writes a station's roster, deterministically:

* **who** — the staff of the station whose role is in ``rules.roster_roles``;
* **6+1** — every one of them rests on one fixed weekday and works the other
  six, so any seven days in a row hold exactly one rest day;
* **staggered rest** — members are grouped by their home grid (their first
  link in ``grid_staff``, by the order of ``rules.roster_roles`` then grid id;
  staff with no grid link form the station's group); the *i*-th member (by
  staff id) of the station's *g*-th group rests on weekday ``(g + i) mod 7``,
  so up to seven members of one grid never rest on the same day;
* **duty** — each grid and day, of the staff linked to the grid who work that
  day, those of the first role in ``rules.roster_roles`` take turns: the one
  at ``(day number + grid number) mod n`` in staff-id order is on duty. All
  other working staff are on standby. Someone on duty in one grid answers for
  every grid they are linked to.

:func:`on_duty` answers the dispatcher's "who do I call now" for a grid: its
linked staff on duty that day, then those on standby, then the station (its
head — the station's ``supervisor`` — or the station's own ``phone`` when the
data has one). :func:`roster_gaps` finds grid-days without anyone on duty
and :func:`overworked` staff with more than ``rules.roster_work_days``
working days in a Monday–Sunday week; :func:`roster_findings` is both as a
findings frame (``gridservice roster check`` and the audit rules
``ROSTER_NO_COVER`` and ``ROSTER_OVER_SIX``).

Examples
--------
>>> shifts = make_roster(area, "S1", start="2026-03-02", weeks=1)  # doctest: +SKIP
>>> on_duty(area, "G1", "2026-03-04 21:30").iloc[0]["staff_id"]  # doctest: +SKIP
'ST3'
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd

from gridservice import clock
from gridservice.auth import audit_entry
from gridservice.config import DEFAULT_RULES, Rules
from gridservice.errors import DataError, NotFoundError
from gridservice.findings import findings
from gridservice.io import Store
from gridservice.io.tables import conform, to_storage
from gridservice.model import ServiceArea
from gridservice.topology.outages import OutageImpact

#: Working kinds of shift; the others (rest, leave) are days off.
WORKING = ("duty", "standby")
#: The station's head (站长): the staff role :func:`on_duty` falls back to after the grid's own staff.
STATION_HEAD_ROLE = "supervisor"
#: Columns of :func:`on_duty` (who to call, in order).
CALL_COLUMNS = ["kind", "staff_id", "name", "role", "phone", "station_id", "date"]
#: The audit rule ids of :func:`roster_findings`.
NO_COVER, OVER_SIX = "ROSTER_NO_COVER", "ROSTER_OVER_SIX"

_DAY = "datetime64[s]"


def as_day(value: object, *, what: str = "date") -> pd.Timestamp:
    """A calendar day (midnight, naive) from a date, a ``YYYY-MM-DD`` string or a time (its local day)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return pd.Timestamp(value)
    if isinstance(value, str) and len(value) == 10:
        try:
            return pd.Timestamp(dt.date.fromisoformat(value))
        except ValueError as exc:
            msg = f"{what} {value!r} is not a date YYYY-MM-DD"
            raise DataError(msg) from exc
    return clock.timestamp(value, what=what).tz_localize(None).normalize()


def _days(shifts: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(shifts["date"].astype("str"), format="%Y-%m-%d").astype(_DAY)


def _rank(roles: pd.Series, rules: Rules) -> np.ndarray:
    order = {r: i for i, r in enumerate(rules.roster_roles)}
    return roles.astype("str").map(order).fillna(len(order)).astype("int64").to_numpy()


def _links(area: ServiceArea, rules: Rules) -> pd.DataFrame:
    """(grid_id, staff_id, rank): each staff member's best role in each grid they are linked to."""
    gs = area.grid_staff
    links = pd.DataFrame({"grid_id": gs["grid_id"].astype("str").to_numpy(),
                          "staff_id": gs["staff_id"].astype("str").to_numpy(), "rank": _rank(gs["role"], rules)})
    return links.sort_values(["grid_id", "staff_id", "rank"]).drop_duplicates(["grid_id", "staff_id"])


# -- making ------------------------------------------------------------------


def roster_frames(staff: pd.DataFrame, grid_staff: pd.DataFrame, grids: pd.DataFrame, station_id: str,
                  start: object, days: int, *, rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    """The shifts of one station for ``days`` days from ``start`` (see the module doc), from the staff,
    grid_staff and grids frames (indexed by their keys). :func:`make_roster` is this on an area."""
    first = as_day(start, what="start")
    if days < 1:
        msg = f"a roster needs at least one day, got {days}"
        raise DataError(msg)
    mine = staff[(staff["station_id"].astype("str") == station_id).to_numpy()
                 & staff["role"].astype("str").isin(rules.roster_roles).to_numpy()]
    ids = pd.Index(mine.index.astype("str")).sort_values()
    if not len(ids):
        msg = f"station {station_id!r} has no staff in the roster roles ({', '.join(rules.roster_roles)})"
        raise NotFoundError(msg)
    station_grids = pd.Index(grids.index[(grids["station_id"].astype("str") == station_id).to_numpy()]
                             .astype("str")).sort_values()
    gs = grid_staff[grid_staff["staff_id"].astype("str").isin(ids).to_numpy()
                    & grid_staff["grid_id"].astype("str").isin(station_grids).to_numpy()]
    links = pd.DataFrame({"grid_id": gs["grid_id"].astype("str").to_numpy(),
                          "staff_id": gs["staff_id"].astype("str").to_numpy(), "rank": _rank(gs["role"], rules)})
    links = links.sort_values(["grid_id", "staff_id", "rank"]).drop_duplicates(["grid_id", "staff_id"])
    links["grid_no"] = station_grids.get_indexer(links["grid_id"])
    # each member's home grid (their best link), the station's own group after the grids
    home = (links.sort_values(["staff_id", "rank", "grid_id"]).drop_duplicates("staff_id")
            .set_index("staff_id")["grid_no"].reindex(ids).fillna(len(station_grids)).astype("int64"))
    members = pd.DataFrame({"staff_id": ids, "group": home.to_numpy()}).sort_values(["group", "staff_id"])
    group_no = pd.Index(np.unique(members["group"])).get_indexer(members["group"])
    members["rest"] = (group_no + members.groupby("group").cumcount().to_numpy()) % 7

    dates = first + pd.to_timedelta(np.arange(days), unit="D")
    weekday = np.asarray(dates.day_of_week)
    n = len(members)
    grid = pd.DataFrame({"staff_id": np.repeat(members["staff_id"].to_numpy(), days),
                         "day": np.tile(np.arange(days), n),
                         "rests": np.repeat(members["rest"].to_numpy(), days) == np.tile(weekday, n)})
    working = grid.loc[~grid["rests"], ["staff_id", "day"]]
    # duty per grid-day: the first working role takes turns
    cand = links.merge(working, on="staff_id")
    cand = cand[cand["rank"] == cand.groupby(["grid_id", "day"])["rank"].transform("min")]
    cand = cand.sort_values(["grid_id", "day", "staff_id"])
    turn = (cand["day"] + cand["grid_no"]) % cand.groupby(["grid_id", "day"])["staff_id"].transform("size")
    on = cand[cand.groupby(["grid_id", "day"]).cumcount() == turn]
    duty = pd.MultiIndex.from_frame(on[["staff_id", "day"]].drop_duplicates())
    kind = np.where(grid["rests"], "rest", "standby").astype(object)
    kind[pd.MultiIndex.from_frame(grid[["staff_id", "day"]]).isin(duty)] = "duty"
    date = np.asarray(dates.strftime("%Y-%m-%d"))[grid["day"].to_numpy()]
    out = pd.DataFrame({"shift_id": shift_ids(grid["staff_id"], date), "staff_id": grid["staff_id"].to_numpy(),
                        "date": date, "kind": kind})
    return conform("shifts", out.sort_values(["date", "staff_id"]), source=f"roster of {station_id}")


def shift_ids(staff_id: pd.Series | np.ndarray, date: np.ndarray) -> np.ndarray:
    """The id of a staff member's shift on a day: ``SH-<staff>-<yyyymmdd>`` (one shift per person and day)."""
    return ("SH-" + pd.Series(np.asarray(staff_id, dtype=object)).astype("str")
            + "-" + pd.Series(date).str.replace("-", "", regex=False)).to_numpy()


def make_roster(area: ServiceArea, station_id: str, *, start: object, weeks: int = 1,
                rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    """The 6+1 roster of ``station_id`` for ``weeks`` weeks from ``start`` (a ``shifts`` frame, not stored).

    Raises
    ------
    NotFoundError
        No such station, or it has nobody in the roster roles.
    DataError
        ``start`` is not a date, or ``weeks`` is below one.
    """
    if station_id not in area.stations.index:
        msg = f"no station {station_id!r}"
        raise NotFoundError(msg)
    if weeks < 1:
        msg = f"--weeks must be at least 1, got {weeks}"
        raise DataError(msg)
    return roster_frames(area.staff, area.grid_staff, area.grids, station_id, start, 7 * weeks, rules=rules)


def replaced_shifts(area: ServiceArea, new: pd.DataFrame) -> pd.Index:
    """Stored shifts a new roster replaces: those of its staff on its days (whatever their ids)."""
    old = area.shifts
    if not len(old) or not len(new):
        return pd.Index([], dtype="str")
    hit = old["staff_id"].astype("str").isin(set(new["staff_id"].astype("str"))) & \
        old["date"].astype("str").isin(set(new["date"].astype("str")))
    return old.index[hit.to_numpy()]


def save_roster(store: Store, area: ServiceArea, shifts: pd.DataFrame, *, user: str, station_id: str) -> int:
    """Write a roster in one transaction with its audit entry: the staff's earlier shifts on those days go.

    Returns the number of shifts replaced.
    """
    gone = replaced_shifts(area, shifts)
    dates = shifts["date"].astype("str")
    detail = (f"roster of {station_id} {dates.min()}..{dates.max()}: {len(shifts)} shifts "
              f"({shifts['staff_id'].nunique()} staff), {len(gone)} replaced")
    record = audit_entry(user=user, action="roster", layer="shifts", feature_id=station_id, detail=detail)
    if "shifts" in store.layers():
        store.upsert({"shifts": shifts, "audit_log": record}, delete={"shifts": gone})
    else:  # a store from before the layer: one whole-file write adds it with the audit entry
        log = pd.concat([to_storage("audit_log", area.audit_log), to_storage("audit_log", record)],
                        ignore_index=True)
        store.write({"shifts": shifts, "audit_log": conform("audit_log", log)})
    return len(gone)


# -- who to call -------------------------------------------------------------


def _call_list(area: ServiceArea, grid_ids: pd.Index, day: pd.Timestamp, rules: Rules) -> pd.DataFrame:
    """Everyone to call for each grid on ``day``, in order (``order`` 0 first), the station last."""
    date = f"{day:%Y-%m-%d}"
    links = _links(area, rules)
    links = links[links["grid_id"].isin(grid_ids)]
    sh = area.shifts
    today = sh[(sh["date"].astype("str") == date).to_numpy() & sh["kind"].astype("str").isin(WORKING).to_numpy()]
    staff = area.staff
    people = links.merge(pd.DataFrame({"staff_id": today["staff_id"].astype("str").to_numpy(),
                                       "kind": today["kind"].astype("str").to_numpy()}), on="staff_id")
    people["k"] = (people["kind"] != "duty").astype("int64")
    people = people.sort_values(["grid_id", "k", "rank", "staff_id"])
    station = area.grids["station_id"].reindex(grid_ids).astype("str")
    heads = staff[(staff["role"].astype("str") == STATION_HEAD_ROLE).to_numpy() & staff["station_id"].notna()
                  .to_numpy()]
    head = pd.Series(heads.index.astype("str"), index=heads["station_id"].astype("str").to_numpy())
    head = head[~head.index.duplicated(keep="first")] if len(head) else head
    last = pd.DataFrame({"grid_id": grid_ids.astype("str"), "staff_id": station.map(head).to_numpy(),
                         "kind": "station", "k": 2, "rank": 0})
    rows = pd.concat([people[["grid_id", "staff_id", "kind", "k", "rank"]], last], ignore_index=True)
    rows = rows.sort_values(["grid_id", "k", "rank", "staff_id"], kind="stable", na_position="last")
    rows["name"] = rows["staff_id"].map(staff["name"]) if len(staff) else None
    rows["role"] = rows["staff_id"].map(staff["role"]) if len(staff) else None
    rows["phone"] = rows["staff_id"].map(staff["phone"]) if len(staff) else None
    rows["station_id"] = rows["grid_id"].map(station)
    is_station = (rows["kind"] == "station").to_numpy()
    names = area.stations["name"] if len(area.stations) else pd.Series(dtype="str")
    rows.loc[is_station, "name"] = rows.loc[is_station, "station_id"].map(names).to_numpy()
    rows.loc[is_station, "role"] = "station"
    if "phone" in area.stations.columns:  # the station's own duty phone, when the data has one, wins
        own = rows.loc[is_station, "station_id"].map(area.stations["phone"])
        rows.loc[is_station, "phone"] = own.where(own.notna(), rows.loc[is_station, "phone"]).to_numpy()
    rows["date"] = date
    return rows.drop(columns=["k", "rank"]).reset_index(drop=True)


def on_duty(area: ServiceArea, grid_id: str, at: object | None = None, *,
            rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    """Who to call for ``grid_id`` at ``at`` (default: ``area.as_of``), in order.

    The grid's linked staff on duty on ``at``'s local day, then those on
    standby (each by role order, then staff id), then the station: one row
    of ``kind`` ``station`` with the station's name and its head's (or its
    own) phone.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CALL_COLUMNS`, first to call first.

    Raises
    ------
    NotFoundError
        No such grid.
    """
    if grid_id not in area.grids.index:
        msg = f"no grid {grid_id!r}"
        raise NotFoundError(msg)
    day = as_day(area.as_of if at is None else at, what="at")
    rows = _call_list(area, pd.Index([grid_id]), day, rules)
    return rows[CALL_COLUMNS]


def duty_of_grids(area: ServiceArea, grid_ids: pd.Index | list[str], at: object | None = None, *,
                  rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    """The first to call for each grid at ``at`` (a row of :func:`on_duty` per grid, indexed by ``grid_id``)."""
    known = pd.Index([g for g in pd.Index(grid_ids).astype("str").unique() if g in area.grids.index], dtype="str")
    day = as_day(area.as_of if at is None else at, what="at")
    rows = _call_list(area, known, day, rules).drop_duplicates("grid_id")
    return rows.set_index("grid_id")[CALL_COLUMNS]


def impact_on_duty(area: ServiceArea, impact: OutageImpact, at: object | None = None, *,
                   rules: Rules = DEFAULT_RULES) -> OutageImpact:
    """The outage impact with who to call now (at ``at``, default ``area.as_of``) in each grid it cuts off."""
    return dataclasses.replace(impact, on_duty=duty_of_grids(area, impact.grids.index, at, rules=rules))


def on_call_staff(area: ServiceArea, grid_id: str | None, at: object, *, rules: Rules = DEFAULT_RULES) -> str | None:
    """The staff member on duty (else on standby) for ``grid_id`` at ``at``; ``None`` without a roster that day."""
    if grid_id is None or pd.isna(grid_id) or grid_id not in area.grids.index or not len(area.shifts):
        return None
    first = on_duty(area, grid_id, at, rules=rules).iloc[0]
    return str(first["staff_id"]) if first["kind"] in WORKING else None


# -- checks ------------------------------------------------------------------


def _window(shifts: pd.DataFrame, start: object | None, end: object | None) -> tuple[pd.DataFrame, pd.Series]:
    days = _days(shifts)
    keep = np.ones(len(shifts), dtype=bool)
    if start is not None:
        keep &= (days >= as_day(start, what="from")).to_numpy()
    if end is not None:
        keep &= (days <= as_day(end, what="to")).to_numpy()
    return shifts[keep], days[keep]


def roster_gaps(area: ServiceArea, *, start: object | None = None, end: object | None = None) -> pd.DataFrame:
    """Grid-days without anyone linked to the grid on duty, over each station's roster span.

    A station's span runs from the first to the last day any of its staff
    has a shift (within ``start``..``end``); a station with no shifts there
    has no roster to judge.

    Returns
    -------
    pandas.DataFrame
        ``grid_id``, ``station_id``, ``date`` (``YYYY-MM-DD``) and ``standby``
        (how many linked staff are on standby that day), by grid then date.
    """
    columns = ["grid_id", "station_id", "date", "standby"]
    sh, days = _window(area.shifts, start, end)
    if not len(sh):
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "standby" else "str") for c in columns})
    staff_station = area.staff["station_id"].astype("str")
    frame = pd.DataFrame({"staff_id": sh["staff_id"].astype("str").to_numpy(), "day": days.to_numpy(),
                          "kind": sh["kind"].astype("str").to_numpy()})
    frame["station_id"] = frame["staff_id"].map(staff_station)
    span = frame.dropna(subset=["station_id"]).groupby("station_id")["day"].agg(["min", "max"])
    length = ((span["max"] - span["min"]).dt.days + 1).to_numpy()
    spans = pd.DataFrame({"station_id": np.repeat(span.index.to_numpy(), length),
                          "day": np.repeat(span["min"].to_numpy(), length)
                          + pd.to_timedelta(np.concatenate([np.arange(k) for k in length]), unit="D")})
    grids = pd.DataFrame({"grid_id": area.grids.index.astype("str"),
                          "station_id": area.grids["station_id"].astype("str").to_numpy()})
    need = grids.merge(spans, on="station_id")
    gs = area.grid_staff
    links = pd.DataFrame({"grid_id": gs["grid_id"].astype("str").to_numpy(),
                          "staff_id": gs["staff_id"].astype("str").to_numpy()}).drop_duplicates()
    present = links.merge(frame[["staff_id", "day", "kind"]], on="staff_id")
    duty = present.loc[present["kind"] == "duty", ["grid_id", "day"]].drop_duplicates()
    standby = present[present["kind"] == "standby"].groupby(["grid_id", "day"]).size().rename("standby")
    key = pd.MultiIndex.from_frame(need[["grid_id", "day"]])
    gaps = need[~key.isin(pd.MultiIndex.from_frame(duty))]
    gaps = gaps.join(standby, on=["grid_id", "day"])
    out = pd.DataFrame({"grid_id": gaps["grid_id"].to_numpy(), "station_id": gaps["station_id"].to_numpy(),
                        "date": pd.DatetimeIndex(gaps["day"]).strftime("%Y-%m-%d"),
                        "standby": gaps["standby"].fillna(0).astype("int64").to_numpy()})
    return out.sort_values(["grid_id", "date"]).reset_index(drop=True)


def overworked(area: ServiceArea, *, start: object | None = None, end: object | None = None,
               rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    """Staff with more than ``rules.roster_work_days`` working days (duty or standby) in a Monday–Sunday week.

    Returns
    -------
    pandas.DataFrame
        ``staff_id``, ``week`` (its Monday, ``YYYY-MM-DD``) and ``working_days``, by staff then week.
    """
    sh, days = _window(area.shifts, start, end)
    work = sh["kind"].astype("str").isin(WORKING).to_numpy()
    day = pd.DatetimeIndex(days[work])
    monday = day - pd.to_timedelta(day.day_of_week, unit="D")
    counts = pd.DataFrame({"staff_id": sh["staff_id"].astype("str").to_numpy()[work],
                           "week": monday.strftime("%Y-%m-%d")}).groupby(["staff_id", "week"]).size()
    bad = counts[counts > rules.roster_work_days].rename("working_days").reset_index()
    return bad.sort_values(["staff_id", "week"]).reset_index(drop=True).astype({"working_days": "int64"})


def roster_findings(area: ServiceArea, *, start: object | None = None, end: object | None = None,
                    rules: Rules = DEFAULT_RULES) -> pd.DataFrame:
    """Both checks as findings: ``ROSTER_NO_COVER`` per grid-day, ``ROSTER_OVER_SIX`` per staff-week."""
    gaps = roster_gaps(area, start=start, end=end)
    over = overworked(area, start=start, end=end, rules=rules)
    rows = [{"check": NO_COVER, "severity": "error", "layer": "grids", "feature_id": g, "grid_id": g,
             "date": d, "message": f"grid {g} has nobody on duty on {d} ({s} on standby)"}
            for g, d, s in zip(gaps["grid_id"], gaps["date"], gaps["standby"], strict=True)]
    home = _links(area, rules).sort_values(["staff_id", "rank", "grid_id"]).drop_duplicates("staff_id")
    home = home.set_index("staff_id")["grid_id"]
    rows += [{"check": OVER_SIX, "severity": "warning", "layer": "staff", "feature_id": s, "grid_id": home.get(s),
              "date": w, "message": f"staff {s} works {n} days in the week of {w} (at most "
                                    f"{rules.roster_work_days}: 6+1)"}
             for s, w, n in zip(over["staff_id"], over["week"], over["working_days"], strict=True)]
    return findings(pd.DataFrame(rows, columns=["check", "severity", "layer", "feature_id", "grid_id", "date",
                                              "message"]))


def roster_table(area: ServiceArea, station_id: str, *, start: object, end: object) -> pd.DataFrame:
    """A station's shifts from ``start`` to ``end`` (inclusive) with each member's name, role and grids."""
    if station_id not in area.stations.index:
        msg = f"no station {station_id!r}"
        raise NotFoundError(msg)
    sh, _ = _window(area.shifts, start, end)
    staff = area.staff
    mine = staff.index[(staff["station_id"].astype("str") == station_id).to_numpy()].astype("str")
    sh = sh[sh["staff_id"].astype("str").isin(mine).to_numpy()]
    gs = area.grid_staff
    grids_of = (gs.assign(staff_id=gs["staff_id"].astype("str"), grid_id=gs["grid_id"].astype("str"))
                .drop_duplicates(["staff_id", "grid_id"]).sort_values("grid_id")
                .groupby("staff_id")["grid_id"].agg(",".join))
    out = pd.DataFrame({"shift_id": sh.index.astype("str"), "staff_id": sh["staff_id"].astype("str").to_numpy(),
                        "date": sh["date"].astype("str").to_numpy(), "kind": sh["kind"].astype("str").to_numpy()})
    out["name"] = out["staff_id"].map(staff["name"])
    out["role"] = out["staff_id"].map(staff["role"])
    out["grids"] = out["staff_id"].map(grids_of)
    return out.sort_values(["staff_id", "date"]).reset_index(drop=True)


__all__ = ["CALL_COLUMNS", "NO_COVER", "OVER_SIX", "STATION_HEAD_ROLE", "WORKING", "as_day", "duty_of_grids",
           "impact_on_duty", "make_roster", "on_call_staff", "on_duty", "overworked", "replaced_shifts",
           "roster_findings", "roster_frames", "roster_gaps", "roster_table", "save_roster", "shift_ids"]
