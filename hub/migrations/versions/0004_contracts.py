"""Contracts (数字合约) replace grants; approved grants become contracts without an end date.

Each approved grant becomes an active contract ``grant-<project>-<dataset>`` (every column,
modes sandbox and pipeline, no end date) whose version records the grant's provider
decision. Its operator approval did not exist under the old one-party rule, so none is
invented: the contract's ``origin`` is ``grant`` and its ``state_by`` is
``migration:pending`` until the platform ledgers it (``hub.contracts.ledger_migrated``, on
the next start). Requested, rejected and revoked grants are not carried over.

Revision ID: 0004
Revises: 0003
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from hub.hashing import canonical_json, digest

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _aware(value):
    if value is None:
        return datetime.now(UTC)
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ref", sa.String(100), nullable=False),
        sa.Column("party_kind", sa.String(20), nullable=False),
        sa.Column("party", sa.String(100), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("valid_from", TZ, nullable=True),
        sa.Column("valid_until", TZ, nullable=True),
        sa.Column("origin", sa.String(20), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("state_by", sa.String(100), nullable=True),
        sa.Column("state_at", TZ, nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("ref", name=op.f("uq_contracts_ref")),
    )
    op.create_index(op.f("ix_contracts_party"), "contracts", ["party"])
    op.create_table(
        "contract_versions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("contract_id", sa.Integer(), sa.ForeignKey("contracts.id"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(80), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("contract_id", "number", name=op.f("uq_contract_versions_contract_id")),
    )
    op.create_index(op.f("ix_contract_versions_contract_id"), "contract_versions", ["contract_id"])
    op.create_table(
        "contract_approvals",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "version_id", sa.Integer(), sa.ForeignKey("contract_versions.id"), nullable=False
        ),
        sa.Column("version_hash", sa.String(80), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("org", sa.String(200), nullable=False),
        sa.Column("reviewer", sa.String(100), nullable=False),
        sa.Column("decision", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_at", TZ, nullable=False),
        sa.UniqueConstraint(
            "version_id", "role", "org", name=op.f("uq_contract_approvals_version_id")
        ),
    )
    op.create_index(op.f("ix_contract_approvals_version_id"), "contract_approvals", ["version_id"])
    op.create_table(
        "contract_usage",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("contract_id", sa.Integer(), sa.ForeignKey("contracts.id"), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("mode", sa.String(20), nullable=False),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(300), nullable=False),
        sa.Column("at", TZ, nullable=False),
    )
    op.create_index(op.f("ix_contract_usage_contract_id"), "contract_usage", ["contract_id"])
    op.create_index(op.f("ix_contract_usage_day"), "contract_usage", ["day"])
    _migrate_grants()
    op.drop_index(op.f("ix_grants_project_id"), table_name="grants")
    op.drop_index(op.f("ix_grants_dataset_id"), table_name="grants")
    op.drop_table("grants")


def _migrate_grants() -> None:
    conn = op.get_bind()
    algorithm = (
        conn.execute(
            sa.text("SELECT value FROM platform_state WHERE key = 'ledger.hash_algorithm'")
        ).scalar()
        or "sha256"
    )
    rows = (
        conn.execute(
            sa.text(
                "SELECT p.name AS project, d.name AS dataset, o.name AS owner, g.decided_by, "
                "g.decided_at, g.requested_by FROM grants g JOIN projects p ON p.id = g.project_id "
                "JOIN datasets d ON d.id = g.dataset_id JOIN organisations o ON o.id = d.owner_id "
                "WHERE g.status = 'approved' ORDER BY g.id"
            )
        )
        .mappings()
        .all()
    )
    contracts = sa.table(
        "contracts", *(sa.column(c) for c in (
            "id", "ref", "party_kind", "party", "state", "version", "valid_from",
            "valid_until", "origin", "state_reason", "state_by", "state_at", "created_by",
            "created_at")),
    )  # fmt: skip
    versions = sa.table("contract_versions", *(sa.column(c) for c in (
        "id", "contract_id", "number", "document", "hash", "status", "created_by",
        "created_at")))  # fmt: skip
    approvals = sa.table("contract_approvals", *(sa.column(c) for c in (
        "version_id", "version_hash", "role", "org", "reviewer", "decision", "reason",
        "decided_at")))  # fmt: skip
    for i, r in enumerate(rows, start=1):
        since = _aware(r["decided_at"])
        ref = f"grant-{r['project']}-{r['dataset']}"[:100]
        document = {
            "schema": "trustlab.contract/1",
            "ref": ref,
            "title": f"{r['dataset']} for project {r['project']} (migrated grant)",
            "parties": {"providers": [r["owner"]], "operator": "platform",
                        "user": {"kind": "project", "name": r["project"]}},
            "objects": [{"dataset": r["dataset"], "columns": "*",
                         "modes": ["sandbox", "pipeline"]}],
            "purpose": {"category": "other", "text": f"grant requested by "
                        f"{r['requested_by']}, approved by {r['decided_by']}"},
            "valid_from": since.isoformat().replace("+00:00", "Z"),
            "valid_until": None,
            "limits": {"runs_per_day": None, "rows_per_day": None, "calls_per_day": None},
        }  # fmt: skip
        text = canonical_json(document).decode()
        doc_hash = digest(algorithm, canonical_json(document)).hex()
        conn.execute(contracts.insert().values(
            id=i, ref=ref, party_kind="project", party=r["project"], state="active",
            version=1, valid_from=since, valid_until=None, origin="grant",
            state_reason="migrated from an approved grant (provider decision only)",
            state_by="migration:pending", state_at=datetime.now(UTC),
            created_by=r["requested_by"], created_at=since))  # fmt: skip
        conn.execute(versions.insert().values(
            id=i, contract_id=i, number=1, document=text, hash=doc_hash, status="approved",
            created_by=r["requested_by"], created_at=since))  # fmt: skip
        conn.execute(approvals.insert().values(
            version_id=i, version_hash=doc_hash, role="provider", org=r["owner"],
            reviewer=r["decided_by"] or "unknown", decision="approve",
            reason="the grant's decision, migrated", decided_at=since))  # fmt: skip


def downgrade() -> None:
    """Back to grants: each (project, dataset) of an active contract becomes an approved
    grant; the terms a grant cannot hold (columns, modes, dates, limits) are lost, and so
    are drafts and ended contracts (the ledger keeps their history)."""
    op.create_table(
        "grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("dataset_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("requested_by", sa.String(100), nullable=False),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("decided_by", sa.String(100), nullable=True),
        sa.Column("decided_at", TZ, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"],
                                name=op.f("fk_grants_project_id_projects")),
        sa.ForeignKeyConstraint(["dataset_id"], ["datasets.id"],
                                name=op.f("fk_grants_dataset_id_datasets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
        sa.UniqueConstraint("project_id", "dataset_id", name=op.f("uq_grants_project_id")),
    )  # fmt: skip
    op.create_index(op.f("ix_grants_project_id"), "grants", ["project_id"])
    op.create_index(op.f("ix_grants_dataset_id"), "grants", ["dataset_id"])
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT c.party, c.created_by, v.document FROM contracts c JOIN contract_versions v "
        "ON v.contract_id = c.id AND v.number = c.version WHERE c.state = 'active' "
        "AND c.party_kind = 'project'")).all()  # fmt: skip
    grants = sa.table("grants", *(sa.column(c) for c in (
        "project_id", "dataset_id", "status", "requested_by", "requested_at", "decided_by",
        "decided_at", "reason")))  # fmt: skip
    done = set()
    for party, author, document in rows:
        project = conn.execute(sa.text("SELECT id FROM projects WHERE name = :n"),
                               {"n": party}).scalar()  # fmt: skip
        for obj in json.loads(document)["objects"]:
            dataset = conn.execute(sa.text("SELECT id FROM datasets WHERE name = :n"),
                                   {"n": obj["dataset"]}).scalar()  # fmt: skip
            if project is None or dataset is None or (project, dataset) in done:
                continue
            done.add((project, dataset))
            now = datetime.now(UTC)
            conn.execute(grants.insert().values(
                project_id=project, dataset_id=dataset, status="approved",
                requested_by=author, requested_at=now, decided_by="migration",
                decided_at=now, reason="from an active contract (schema downgrade)"))  # fmt: skip
    for table in ("contract_usage", "contract_approvals", "contract_versions", "contracts"):
        op.drop_table(table)
