"""Switching operations (倒闸操作): opening or closing one switch, and what it changed.

A switch's ``is_open`` is the state every trace follows. Operating it writes
that one record and its audit entry in one transaction, after checking the
stored state under the store's lock: a switch already in the asked state is
a conflict, so two dispatchers cannot both open it. The network of the new
state is derived from the old one (:mod:`gridservice.topology.incremental`),
not rebuilt.
"""

from __future__ import annotations

import pandas as pd

from gridservice.auth import audit_entry
from gridservice.errors import ConflictError, NotFoundError
from gridservice.io import Store
from gridservice.model import ServiceArea
from gridservice.topology.network import network_of


def operate_switch(store: Store, switch_id: str, *, is_open: bool, user: str, note: str = "") -> pd.DataFrame:
    """Open (``is_open=True``) or close a stored switch; returns its updated row.

    Raises
    ------
    NotFoundError
        The store holds no such switch.
    ConflictError
        The switch is already in that state.
    """
    quoted = switch_id.replace("'", "''")
    with store.lock():  # read-check-write: two operations on one switch cannot both pass the check
        stored = store.read_layer("switches", where=f"switch_id = '{quoted}'")
        if not len(stored):
            msg = f"unknown switch {switch_id!r}"
            raise NotFoundError(msg)
        state = "open" if is_open else "closed"
        if bool(stored["is_open"].iloc[0]) == is_open:
            msg = f"switch {switch_id} is already {state}"
            raise ConflictError(msg)
        row = stored.assign(is_open=is_open)
        entry = audit_entry(user=user, action="open" if is_open else "close", layer="switches",
                            feature_id=switch_id, detail=note or None)
        store.update("switches", row[["is_open"]], append={"audit_log": entry})
    return row


def supply_changes(before: ServiceArea, after: ServiceArea) -> pd.DataFrame:
    """The customers whose supply differs between two states of the network.

    Indexed by ``customer_id``: ``energised`` (True: supplied again, False:
    cut off) and ``grid_id``.
    """
    ids = before.customers.index
    was, now = network_of(before).energised(ids), network_of(after).energised(ids)
    changed = (was != now).to_numpy()
    out = pd.DataFrame({"energised": now.to_numpy()[changed]}, index=ids[changed])
    out["grid_id"] = before.customers["grid_id"].to_numpy()[changed]
    return out


def supply_summary(changed: pd.DataFrame) -> dict[str, object]:
    """:func:`supply_changes` counted: customers cut off and supplied again, in all and per grid."""
    cut, restored = changed[~changed["energised"]], changed[changed["energised"]]
    return {
        "customers_cut_off": len(cut),
        "customers_restored": len(restored),
        "grids_cut_off": {str(k): int(v) for k, v in cut["grid_id"].value_counts().items()},
        "grids_restored": {str(k): int(v) for k, v in restored["grid_id"].value_counts().items()},
    }


__all__ = ["operate_switch", "supply_changes", "supply_summary"]
