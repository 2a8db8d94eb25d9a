"""Users, roles, password hashes, masking and the audit log (no HTTP)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gridservice.auth import (
    PERMISSIONS,
    User,
    add_user,
    authenticate,
    demo_users,
    hash_password,
    list_users,
    mask_name,
    mask_personal,
    mask_phone,
    mask_phones_in_text,
    record,
    remove_user,
    require,
    verify_password,
)
from gridservice.errors import AuthenticationError, ConflictError, DataError, NotFoundError, PermissionDeniedError
from gridservice.io import GeoPackageStore
from gridservice.model import ServiceArea


def test_hashes_are_salted_argon2() -> None:
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a != b and a.startswith("$argon2id$")
    assert verify_password("correct horse", a) and not verify_password("wrong horse", a)
    assert not verify_password("anything", "not-a-hash")
    with pytest.raises(DataError, match="too short"):
        hash_password("short")


def test_role_rules() -> None:
    planner, dispatcher = User("p", "planner"), User("d", "dispatcher")
    supervisor, admin = User("s", "supervisor"), User("a", "admin")
    assert planner.can("plan.commit") and not supervisor.can("plan.commit") and not dispatcher.can("plan.commit")
    assert dispatcher.can("work_order.create") and dispatcher.can("outage.create")
    assert not planner.can("work_order.create") and not supervisor.can("outage.close")
    assert admin.can("user.manage") and not dispatcher.can("user.manage")
    assert all(admin.can(action) for action in PERMISSIONS)
    # a supervisor writes only the indicator warnings (update, clear); the restricted reads (the 业扩 monitor,
    # the theft suspects, the visit lists) are for supervisors and dispatchers; a dispatcher sends members on
    # field checks
    assert {action for action in PERMISSIONS if supervisor.can(action)} == {"application.read", "theft.read",
                                                                             "visit.read", "warning.write"}
    assert not dispatcher.can("warning.write") and not planner.can("warning.write")
    assert dispatcher.can("application.read") and not planner.can("application.read")
    assert dispatcher.can("theft.read") and not planner.can("theft.read")
    assert dispatcher.can("meter_check.write") and not supervisor.can("meter_check.write")
    # the duty roster is made by the planner, who staffs the grids; the supervisor audits it
    assert planner.can("roster.write") and not supervisor.can("roster.write") and not dispatcher.can("roster.write")
    assert dispatcher.can("visit.write") and not supervisor.can("visit.write") and not planner.can("visit.read")
    assert [u.can("switch.operate") for u in (dispatcher, supervisor, planner)] == [True, False, False]
    with pytest.raises(PermissionDeniedError, match="supervisor"):
        require(supervisor, "plan.commit")


def test_masking() -> None:
    phones = pd.Series(["13812345678", "0794-3221234", "12345", None], dtype="str")
    assert mask_phone(phones).tolist()[:3] == ["138****5678", "079****1234", "****45"]
    assert pd.isna(mask_phone(phones).iloc[3])
    assert mask_name(pd.Series(["张三", "欧阳娜娜", "王"], dtype="str")).tolist() == ["张*", "欧***", "王"]
    assert mask_phones_in_text(pd.Series(["号码13812345678重复"], dtype="str")).iloc[0] == "号码138****5678重复"
    df = pd.DataFrame({"name": ["张三"], "phone": ["13812345678"], "address": ["琴城镇"]}).astype("str")
    assert mask_personal(df, User("p", "planner")).iloc[0].tolist() == ["张*", "138****5678", "琴城镇"]
    assert mask_personal(df, User("d", "dispatcher")).iloc[0].tolist() == ["张三", "13812345678", "琴城镇"]


def test_demo_users_log_in() -> None:
    users, passwords = demo_users()
    assert sorted(users["role"]) == ["admin", "dispatcher", "planner", "supervisor"]
    assert authenticate(users, "planner", passwords["planner"]).role == "planner"
    with pytest.raises(AuthenticationError):
        authenticate(users, "planner", passwords["admin"])
    with pytest.raises(AuthenticationError):
        authenticate(users, "nobody", "whatever-pass")


def test_users_in_a_store_with_their_audit_trail(tmp_path: Path) -> None:
    store = GeoPackageStore(tmp_path / "u.gpkg")
    store.write(ServiceArea({}).layers, create=True)
    add_user(store, "li", "planner", "li-password", display_name="李", by="root")
    with pytest.raises(ConflictError, match="already exists"):
        add_user(store, "li", "planner", "li-password")
    with pytest.raises(DataError, match="too short"):
        add_user(store, "wu", "planner", " " * 12)
    with pytest.raises(DataError, match="unknown role"):
        add_user(store, "wu", "boss", "wu-password")
    add_user(store, "li", "supervisor", "new-password", replace=True, by="root")
    listed = list_users(store)
    assert listed.loc["li", "role"] == "supervisor" and "password_hash" not in listed.columns
    assert authenticate(store.read_layer("users"), "li", "new-password").role == "supervisor"
    remove_user(store, "li", by="root")
    with pytest.raises(NotFoundError):
        remove_user(store, "li")
    add_user(store, "root", "admin", "root-password", by="root")
    with pytest.raises(ConflictError, match="last admin"):
        remove_user(store, "root", by="root")
    record(store, user="root", action="export", layer="customers")
    log = store.read_layer("audit_log")
    assert log["action"].tolist() == ["user.add", "user.add", "user.remove", "user.add", "export"]
    assert set(log["user"]) == {"root"} and log.index.is_unique


def test_addresses_are_masked_to_the_village_or_street() -> None:
    addresses = pd.Series(["南丰县白舍镇罗坊村3组12号", "琴城镇东门路1号", "南丰县工业园区１８号", "市山镇", None],
                          dtype="str")
    masked = mask_personal(pd.DataFrame({"address": addresses}), User("s", "supervisor"))["address"]
    assert masked.tolist()[:4] == ["南丰县白舍镇罗坊村…", "琴城镇东门路…", "南丰县工业园区…", "市山镇"]
    assert pd.isna(masked.iloc[4])
    assert mask_personal(pd.DataFrame({"address": addresses}), User("a", "admin"))["address"].equals(addresses)


def test_token_versions_change_whenever_logins_must_end(tmp_path: Path) -> None:
    from gridservice.auth import end_logins, user_of, users_by_name

    store = GeoPackageStore(tmp_path / "u.gpkg")
    store.write(ServiceArea({}).layers, create=True)
    versions = [add_user(store, "li", "planner", "li-password").token_version]
    versions.append(add_user(store, "li", "planner", "li-password", replace=True).token_version)  # same again
    end_logins(store, "li", by="li")
    users = store.read_layer("users")
    versions.append(users.loc["li", "token_version"])
    assert len(set(versions)) == 3 and all(versions)
    assert user_of(users_by_name(users), "li", token_version=versions[-1]).role == "planner"
    with pytest.raises(AuthenticationError, match="log in again"):
        user_of(users_by_name(users), "li", token_version=versions[0])
    remove_user(store, "li")
    assert add_user(store, "li", "planner", "li-password").token_version not in versions  # no revival
    with pytest.raises(NotFoundError):
        end_logins(store, "nobody", by="root")
    assert store.read_layer("audit_log")["action"].tolist().count("auth.logout") == 1
