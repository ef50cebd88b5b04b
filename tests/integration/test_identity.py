"""Users, roles and projects on both metadata DB lanes (SQLite, PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.catalog import Catalog, Registration
from hub.errors import TrustlabError
from hub.identity import Directory, Role, check_password, hash_password
from hub.platform import Platform


def _register(platform: Platform, tmp_path: Path, name: str, owner: str) -> None:
    csv = tmp_path / f"{name}.csv"
    csv.write_text("id,city\n1,Hangzhou\n2,Ningbo\n")
    Catalog(platform, "tester").register(Registration(str(csv)), name, owner)


@pytest.fixture
def directory(platform: Platform, tmp_path: Path) -> Directory:
    _register(platform, tmp_path, "people", "civil-affairs")
    _register(platform, tmp_path, "trips", "transport")
    d = Directory(platform)
    d.add_user("alice", [Role("developer")], "alice-password", "admin")
    d.add_user("bob", [Role("developer")], "bob-password1", "admin")
    d.add_user("carol", [Role("provider", "civil-affairs")], "carol-password", "admin")
    d.add_user("dave", [Role("provider", "transport")], "dave-password", "admin")
    d.create_project("census", "", ["alice"], "admin")
    return d


def test_password_hash_round_trip_and_no_plaintext() -> None:
    stored = hash_password("s3cret-pass")
    assert "s3cret" not in stored
    assert check_password(stored, "s3cret-pass")
    assert not check_password(stored, "s3cret-pasS")
    assert not check_password(None, "x") and not check_password("garbage", "x")


def test_authenticate_and_hub_groups(directory: Directory) -> None:
    assert directory.authenticate("alice", "wrong") is None
    assert directory.authenticate("nobody", "alice-password") is None
    carol = directory.authenticate("carol", "carol-password")
    assert carol is not None
    assert carol["groups"] == ["provider-civil-affairs", "providers"]
    assert carol["admin"] is False


def test_role_rules(directory: Directory) -> None:
    with pytest.raises(TrustlabError, match="--org"):
        directory.add_user("erin", [Role("provider")], "erin-password", "admin")
    with pytest.raises(TrustlabError, match="unknown role"):
        directory.add_user("erin", [Role("superuser")], "erin-password", "admin")
    with pytest.raises(TrustlabError, match="no organisation"):
        directory.add_user("erin", [Role("provider", "nowhere")], "erin-password", "admin")
    with pytest.raises(TrustlabError, match="invalid user name"):
        directory.add_user("Erin Smith", [Role("developer")], "erin-password", "admin")
    # nothing half-written: the failed adds left no user behind
    assert "erin" not in {u["name"] for u in directory.list_users()}
