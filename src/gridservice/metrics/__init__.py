"""The numbers supervisors run on, per grid, station and period.

* :mod:`gridservice.metrics.kpi` — service KPIs (:func:`~gridservice.metrics.kpi.kpis`);
* :mod:`gridservice.metrics.reliability` — SAIFI, SAIDI, CAIDI, RS-1 (IEEE 1366);
* :mod:`gridservice.metrics.lineloss` — line loss of transformer areas, classes and streaks;
* :mod:`gridservice.metrics.audit` — the audit (稽查) rule engine and field-audit samples;
* :mod:`gridservice.metrics.report` — the Excel workbook and HTML report;
* :mod:`gridservice.metrics.period` — months, weeks, days and date ranges;
* :mod:`gridservice.metrics.units` — the units figures are reported by (grid, station, area).
"""

from __future__ import annotations
