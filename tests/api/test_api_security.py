"""What an outside probe tried (issue 14): unmasking by search, password guessing, tokens that
outlive logout, weak signing keys and cross-site state changes."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from pathlib import Path

import jwt
import pandas as pd
import pytest
from api_helpers import SECRET, SETTINGS, USERS, headers
from fastapi.testclient import TestClient

from gridservice.api import create_app
from gridservice.api.security import LoginGuard
from gridservice.auth import add_user
from gridservice.errors import AuthenticationError, DataError, RateLimitError
from gridservice.io import GeoPackageStore

SAME_SITE = {"Origin": "http://testserver"}
EVIL = {"Origin": "http://evil.example"}
MASKED = ("planner", "supervisor")


def _log(path: Path) -> pd.DataFrame:
    return GeoPackageStore(path).read_layer("audit_log")


def _search(client: TestClient, q: str, role: str) -> list[dict]:
    r = client.get("/api/v1/customers/search", params={"q": q, "limit": 100}, headers=headers(role))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def _login(client: TestClient, username: str, password: str, **kw: object):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password}, **kw)


def _basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


# -- 1. personal data through search -----------------------------------------------------------


@pytest.mark.parametrize("role", MASKED)
def test_a_phone_grown_digit_by_digit_tells_a_masked_role_nothing(client: TestClient, role: str) -> None:
    phone = "13812345678"  # C1's
    for n in range(3, len(phone) + 1):
        assert _search(client, phone[:n], role) == [], phone[:n]
    for q in ("张三", "zhangsan", "zs", "5678", "东门路1号"):  # name, pinyin, initials, phone tail, house number
        assert _search(client, q, role) == [], q


@pytest.mark.parametrize("role", MASKED)
def test_masked_roles_find_by_id_and_street_and_see_the_street_only(client: TestClient, role: str) -> None:
    [hit] = _search(client, "C1", role)
    assert (hit["match"], hit["name"], hit["phone"], hit["address"]) == ("customer_id", "张*", "138****5678",
                                                                         "琴城镇东门路…")
    by_street = _search(client, "东门路", role)
    assert sorted(h["customer_id"] for h in by_street) == ["C1", "C2"]
    assert {h["match"] for h in by_street} == {"address"}
    card = client.get("/api/v1/customers/C4", headers=headers(role)).json()["customer"]
    assert (card["name"], card["phone"], card["address"]) == ("欧***", "136****2222", "太和镇西街…")
    listing = client.get("/api/v1/customers?grid_id=G2", headers=headers(role)).json()
    assert {f["properties"]["address"] for f in listing["features"]} == {"太和镇西街…"}


def test_the_dispatcher_still_finds_by_phone_and_name_and_sees_everything(client: TestClient) -> None:
    [hit] = _search(client, "1381234", "dispatcher")
    assert (hit["customer_id"], hit["match"], hit["address"]) == ("C1", "phone", "琴城镇东门路1号")
    assert _search(client, "张三", "dispatcher")[0]["match"] == "name"


def test_every_lookup_is_audited_with_who_asked(write_client: TestClient, small_copy: Path) -> None:
    _search(write_client, "东门路", "supervisor")
    assert write_client.get("/api/v1/customers/C4", headers=headers("planner")).status_code == 200
    assert write_client.get("/api/v1/customers?grid_id=G1", headers=headers("dispatcher")).status_code == 200
    log = _log(small_copy)
    search = log[log["action"] == "customer.search"]
    assert search["user"].tolist() == ["supervisor"]
    assert search["detail"].iloc[0] == "q='东门路' offset=0: C1, C2"
    view = log[log["action"] == "customer.view"]
    assert (view["user"].tolist(), view["feature_id"].tolist()) == (["planner"], ["C4"])
    assert log.loc[log["action"] == "customer.list", "user"].tolist() == ["dispatcher"]


def test_lookups_are_limited_per_user(small_copy: Path) -> None:
    settings = SETTINGS.model_copy(update={"search_per_minute": 4})  # bursts of 2, then one each 15 s
    with TestClient(create_app(str(small_copy), settings=settings, web=False)) as c:
        assert [len(_search(c, "C1", "dispatcher")) for _ in range(2)] == [1, 1]
        r = c.get("/api/v1/customers/C1", headers=headers("dispatcher"))
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 15
        assert "4 a minute" in r.json()["detail"]
        assert len(_search(c, "C1", "supervisor")) == 1  # another user has their own allowance


# -- 3. password guessing ------------------------------------------------------------------------


def test_an_account_locks_after_five_failures_even_for_the_right_password(write_client: TestClient,
                                                                          small_copy: Path) -> None:
    assert [_login(write_client, "planner", f"guess-{i}").status_code for i in range(5)] == [401] * 5
    r = _login(write_client, "planner", "planner-demo")
    assert r.status_code == 429 and 25 <= int(r.headers["retry-after"]) <= 30
    assert _login(write_client, "dispatcher", "dispatcher-demo").status_code == 200  # other accounts log in
    log = _log(small_copy)
    assert (log.loc[log["action"] == "auth.login_failed", "user"] == "planner").sum() == 5
    assert log.loc[log["action"] == "auth.locked", "user"].tolist() == ["planner"]
    assert log.loc[log["action"] == "auth.login", "user"].tolist() == ["dispatcher"]


def test_basic_credentials_on_ogc_are_throttled_too(write_client: TestClient) -> None:
    codes = [write_client.get("/ogc/collections", headers=_basic("supervisor", f"x-{i}")).status_code
             for i in range(6)]
    assert codes == [401] * 5 + [429]
    r = write_client.get("/ogc/collections", headers=_basic("supervisor", "supervisor-demo"))
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_guessing_many_accounts_backs_off_doubling() -> None:
    clock = Clock()
    guard = LoginGuard(clock=clock, account_free=5, client_free=3, base_s=10, cap_s=25)
    for name in ("a", "b", "c"):  # three accounts (unknown ones cost the same), one guess each
        with pytest.raises(AuthenticationError):
            guard.authenticate(USERS, name, "wrong-guess", client="10.0.0.9")
    with pytest.raises(RateLimitError) as locked:
        guard.authenticate(USERS, "planner", "planner-demo", client="10.0.0.9")
    assert locked.value.retry_after == 10
    assert guard.authenticate(USERS, "planner", "planner-demo", client="10.0.0.7").role == "planner"
    clock.now += 10
    with pytest.raises(AuthenticationError):
        guard.authenticate(USERS, "d", "wrong-guess", client="10.0.0.9")
    with pytest.raises(RateLimitError) as again:
        guard.authenticate(USERS, "planner", "planner-demo", client="10.0.0.9")
    assert again.value.retry_after == 20  # doubled
    clock.now += 20
    with pytest.raises(AuthenticationError):
        guard.authenticate(USERS, "e", "wrong-guess", client="10.0.0.9")
    with pytest.raises(RateLimitError) as capped:
        guard.authenticate(USERS, "planner", "planner-demo", client="10.0.0.9")
    assert capped.value.retry_after == 25
    clock.now += 25
    assert guard.authenticate(USERS, "planner", "planner-demo", client="10.0.0.9").role == "planner"


def test_argon2_checks_run_a_bounded_number_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = threading.Event(), threading.Event()

    def slow(users: pd.DataFrame, username: str, password: str) -> object:
        entered.set()
        release.wait(10)
        raise AuthenticationError("wrong username or password")

    monkeypatch.setattr("gridservice.api.security.authenticate", slow)
    guard = LoginGuard(concurrent=1, queue_s=0.05)
    failed: list[Exception] = []

    def first_login() -> None:
        try:
            guard.authenticate(USERS, "a", "p", client="10.0.0.1")
        except AuthenticationError as exc:
            failed.append(exc)

    first = threading.Thread(target=first_login)
    first.start()
    assert entered.wait(10)
    with pytest.raises(RateLimitError, match="at once") as busy:
        guard.authenticate(USERS, "b", "p", client="10.0.0.2")
    assert busy.value.retry_after == 1
    release.set()
    first.join(10)
    assert len(failed) == 1  # the first check ran to its end


# -- 4. tokens that outlive logout, a new password or a new role -------------------------------------


def test_logout_ends_the_bearer_token_and_its_refresh_token(write_client: TestClient) -> None:
    body = _login(write_client, "planner", "planner-demo").json()
    write_client.cookies.clear()
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert write_client.get("/api/v1/auth/me", headers=bearer).status_code == 200
    assert write_client.post("/api/v1/auth/logout", headers=bearer).status_code == 204
    r = write_client.get("/api/v1/auth/me", headers=bearer)
    assert r.status_code == 401 and "logged out" in r.json()["detail"]
    assert write_client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]}).status_code == 401
    assert _login(write_client, "planner", "planner-demo").status_code == 200  # a new login works


def test_access_tokens_are_short_and_refresh_tokens_only_refresh(write_client: TestClient) -> None:
    body = _login(write_client, "dispatcher", "dispatcher-demo").json()
    write_client.cookies.clear()
    access = jwt.decode(body["access_token"], SECRET, algorithms=["HS256"])
    refresh = jwt.decode(body["refresh_token"], SECRET, algorithms=["HS256"])
    assert access["exp"] - access["iat"] == SETTINGS.token_minutes * 60
    assert refresh["exp"] - refresh["iat"] == SETTINGS.refresh_minutes * 60
    r = write_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['refresh_token']}"})
    assert r.status_code == 401
    assert write_client.post("/api/v1/auth/refresh", json={"refresh_token": body["access_token"]}).status_code == 401
    renewed = write_client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert renewed.status_code == 200
    me = write_client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {renewed.json()['access_token']}"})
    assert me.json()["role"] == "dispatcher"


def test_a_new_password_or_role_ends_old_tokens_at_once(write_client: TestClient, small_copy: Path) -> None:
    old = headers("planner")
    assert write_client.get("/api/v1/auth/me", headers=old).status_code == 200
    # what `gridservice user add planner --role supervisor --replace --password …` does, beside the server
    add_user(GeoPackageStore(small_copy), "planner", "supervisor", "new-password-1", replace=True)
    assert write_client.get("/api/v1/auth/me", headers=old).status_code == 401
    assert write_client.get("/api/v1/auth/me", headers=_basic("planner", "planner-demo")).status_code == 401
    r = write_client.get("/api/v1/auth/me", headers=_basic("planner", "new-password-1"))
    assert r.json()["role"] == "supervisor"  # demoted at once


def test_user_logout_on_the_command_line_ends_a_running_servers_tokens(write_client: TestClient,
                                                                        small_copy: Path) -> None:
    from typer.testing import CliRunner

    from gridservice.cli import app

    old = headers("supervisor")
    assert write_client.get("/api/v1/auth/me", headers=old).status_code == 200
    done = CliRunner().invoke(app, ["user", "logout", "supervisor", "--data", str(small_copy)])
    assert done.exit_code == 0, done.output
    assert write_client.get("/api/v1/auth/me", headers=old).status_code == 401
    assert write_client.get("/api/v1/auth/me", headers=headers("planner")).status_code == 200  # others stay


# -- 5. weak signing keys --------------------------------------------------------------------------


def test_a_short_secret_key_is_refused_at_start(small_gpkg: Path) -> None:
    with pytest.raises(DataError, match=r"GRIDSERVICE_SECRET_KEY is 3 bytes: .* at least 32"):
        create_app(str(small_gpkg), settings=SETTINGS.model_copy(update={"secret_key": "abc"}), web=False)
    create_app(str(small_gpkg), settings=SETTINGS.model_copy(update={"secret_key": "k" * 32}), web=False)


def test_serve_with_a_short_key_is_one_clear_error(small_gpkg: Path, monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from gridservice.cli import main
    from gridservice.config import get_settings

    monkeypatch.setenv("GRIDSERVICE_SECRET_KEY", "abc")
    monkeypatch.setattr("sys.argv", ["gridservice", "serve", "--data", str(small_gpkg)])
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as done:
            main()
    finally:
        get_settings.cache_clear()
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert "GRIDSERVICE_SECRET_KEY is 3 bytes" in err and "Traceback" not in err


# -- 6. cross-site state changes with the login cookie ------------------------------------------


@pytest.fixture
def cookie_client(small_copy: Path) -> Iterator[tuple[TestClient, Path]]:
    with TestClient(create_app(str(small_copy), settings=SETTINGS, web=False)) as c:
        assert _login(c, "dispatcher", "dispatcher-demo").status_code == 200  # sets the cookie
        yield c, small_copy


def _orders(path: Path) -> int:
    return len(GeoPackageStore(path).read_layer("work_orders"))


def test_a_cookie_post_from_another_site_changes_nothing(cookie_client: tuple[TestClient, Path]) -> None:
    c, path = cookie_client
    before = _orders(path)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for extra in (EVIL, {"Referer": "http://evil.example/page"}, {}):  # another site, or no origin at all
        r = c.post("/api/v1/work-orders", content=b"kind=repair&customer_id=C1", headers={**form, **extra})
        assert r.status_code == 403 and "cross-site" in r.json()["detail"], extra
        r = c.post("/api/v1/work-orders", json={"kind": "repair", "customer_id": "C1"}, headers=extra)
        assert r.status_code == 403, extra
    assert c.post("/api/v1/auth/refresh", headers=EVIL).status_code == 403
    assert c.post("/api/v1/auth/logout", headers=EVIL).status_code == 403
    assert _orders(path) == before
    assert c.get("/api/v1/auth/me", headers=EVIL).status_code == 200  # reading is not a change


def test_the_apps_own_pages_and_bearer_clients_still_write(cookie_client: tuple[TestClient, Path]) -> None:
    c, path = cookie_client
    before = _orders(path)
    body = {"kind": "repair", "customer_id": "C1"}
    assert c.post("/api/v1/work-orders", json=body, headers=SAME_SITE).status_code == 201
    assert c.post("/api/v1/work-orders", json=body, headers={"Referer": "http://testserver/#/dispatcher"}
                  ).status_code == 201
    assert c.post("/api/v1/auth/refresh", headers=SAME_SITE).status_code == 200  # the refresh cookie
    c.cookies.clear()
    assert c.post("/api/v1/work-orders", json=body, headers=headers("dispatcher")).status_code == 201
    assert _orders(path) == before + 3

