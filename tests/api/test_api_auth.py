"""Login, tokens, cookies, basic credentials, roles and user management."""

from __future__ import annotations

import base64

from api_helpers import SECRET, headers
from fastapi.testclient import TestClient

from gridservice.api.security import COOKIE, Tokens
from gridservice.auth import User
from gridservice.io import GeoPackageStore

#: What a browser adds to a request the app's own page makes (TestClient's host is "testserver").
SAME_SITE = {"Origin": "http://testserver"}


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def test_login_with_json_gives_a_token_and_a_cookie(client: TestClient) -> None:
    r = client.post("/api/v1/auth/login", json={"username": "planner", "password": "planner-demo"})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["user"]["role"] == "planner"
    assert COOKIE in r.cookies
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json() == {"username": "planner", "role": "planner", "display_name": "规划员 李明",
                         "permissions": ["plan.commit", "plan.revert", "roster.write"]}  # what the browser offers
    dispatcher = client.get("/api/v1/auth/me", headers=basic("dispatcher", "dispatcher-demo")).json()
    assert dispatcher["permissions"] == ["work_order.create", "work_order.update", "outage.create", "outage.close",
                                         "switch.operate", "application.read", "theft.read", "meter_check.write",
                                         "visit.read", "visit.write"]
    client.cookies.clear()


def test_login_with_a_form_and_then_the_cookie_alone(write_client: TestClient) -> None:
    c = write_client
    r = c.post("/api/v1/auth/login", data={"username": "dispatcher", "password": "dispatcher-demo"})
    assert r.status_code == 200
    assert c.get("/api/v1/auth/me").json()["role"] == "dispatcher"  # the cookie carries the login
    assert c.post("/api/v1/auth/logout", headers=SAME_SITE).status_code == 204
    assert c.get("/api/v1/auth/me").status_code == 401


def test_wrong_password_and_missing_login_are_401(client: TestClient) -> None:
    r = client.post("/api/v1/auth/login", json={"username": "planner", "password": "nope-nope"})
    assert r.status_code == 401
    assert r.json()["error"] == "AuthenticationError" and "Traceback" not in r.text
    assert client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"}).status_code == 401
    r = client.get("/api/v1/grids")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_expired_forged_and_orphan_tokens_are_refused(client: TestClient) -> None:
    expired = Tokens(SECRET, minutes=-1).issue(User("planner", "planner"))[0]
    r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    forged = Tokens("another-key-another-key-another-key!", minutes=5).issue(User("admin", "admin"))[0]
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    ghost = Tokens(SECRET, minutes=5).issue(User("ghost", "admin"))[0]
    assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {ghost}"}).status_code == 401


def test_basic_credentials_and_token_query_work(client: TestClient) -> None:
    assert client.get("/api/v1/auth/me", headers=basic("supervisor", "supervisor-demo")).json()["role"] == "supervisor"
    # a second request is answered from the cache and still checks the password
    assert client.get("/api/v1/auth/me", headers=basic("supervisor", "supervisor-demo")).status_code == 200
    assert client.get("/api/v1/auth/me", headers=basic("supervisor", "wrong-password")).status_code == 401
    r = client.get("/ogc/collections", headers=basic("supervisor", "wrong-password"))
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
    token = headers("planner")["Authorization"].split()[1]
    assert client.get(f"/ogc/conformance?token={token}").status_code == 200


def test_only_admins_manage_users(write_client: TestClient, small_copy) -> None:
    listed = write_client.get("/api/v1/users", headers=headers("admin"))
    assert listed.status_code == 200
    assert sorted(u["username"] for u in listed.json()) == ["admin", "dispatcher", "planner", "supervisor"]
    assert all("password_hash" not in u for u in listed.json())
    for role in ("planner", "dispatcher", "supervisor"):
        assert write_client.get("/api/v1/users", headers=headers(role)).status_code == 403
    body = {"username": "wang", "role": "dispatcher", "password": "s3cret-pass", "display_name": "王调度"}
    assert write_client.post("/api/v1/users", json=body, headers=headers("planner")).status_code == 403
    r = write_client.post("/api/v1/users", json=body, headers=headers("admin"))
    assert r.status_code == 201 and r.json()["role"] == "dispatcher"
    login = write_client.post("/api/v1/auth/login", json={"username": "wang", "password": "s3cret-pass"})
    assert login.status_code == 200
    write_client.cookies.clear()
    assert write_client.post("/api/v1/users", json=body, headers=headers("admin")).status_code == 409  # exists
    assert write_client.delete("/api/v1/users/wang", headers=headers("admin")).status_code == 204
    gone = write_client.post("/api/v1/auth/login", json={"username": "wang", "password": "s3cret-pass"})
    assert gone.status_code == 401
    log = GeoPackageStore(small_copy).read_layer("audit_log")
    mine = log[log["feature_id"] == "wang"]
    assert sorted(mine["action"]) == ["user.add", "user.remove"] and set(mine["user"]) == {"admin"}


def test_bad_user_input_is_422_with_the_field(client: TestClient) -> None:
    r = client.post("/api/v1/users", json={"username": "x y", "role": "boss", "password": "short"},
                    headers=headers("admin"))
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"body.username", "body.role", "body.password"}
