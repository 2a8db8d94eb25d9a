"""Writing work orders to the store, each write with its audit_log entry.

A new order is one :meth:`~gridservice.io.GeoPackageStore.append` of the
order and one of its audit record. A status change re-reads the order under
the store's write lock, validates the step against what is stored (so two
dispatchers advancing the same order cannot both win) and updates the row
and appends the audit record in one transaction (:meth:`~gridservice.io.Store.update`).

A client may name a creation with an idempotency key: the key (hashed with
the user's name, so each user has their own keys) becomes the ``log_id`` of
the order's audit record, so a retry finds the order it already made, even
after a restart.
"""

from __future__ import annotations

import hashlib

import pandas as pd

from gridservice.errors import NotFoundError
from gridservice.events.work_orders import STEP_COLUMNS, advance, audit_record, declared
from gridservice.io import Store


def idempotency_log_id(user: str, key: str) -> str:
    """The audit ``log_id`` of the creation ``user`` named ``key``.

    >>> idempotency_log_id("dispatcher", "retry-1") == idempotency_log_id("dispatcher", "retry-1")
    True
    >>> idempotency_log_id("dispatcher", "retry-1") == idempotency_log_id("planner", "retry-1")
    False
    """
    return "K" + hashlib.sha256(f"{user}\n{key}".encode()).hexdigest()[:32]


def created_with_key(store: Store, *, user: str, key: str) -> str | None:
    """The id of the work order ``user`` created with idempotency ``key``, or ``None``."""
    if not store.exists() or "audit_log" not in store.layers():
        return None
    found = store.read_layer("audit_log", where=f"log_id = '{idempotency_log_id(user, key)}'")
    return str(found["feature_id"].iloc[0]) if len(found) else None


def save_new_work_order(store: Store, order: pd.DataFrame, *, user: str, idempotency_key: str | None = None) -> None:
    """Append a new order (from :func:`create_work_order`) and its audit record (named by ``idempotency_key``)."""
    oid = str(order.index[0])
    store.append("work_orders", declared(order))
    row = order.iloc[0]
    detail = f"{row['kind']} order for grid {row['grid_id']}, assigned {row['assignee_id']}"
    record = audit_record(user=user, action="create", layer="work_orders", feature_id=oid, detail=detail)
    if idempotency_key is not None:
        record["log_id"] = idempotency_log_id(user, idempotency_key)
    store.append("audit_log", record)


def save_meter_check(store: Store, check: pd.DataFrame, *, user: str, action: str) -> None:
    """Write a field check (a new order, or its outcome) and its audit record in one transaction."""
    row = check.iloc[0]
    detail = f"meter {row['meter_id']}: {row['outcome']}" if pd.notna(row["outcome"]) else \
        f"meter {row['meter_id']} ({row['rules']}) for {row['staff_id']}"
    record = audit_record(user=user, action=action, layer="meter_checks", feature_id=str(check.index[0]),
                          detail=detail)
    store.upsert({"meter_checks": check, "audit_log": record})


def save_transition(store: Store, work_order_id: str, status: str, at: object, *, user: str,
                    now: object | None = None) -> pd.DataFrame:
    """Move a stored order to ``status`` at ``at``; returns the updated order.

    Raises
    ------
    NotFoundError
        The store holds no such order.
    TransitionError
        The step is not allowed (see :func:`~gridservice.events.work_orders.advance`).
    """
    quoted = work_order_id.replace("'", "''")
    with store.lock():
        current = store.read_layer("work_orders", where=f"work_order_id = '{quoted}'")
        if not len(current):
            msg = f"unknown work order {work_order_id!r}"
            raise NotFoundError(msg)
        updated = advance(current, status, at, now=now)
        col = STEP_COLUMNS[status]
        log = audit_record(user=user, action=f"status:{status}", layer="work_orders",
                           feature_id=work_order_id, detail=f"{col}={updated[col].iloc[0]}")
        store.update("work_orders", updated[["status", col]], append={"audit_log": log})
    return updated


def save_visit(store: Store, visit: pd.DataFrame, *, user: str) -> None:
    """Write a visit done and its audit record in one transaction."""
    row = visit.iloc[0]
    record = audit_record(user=user, action="create", layer="visits", feature_id=str(visit.index[0]),
                          detail=f"{row['kind']} visit to {row['customer_id']} by {row['staff_id']}")
    store.upsert({"visits": visit, "audit_log": record})


__all__ = ["created_with_key", "idempotency_log_id", "save_meter_check", "save_new_work_order", "save_transition",
           "save_visit"]
