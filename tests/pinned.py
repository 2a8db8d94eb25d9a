"""The tests' fixed times (SPEC §7a): the demo's present and the clock, a week later.

``conftest`` freezes the clock at :data:`NOW` (``GRIDSERVICE_NOW``) for the
test process and every server or CLI it starts; demos are built at
:data:`DEMO_AS_OF`. Nothing in the suite reads today's date.
"""

DEMO_AS_OF = "2026-11-30T18:00:00+08:00"
NOW = "2026-12-07T10:00:00+08:00"
