"""The evidence ledger against real databases: append-only triggers, tamper detection, proofs.

Tampering bypasses the append-only triggers the way an attacker with DBA rights would.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from hub import merkle
from hub.errors import InvalidState, LedgerIntegrityError
from hub.hashing import canonical_json
from hub.keys import key_id, public_pem
from hub.ledger import Ledger, check_proof, entry_body, entry_hash
from hub.platform import Platform


def append(platform: Platform, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        with platform.db.session() as s:
            platform.ledger.append(s, "tester", "test.event", f"thing:{i}", {"i": i, "名": "值"})


def verify(platform: Platform):  # type: ignore[no-untyped-def]
    with platform.db.session() as s:
        return platform.ledger.verify(s)


@contextmanager
def tamper(platform: Platform) -> Iterator[Connection]:
    """A connection with the append-only triggers out of the way (as a DBA could do)."""
    engine = platform.db.engine
    dialect = engine.dialect.name
    with engine.begin() as conn:
        if dialect == "sqlite":
            triggers = conn.execute(
                text("SELECT name, sql FROM sqlite_master WHERE type='trigger'")
            ).fetchall()
            for name, _ in triggers:
                conn.execute(text(f"DROP TRIGGER {name}"))
            yield conn
            for _, sql in triggers:
                conn.execute(text(sql))
        else:
            for table in ("ledger_entries", "ledger_checkpoints"):
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            yield conn
            for table in ("ledger_entries", "ledger_checkpoints"):
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def test_intact_ledger_verifies_with_checkpoints(platform: Platform) -> None:
    append(platform, 10)
    report = verify(platform)
    assert report.ok, report.problems
    assert report.entries == 10
    assert report.checkpoints == 2  # interval 4: after entries 4 and 8
    assert report.covered == 8


@pytest.mark.parametrize(
    "statement", ["UPDATE ledger_entries SET actor = 'x'", "DELETE FROM ledger_entries"]
)
def test_triggers_refuse_update_and_delete(platform: Platform, statement: str) -> None:
    append(platform, 2)
    with pytest.raises(DBAPIError, match="append-only"), platform.db.engine.begin() as conn:
        conn.execute(text(statement))
    assert verify(platform).entries == 2


def test_checkpoint_table_is_append_only(platform: Platform) -> None:
    append(platform, 4)
    with pytest.raises(DBAPIError, match="append-only"), platform.db.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_checkpoints SET root = '00'"))


def test_altered_payload_is_named(platform: Platform) -> None:
    append(platform, 10)
    with tamper(platform) as conn:
        conn.execute(
            text("UPDATE ledger_entries SET payload = :p WHERE seq = 6"), {"p": '{"i":99}'}
        )
    report = verify(platform)
    assert not report.ok
    assert report.first_bad_seq == 6


def test_deleted_row_is_named(platform: Platform) -> None:
    append(platform, 10)
    with tamper(platform) as conn:
        conn.execute(text("DELETE FROM ledger_entries WHERE seq = 5"))
    report = verify(platform)
    assert report.first_bad_seq == 5
    assert "missing" in report.problems[0]


def test_swapped_rows_are_named(platform: Platform) -> None:
    append(platform, 10)
    with tamper(platform) as conn:
        conn.execute(text("UPDATE ledger_entries SET seq = -1 WHERE seq = 3"))
        conn.execute(text("UPDATE ledger_entries SET seq = 3 WHERE seq = 7"))
        conn.execute(text("UPDATE ledger_entries SET seq = 7 WHERE seq = -1"))
    assert verify(platform).first_bad_seq == 3


def test_inserted_row_is_named(platform: Platform) -> None:
    append(platform, 6)
    with tamper(platform) as conn:
        for seq in range(6, 2, -1):
            conn.execute(text(f"UPDATE ledger_entries SET seq = {seq + 1} WHERE seq = {seq}"))
        prev = conn.execute(text("SELECT hash FROM ledger_entries WHERE seq = 2")).scalar_one()
        body = entry_body(3, "2026-01-01T00:00:00.000000Z", "mallory", "forged", "x", {})
        conn.execute(
            text(
                "INSERT INTO ledger_entries (seq, time, actor, action, subject, payload, "
                "prev_hash, hash) VALUES (3, :t, 'mallory', 'forged', 'x', '{}', :p, :h)"
            ),
            {"t": body["time"], "p": prev, "h": entry_hash("sha256", prev, body)},
        )
    assert verify(platform).first_bad_seq == 4  # the forged entry chains; its successor cannot


def test_consistently_rewritten_chain_is_caught_by_signed_checkpoint(platform: Platform) -> None:
    """An attacker who recomputes every hash after an edit still cannot re-sign checkpoints."""
    append(platform, 10)
    with tamper(platform) as conn:
        rows = conn.execute(text("SELECT * FROM ledger_entries ORDER BY seq")).mappings().all()
        prev = rows[5]["prev_hash"]
        for row in rows[5:]:
            payload = json.loads(row["payload"])
            if row["seq"] == 6:
                payload["i"] = 1000
            body = entry_body(
                row["seq"], row["time"], row["actor"], row["action"], row["subject"], payload
            )
            new = entry_hash("sha256", prev, body)
            conn.execute(
                text("UPDATE ledger_entries SET payload=:p, prev_hash=:ph, hash=:h WHERE seq=:s"),
                {"p": canonical_json(payload).decode(), "ph": prev, "h": new, "s": row["seq"]},
            )
            prev = new
    report = verify(platform)
    assert not report.ok
    assert report.first_bad_seq == 5  # the bad entry lies after checkpoint 4, within 5..8
    assert "Merkle root" in report.problems[0]


def test_forged_checkpoint_signature_is_detected(platform: Platform) -> None:
    append(platform, 8)
    with tamper(platform) as conn:
        conn.execute(
            text("UPDATE ledger_checkpoints SET signature = :s WHERE tree_size = 8"),
            {"s": "A" * 86 + "=="},
        )
    report = verify(platform)
    assert not report.ok
    assert "signature" in report.problems[0]


def test_checkpoint_signed_by_another_key_is_detected(platform: Platform) -> None:
    append(platform, 5)
    mallory = Ledger("sha256", private_key=Ed25519PrivateKey.generate(), checkpoint_interval=1000)
    with platform.db.session() as s:
        platform.ledger.append(s, "tester", "x", "y", {})
    with platform.db.session() as s:
        assert mallory.checkpoint(s) is not None
    assert "signature" in verify(platform).problems[0]


def test_truncated_tail_is_detected(platform: Platform) -> None:
    append(platform, 8)
    with tamper(platform) as conn:
        conn.execute(text("DELETE FROM ledger_entries WHERE seq > 6"))
    report = verify(platform)
    assert report.first_bad_seq == 7
    assert "removed" in report.problems[0]


def export(platform: Platform, path: Path) -> Path:
    """What `trustlab audit export` writes (the API serves ``Ledger.export``)."""
    with platform.db.session() as s:
        path.write_text(json.dumps(platform.ledger.export(s), ensure_ascii=False))
    return path


def test_offline_verify_of_an_export(platform: Platform, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hub.keys import public_pem

    append(platform, 6)
    pub = tmp_path / "pub.pem"
    pub.write_text(public_pem(platform.ledger.public_key))
    ok = cli("audit", "verify", "--file", str(export(platform, tmp_path / "l.json")),
             "--pubkey", str(pub))  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    assert "6 entries" in ok.stdout
    with tamper(platform) as conn:
        conn.execute(text("""UPDATE ledger_entries SET actor = 'mallory' WHERE seq = 2"""))
    bad = cli("audit", "verify", "--file", str(export(platform, tmp_path / "t.json")),
              "--format", "json")  # fmt: skip
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["first_bad_seq"] == 2
    garbage = tmp_path / "g.json"
    garbage.write_text("{}")
    wrong = cli("audit", "verify", "--file", str(garbage))
    assert wrong.returncode == 1 and "not a ledger export" in wrong.stderr


def test_ledger_entry_only_when_work_commits(platform: Platform) -> None:
    append(platform, 1)
    with pytest.raises(RuntimeError), platform.db.session() as s:
        platform.ledger.append(s, "tester", "doomed", "x", {})
        raise RuntimeError("the work failed after the entry was written")
    report = verify(platform)
    assert report.ok and report.entries == 1


def test_hash_algorithm_cannot_change_under_an_existing_ledger(platform: Platform) -> None:
    append(platform, 1)
    other = Ledger("sm3", private_key=Ed25519PrivateKey.generate())
    with pytest.raises(Exception, match="uses sha256"), platform.db.session() as s:
        other.append(s, "tester", "x", "y", {})


# --- inclusion proofs --------------------------------------------------------------------


@pytest.fixture
def proof(platform: Platform) -> dict:
    append(platform, 11)
    with platform.db.session() as s:
        return platform.ledger.proof(s, 6)


def test_proof_reading_writes_nothing_and_checks_offline(platform: Platform, cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hub.keys import public_pem

    append(platform, 7)  # checkpoints every 4 entries: entry 7 is not covered yet
    with pytest.raises(InvalidState, match="not covered by a signed checkpoint"), \
            platform.db.session() as s:  # fmt: skip
        platform.ledger.proof(s, 7)
    with platform.db.session() as s:  # reading a proof wrote nothing
        assert platform.ledger.verify(s).checkpoints == 1
        platform.ledger.checkpoint(s)
    with platform.db.session() as s:
        out = tmp_path / "p.json"
        out.write_text(json.dumps(platform.ledger.proof(s, 7)))
    pub = tmp_path / "pub.pem"
    pub.write_text(public_pem(platform.ledger.public_key))
    checked = cli("audit", "check-proof", str(out), "--pubkey", str(pub))
    assert checked.returncode == 0, checked.stderr
    assert "entry 7" in checked.stdout
    doc = json.loads(out.read_text())
    doc["entry"]["payload"]["i"] = 1
    out.write_text(json.dumps(doc))
    rejected = cli("audit", "check-proof", str(out), "--pubkey", str(pub))
    assert rejected.returncode == 1
    assert "does not match its hash" in rejected.stderr


def test_proof_verifies_against_pinned_key(platform: Platform, proof: dict) -> None:
    assert check_proof(proof, platform.ledger.public_key)["seq"] == 6


def _mutations(proof: dict) -> dict[str, dict]:
    def edit(fn):  # type: ignore[no-untyped-def]
        doc = json.loads(json.dumps(proof))
        fn(doc)
        return doc

    def flip(h: str) -> str:
        return ("0" if h[0] != "0" else "1") + h[1:]

    return {
        "payload": edit(lambda d: d["entry"]["payload"].update(i=42)),
        "actor": edit(lambda d: d["entry"].update(actor="mallory")),
        "path element": edit(lambda d: d["path"].__setitem__(0, flip(d["path"][0]))),
        "truncated path": edit(lambda d: d["path"].pop()),
        "extended path": edit(lambda d: d["path"].append(d["path"][0])),
        "reordered path": edit(lambda d: d["path"].reverse()),
        "leaf index": edit(lambda d: d.update(leaf_index=d["leaf_index"] + 1)),
        "tree size": edit(lambda d: d.update(tree_size=d["tree_size"] - 1)),
        "root": edit(lambda d: d["checkpoint"].update(root=flip(d["checkpoint"]["root"]))),
        "signature": edit(lambda d: d["checkpoint"].update(signature="A" * 86 + "==")),
        "format": edit(lambda d: d.update(format="other")),
        "missing entry": edit(lambda d: d.pop("entry")),
        "algorithm": edit(lambda d: d.update(algorithm="sm3")),
    }


@pytest.mark.parametrize(
    "mutation",
    ["payload", "actor", "path element", "truncated path", "extended path", "reordered path",
     "leaf index", "tree size", "root", "signature", "format", "missing entry", "algorithm"],
)  # fmt: skip
def test_tampered_proofs_are_rejected(platform: Platform, proof: dict, mutation: str) -> None:
    with pytest.raises(LedgerIntegrityError):
        check_proof(_mutations(proof)[mutation], platform.ledger.public_key)


def test_proof_resigned_by_attacker_fails_against_pinned_key(
    platform: Platform, proof: dict
) -> None:
    """Mallory edits the entry, builds a self-consistent one-leaf tree and signs it herself."""
    mallory = Ed25519PrivateKey.generate()
    doc = json.loads(json.dumps(proof))
    entry = doc["entry"]
    entry.update(seq=1, payload={"i": 0})
    body = {k: entry[k] for k in ("seq", "time", "actor", "action", "subject", "payload")}
    entry["hash"] = entry_hash("sha256", entry["prev_hash"], body)
    cp = {
        "tree_size": 1,
        "root": merkle.root("sha256", [bytes.fromhex(entry["hash"])]).hex(),
        "algorithm": "sha256",
        "time": "2026-01-01T00:00:00.000000Z",
        "key_id": key_id(mallory.public_key()),
    }
    cp["signature"] = base64.b64encode(mallory.sign(canonical_json(cp))).decode()
    doc.update(leaf_index=0, tree_size=1, path=[], checkpoint=cp)
    doc["public_key"] = public_pem(mallory.public_key())
    check_proof(doc)  # consistent with the key it carries...
    with pytest.raises(LedgerIntegrityError, match="signature"):
        check_proof(doc, platform.ledger.public_key)  # ...but not with the pinned platform key


def test_many_checkpoints_stay_consistent(platform: Platform) -> None:
    """Each checkpoint continues from the previous one's frontier; verify recomputes all."""
    append(platform, 23)
    with platform.db.session() as s:
        platform.ledger.checkpoint(s)
    report = verify(platform)
    assert report.ok, report.problems
    assert report.checkpoints == 6 and report.covered == 23


def test_concurrent_appends_keep_one_chain(platform: Platform) -> None:
    """Writers in parallel threads (own connections) serialise on the ledger's lock."""
    from concurrent.futures import ThreadPoolExecutor

    def writer(k: int) -> None:
        for i in range(5):
            with platform.db.session() as s:
                platform.ledger.append(s, f"w{k}", "test.event", f"w{k}:{i}", {})

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(writer, range(4)))
    report = verify(platform)
    assert report.ok, report.problems
    assert report.entries == 20


def test_sm3_ledger_end_to_end(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from hub.settings import Settings

    settings = Settings(home=tmp_path / "sm3", hash_algorithm="sm3", ledger_checkpoint_interval=3)
    p = Platform(settings)
    p.init()
    append(p, 7)
    report = verify(p)
    assert report.ok and report.checkpoints == 2
    with p.db.session() as s:
        proof = p.ledger.proof(s, 5)
    assert proof["algorithm"] == "sm3"
    assert check_proof(proof, p.ledger.public_key)["seq"] == 5
    sha_view = Ledger("sha256", public_key=p.ledger.public_key)
    with p.db.session() as s:
        assert not sha_view.verify(s).ok
    p.close()


def test_sealed_entries_and_the_timer_sign_checkpoints(
    platform: Platform, cli, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from hub.sealer import Sealer

    append(platform, 1)
    with platform.db.session() as s:
        platform.ledger.append(s, "tester", "pipeline.approve", "pipeline:x", {}, seal=True)
    report = verify(platform)
    assert (report.entries, report.covered, report.checkpoints) == (2, 2, 1)
    assert report.newest_checkpoint_time is not None
    append(platform, 1)  # entry 3: uncovered until the timer's next round
    sealer = Sealer(platform, minutes=60)
    assert sealer.seal_once() == 3
    assert sealer.seal_once() is None  # nothing new: nothing signed
    assert verify(platform).covered == 3
    shown = cli("audit", "verify", "--file", str(export(platform, tmp_path / "x.json")))
    assert shown.returncode == 0 and "newest signed" in shown.stdout and " ago" in shown.stdout
