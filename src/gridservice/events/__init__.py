"""Events tied to customers, devices and grids: work orders with their SLA clocks.

* :mod:`gridservice.events.calendar` — China's working-day calendar (official
  holidays and make-up working days, a fallback outside the covered years);
* :mod:`gridservice.events.work_orders` — create, route, due times, status
  transitions, repeat complaints;
* :mod:`gridservice.events.records` — writing orders and transitions to the
  store with their audit-log entries;
* :mod:`gridservice.events.links` — what ties an event to a transformer, the
  customers below a device and a grid.

Outages (record, impact, who to notify) live in :mod:`gridservice.topology.outages`,
since they are traced on the network; energy readings are read by
:mod:`gridservice.metrics.lineloss`.
"""

from __future__ import annotations
