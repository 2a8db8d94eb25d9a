"""The Content-Security-Policy lets the browser app, the Folium maps and /docs work, and nothing breaks it.

Chromium reports every refused script, style, image or connection as a
console error starting "Refused to …"; none may appear.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def _refusals(tab: Any) -> list[str]:
    """What the policy refused of this server's own content (off-machine assets must be refused)."""
    found = [m for m in tab.console if "Content Security Policy" in m or m.startswith("Refused to")]
    return [m for m in found if not re.search(r"'https?://(?!127\.0\.0\.1)", m)]


def test_the_policy_refuses_nothing_the_app_maps_and_docs_need(tab: Any) -> None:
    page = tab.page
    for role in ("planner", "dispatcher", "supervisor"):
        tab.login(role)
        page.wait_for_selector(f"#{role}-map .leaflet-overlay-pane path")
        if role != "supervisor":
            page.click("#logout")
            page.wait_for_selector("#login-form")
    response = page.goto(f"{tab.server.url}/maps/coverage")  # the app's cookie logs the page in
    assert response.status == 200 and "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page.wait_for_selector(".leaflet-overlay-pane path")  # Folium's inline script drew the grids
    assert tab.errors == [], tab.errors[:5]
    page.goto(f"{tab.server.url}/docs")  # Swagger UI starts with an inline script
    page.wait_for_load_state("load")
    assert _refusals(tab) == [], _refusals(tab)[:5]
