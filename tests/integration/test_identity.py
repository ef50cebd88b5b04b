"""Users, roles, projects and grants on both metadata DB lanes (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.catalog import Catalog, Registration
from hub.errors import TrustlabError
from hub.identity import Directory, PermissionDenied, Role, check_password, hash_password
from hub.models import Dataset, DatasetVersion, LedgerEntry
from hub.platform import Platform


def _register(platform: Platform, tmp_path: Path, name: str, owner: str) -> None:
    csv = tmp_path / f"{name}.csv"
    csv.write_text("id,city\n1,Hangzhou\n2,Ningbo\n")
    Catalog(platform, "tester").register(Registration(str(csv)), name, owner)


def _publish_sample(platform: Platform, source: str, location: Path) -> None:
    location.mkdir(parents=True)
    with platform.db.session() as session:
        src = session.scalar(select(Dataset).where(Dataset.name == source))
        sample = Dataset(
            name=f"{source}.sample", kind="sample", owner_id=src.owner_id, source_format="parquet",
            source_uri=str(location), sample_of_id=src.id, created_by="t",
        )  # fmt: skip
        session.add(sample)
        session.flush()
        session.add(
            DatasetVersion(
                dataset_id=sample.id,
                number=1,
                content_hash="ab" * 32,
                hash_algorithm="sha256",
                schema_json=json.dumps([{"name": "id", "type": "string"}]),
                row_count=2,
                location=str(location),
                created_by="t",
            )
        )


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


def test_grant_needs_the_owner_and_is_ledgered(directory: Directory, platform: Platform) -> None:
    with pytest.raises(PermissionDenied, match="not a member"):
        directory.request_grant("census", "people", "bob")
    directory.request_grant("census", "people", "alice")
    with pytest.raises(PermissionDenied, match="provider of civil-affairs"):
        directory.decide_grant("census", "people", "dave", True, None)  # wrong owner
    with pytest.raises(PermissionDenied):
        directory.decide_grant("census", "people", "alice", True, None)  # a developer
    with pytest.raises(TrustlabError, match="reason"):
        directory.decide_grant("census", "people", "carol", False, "  ")
    info = directory.decide_grant("census", "people", "carol", True, None)
    assert info["grants"][0]["status"] == "approved"
    with platform.db.session() as session:
        actions = [
            (e.action, e.actor)
            for e in session.scalars(
                select(LedgerEntry).where(LedgerEntry.subject == "project:census")
            )
        ]
    assert ("grant.request", "alice") in actions and ("grant.approve", "carol") in actions
    assert all(a != "grant.approve" or actor == "carol" for a, actor in actions)


def test_mounts_only_samples_of_approved_grants(
    directory: Directory, platform: Platform, tmp_path: Path
) -> None:
    with pytest.raises(PermissionDenied, match="no published samples"):
        directory.sandbox_mounts("alice", "census", "dev")
    directory.request_grant("census", "people", "alice")
    with pytest.raises(PermissionDenied):  # requested is not approved
        directory.sandbox_mounts("alice", "census", "dev")
    directory.decide_grant("census", "people", "carol", True, None)
    with pytest.raises(PermissionDenied):  # approved, but no sample published yet
        directory.sandbox_mounts("alice", "census", "dev")
    sample_dir = Path(platform.settings.zone("samples")) / "people" / "v1"
    _publish_sample(platform, "people", sample_dir)
    mounts = directory.sandbox_mounts("alice", "census", "dev")
    assert [(m["dataset"], m["catalog_name"], m["location"]) for m in mounts] == [
        ("people", "people.sample", str(sample_dir))
    ]
    source_uri = Catalog(platform, "tester").show("people")["source"]["uri"]
    assert all(m["location"] != source_uri for m in mounts)
    with pytest.raises(PermissionDenied, match="not a member"):
        directory.sandbox_mounts("bob", "census", "dev")
    with pytest.raises(PermissionDenied, match="approved products"):
        directory.sandbox_mounts("alice", "census", "prod")
    directory.revoke_grant("census", "people", "carol", "project ended")
    with pytest.raises(PermissionDenied):
        directory.sandbox_mounts("alice", "census", "dev")


def test_samples_cannot_be_granted_directly(
    directory: Directory, platform: Platform, tmp_path: Path
) -> None:
    _publish_sample(platform, "people", Path(platform.settings.zone("samples")) / "p")
    with pytest.raises(TrustlabError, match="is a sample"):
        directory.request_grant("census", "people.sample", "alice")
