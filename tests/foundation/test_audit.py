"""The audit trail is append-only and hash-chained; tampering is found and located."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from foundation import audit
from foundation.audit import AuditCheckpoint, AuditEntry, Progress, append_checkpoint, verify, verify_chain
from foundation.roles import Role
from tests.factories import make_user


def _three_entries(session):
    admin = make_user(session, Role.CENTRE_ADMIN)
    entries = [
        audit.record(session, admin, "demo.step", "thing", n, before={"v": n}, after={"v": n + 1})
        for n in range(3)
    ]
    return admin, entries


def _drop_guard(session, table="audit_entry"):
    """What someone with raw database access would do before editing the log."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text(f"DROP TRIGGER {table}_no_update"))
        session.execute(text(f"DROP TRIGGER {table}_no_delete"))
    else:
        session.execute(text(f"DROP TRIGGER {table}_no_change ON {table}"))


def test_entries_chain_and_verify(session):
    _, entries = _three_entries(session)
    assert entries[1].prev_hash == entries[0].hash
    assert entries[2].prev_hash == entries[1].hash
    assert [e.seq for e in entries] == [entries[0].seq, entries[0].seq + 1, entries[0].seq + 2]
    report = verify_chain(session)
    assert report.ok and report.checked >= 3


def test_database_refuses_update_and_delete(session):
    _, entries = _three_entries(session)
    nested = session.begin_nested()
    with pytest.raises(DatabaseError):
        session.execute(text("UPDATE audit_entry SET actor_name = 'x' WHERE id = :id"), {"id": entries[0].id})
    nested.rollback()
    nested = session.begin_nested()
    with pytest.raises(DatabaseError):
        session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": entries[0].id})
    nested.rollback()


def test_edited_row_is_named_as_first_broken(session):
    _, entries = _three_entries(session)
    _drop_guard(session)
    session.execute(
        text("UPDATE audit_entry SET after_json = :v WHERE id = :id"), {"v": '{"v":999}', "id": entries[1].id}
    )
    session.expire_all()
    report = verify_chain(session)
    assert not report.ok
    assert report.first_broken_seq == entries[1].seq
    assert report.first_broken_id == entries[1].id
    assert "修改" in (report.reason or "")


def test_rehashed_edit_breaks_the_next_link(session):
    """An attacker who also recomputes the edited row's hash still breaks the following row."""
    _, entries = _three_entries(session)
    _drop_guard(session)
    target = entries[1]
    session.execute(text("UPDATE audit_entry SET actor_name = '伪造' WHERE id = :id"), {"id": target.id})
    session.expire_all()
    row = session.get(AuditEntry, target.id)
    new_hash = audit._digest(row)
    session.execute(text("UPDATE audit_entry SET hash = :h WHERE id = :id"), {"h": new_hash, "id": target.id})
    session.expire_all()
    report = verify_chain(session)
    assert not report.ok and report.first_broken_seq == entries[2].seq


def test_deleted_middle_and_tail_rows_are_found(session):
    _, entries = _three_entries(session)
    ids = [e.id for e in entries]
    seqs = [e.seq for e in entries]
    _drop_guard(session)
    session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": ids[2]})
    session.expire_all()
    report = verify_chain(session)
    assert not report.ok and report.first_broken_seq == seqs[2] and "删除" in (report.reason or "")
    session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": ids[0]})
    session.expire_all()
    report = verify_chain(session)
    assert not report.ok and report.first_broken_seq == seqs[0]


def test_services_append_with_actor_and_before_after(session):
    from foundation.accounts import create_user, update_user

    admin = make_user(session, Role.CENTRE_ADMIN)
    user = create_user(session, admin, role=Role.SUPERVISOR, name="赵督导", username="zhao_dd", password="Lamp7Cloud")
    update_user(session, admin, user.id, name="赵督导员")
    last = session.query(AuditEntry).order_by(AuditEntry.seq.desc()).first()
    assert last.action == "user.update" and last.actor_id == admin.id and last.actor_role == "centre_admin"
    assert last.before["name"] == "赵督导" and last.after["name"] == "赵督导员"


# ------------------------------------------------------------------ checkpoints (issue 16 point 8)


def _more(session, admin, n, start=100):
    return [audit.record(session, admin, "demo.step", "thing", start + k, after={"k": k}) for k in range(n)]


def _checkpoint(session, admin, *, full=True):
    report = verify(session, full=full)
    assert report.ok, report
    cp = append_checkpoint(session, admin, report)
    session.flush()
    return cp


def _rehash_from(session, seq):
    """An attacker who also recomputes every hash from ``seq`` to the tip, and the head."""
    prev = session.scalar(text("SELECT hash FROM audit_entry WHERE seq = :s"), {"s": seq - 1}) or audit.GENESIS
    session.expire_all()
    for entry in session.query(AuditEntry).filter(AuditEntry.seq >= seq).order_by(AuditEntry.seq):
        entry_prev, entry_id = prev, entry.id
        session.execute(text("UPDATE audit_entry SET prev_hash = :p WHERE id = :id"), {"p": entry_prev, "id": entry_id})
        session.expire(entry)
        new = audit._digest(session.get(AuditEntry, entry_id))
        session.execute(text("UPDATE audit_entry SET hash = :h WHERE id = :id"), {"h": new, "id": entry_id})
        prev = new
    session.execute(text("UPDATE audit_head SET last_hash = :h WHERE id = 1"), {"h": prev})
    session.expire_all()


@pytest.mark.parametrize("new_entries", [0, 1, 7])
def test_incremental_verify_reads_only_the_entries_after_the_checkpoint(session, new_entries):
    admin, entries = _three_entries(session)
    cp = _checkpoint(session, admin)
    assert cp.upto_seq == entries[-1].seq and cp.entry_hash == entries[-1].hash and cp.checked >= 3
    added = _more(session, admin, new_entries)
    steps: list[Progress] = []
    report = verify(session, full=False, progress=steps.append, chunk=3)
    assert report.ok and report.kind == "incremental"
    assert report.from_seq == cp.upto_seq and report.from_checkpoint == cp.number
    assert report.checked == new_entries
    assert report.upto_seq == (added[-1].seq if added else cp.upto_seq)
    assert sum(1 for s in steps if s.phase == "entries") == -(-new_entries // 3)  # one per chunk of 3
    assert all(s.total == new_entries for s in steps)
    full = verify(session, full=True)
    assert full.ok and full.checked == report.upto_seq and full.checkpoints_checked == cp.number


def test_incremental_verify_sends_no_query_for_entries_before_the_checkpoint(session):
    """Counted at the database: the rows the incremental run fetches are the checkpoint's own
    entry and the new ones, never the older ones."""
    from sqlalchemy import event

    admin, _ = _three_entries(session)
    _more(session, admin, 20)
    cp = _checkpoint(session, admin)
    added = _more(session, admin, 4, start=500)
    fetched: list[int] = []
    engine = session.get_bind().engine

    def count(conn, cursor, statement, parameters, context, executemany):
        if "FROM audit_entry" in statement and "audit_entry.seq" in statement:
            fetched.append(1)

    rows_seen: list[int] = []
    real_digest = audit._digest

    def spying_digest(entry):
        rows_seen.append(entry.seq)
        return real_digest(entry)

    event.listen(engine, "before_cursor_execute", count)
    audit._digest = spying_digest
    try:
        report = verify(session, full=False)
    finally:
        audit._digest = real_digest
        event.remove(engine, "before_cursor_execute", count)
    assert report.ok and report.checked == 4
    assert sorted(rows_seen) == [cp.upto_seq] + [e.seq for e in added]
    assert len(fetched) <= 3  # the checkpoint's entry, one chunk, nothing for the 23 older rows


def test_edit_before_the_checkpoint_is_caught_by_full_verify_only(session):
    admin, entries = _three_entries(session)
    _more(session, admin, 3)
    _checkpoint(session, admin)
    _drop_guard(session)
    for target in entries:  # every entry before the checkpoint's own one
        session.execute(text("UPDATE audit_entry SET actor_name = '伪造' WHERE id = :id"), {"id": target.id})
        session.expire_all()
        assert verify(session, full=False).ok  # what the incremental verification cannot see
        report = verify(session, full=True)
        assert not report.ok and report.first_broken_seq == entries[0].seq


def test_consistent_rewrite_before_the_checkpoint_is_caught_by_the_checkpoints(session):
    """Editing an entry and recomputing every later hash and the head passes the entry chain;
    the checkpoints recorded the old hashes, so both verifications still find it."""
    admin, entries = _three_entries(session)
    cp1 = _checkpoint(session, admin)
    _more(session, admin, 2)
    cp2 = _checkpoint(session, admin, full=False)
    _drop_guard(session)
    session.execute(text("UPDATE audit_entry SET target_id = '99' WHERE id = :id"), {"id": entries[0].id})
    _rehash_from(session, entries[0].seq)
    full = verify(session, full=True)
    assert not full.ok and full.broken_checkpoint == cp1.number and full.first_broken_seq == cp1.upto_seq
    assert full.checked == cp2.upto_seq  # the entries themselves chain
    incremental = verify(session, full=False)
    assert not incremental.ok and incremental.broken_checkpoint == cp2.number
    assert incremental.first_broken_seq == cp2.upto_seq


@pytest.mark.parametrize("column,value", [
    ("upto_seq", "upto_seq - 1"), ("entry_hash", "'0'"), ("kind", "'full2'"), ("checked", "checked + 1"),
    ("actor_name", "'伪造'"), ("prev_hash", "'0'"), ("hash", "'0'"), ("verified_at", "'2020-01-01 00:00:00'"),
])
def test_tampered_checkpoint_is_caught(session, column, value):
    admin, _ = _three_entries(session)
    first = _checkpoint(session, admin)
    _more(session, admin, 2)
    latest = _checkpoint(session, admin, full=False)
    _drop_guard(session, "audit_checkpoint")
    for cp in (latest, first):
        nested = session.begin_nested()
        edit = f"UPDATE audit_checkpoint SET {column} = {value} WHERE id = :id"  # noqa: S608 (fixed values)
        session.execute(text(edit), {"id": cp.id})
        session.expire_all()
        full = verify(session, full=True)
        assert not full.ok and full.broken_checkpoint == cp.number, full
        if cp is latest:
            incremental = verify(session, full=False)
            assert not incremental.ok and incremental.broken_checkpoint == cp.number
        nested.rollback()
        session.expire_all()


def test_rehashed_or_deleted_earlier_checkpoint_breaks_the_link(session):
    admin, _ = _three_entries(session)
    first = _checkpoint(session, admin)
    _more(session, admin, 1)
    latest = _checkpoint(session, admin, full=False)
    _drop_guard(session, "audit_checkpoint")
    nested = session.begin_nested()
    session.execute(text("UPDATE audit_checkpoint SET actor_name = '伪造' WHERE id = :id"), {"id": first.id})
    session.expire_all()
    row = session.get(AuditCheckpoint, first.id)
    session.execute(text("UPDATE audit_checkpoint SET hash = :h WHERE id = :id"),
                    {"h": audit._checkpoint_digest(row), "id": first.id})
    session.expire_all()
    for full in (True, False):
        report = verify(session, full=full)
        assert not report.ok and report.broken_checkpoint == latest.number and "前序" in report.reason
    nested.rollback()
    first_id, first_number = first.id, first.number
    session.execute(text("DELETE FROM audit_checkpoint WHERE id = :id"), {"id": first_id})
    session.expire_all()
    for full in (True, False):
        report = verify(session, full=full)
        assert not report.ok and report.broken_checkpoint == first_number and "删除" in report.reason


def test_tampered_entry_after_the_checkpoint_is_caught(session):
    admin, _ = _three_entries(session)
    _checkpoint(session, admin)
    added = _more(session, admin, 3)
    _drop_guard(session)
    for target in added:
        nested = session.begin_nested()
        session.execute(text("UPDATE audit_entry SET after_json = '{}' WHERE id = :id"), {"id": target.id})
        session.expire_all()
        for full in (False, True):
            report = verify(session, full=full)
            assert not report.ok and report.first_broken_seq == target.seq and report.first_broken_id == target.id
        nested.rollback()
    last_id, last_seq = added[-1].id, added[-1].seq
    session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": last_id})
    session.expire_all()
    report = verify(session, full=False)
    assert not report.ok and report.first_broken_seq == last_seq and "删除" in report.reason


@pytest.mark.parametrize("how", ["content", "rehash", "delete"])
def test_edit_of_the_checkpoint_entry_itself_is_caught_by_incremental(session, how):
    admin, entries = _three_entries(session)
    cp = _checkpoint(session, admin)
    _more(session, admin, 2)
    _drop_guard(session)
    target = entries[-1]
    if how == "delete":
        session.execute(text("DELETE FROM audit_entry WHERE id = :id"), {"id": target.id})
    else:
        session.execute(text("UPDATE audit_entry SET action = 'x.y' WHERE id = :id"), {"id": target.id})
        if how == "rehash":
            session.expire_all()
            new = audit._digest(session.get(AuditEntry, target.id))
            session.execute(text("UPDATE audit_entry SET hash = :h WHERE id = :id"), {"h": new, "id": target.id})
    session.expire_all()
    report = verify(session, full=False)
    assert not report.ok and report.first_broken_seq == cp.upto_seq


def test_checkpoints_chain_and_are_appended_only_when_useful(session):
    admin, _ = _three_entries(session)
    first = _checkpoint(session, admin)
    assert first.prev_hash == audit.GENESIS or first.number > 1
    assert append_checkpoint(session, admin, verify(session, full=False)) is None  # nothing new
    again = append_checkpoint(session, None, verify(session, full=True))  # a full run always counts
    assert again.number == first.number + 1 and again.prev_hash == first.hash and again.actor_name == "系统"
    _more(session, admin, 1)
    bad_report = dataclasses.replace(verify(session, full=False), ok=False)
    assert append_checkpoint(session, admin, bad_report) is None


def test_checkpoint_table_refuses_update_and_delete(session):
    admin, _ = _three_entries(session)
    cp = _checkpoint(session, admin)
    for statement in ("UPDATE audit_checkpoint SET upto_seq = 1 WHERE id = :id",
                      "DELETE FROM audit_checkpoint WHERE id = :id"):
        nested = session.begin_nested()
        with pytest.raises(DatabaseError):
            session.execute(text(statement), {"id": cp.id})
        nested.rollback()


def test_verification_ignores_entries_appended_after_it_started(session):
    """The tip is read first; an entry appended while the chunks stream waits for the next run."""
    admin, entries = _three_entries(session)
    run = audit.verification_steps(session, full=True, chunk=1)
    next(run)
    late = audit.record(session, admin, "demo.step", "thing", "late")
    with pytest.raises(StopIteration) as done:
        while True:
            next(run)
    report = done.value.value
    assert report.ok and report.upto_seq == entries[-1].seq and report.upto_seq < late.seq


# ------------------------------------------------------------------------------ CLI and page


def test_cli_verify_is_incremental_and_full_on_request(session, runner):
    admin, entries = _three_entries(session)
    session.commit()
    first = runner.invoke(args=["audit", "verify"])
    assert first.exit_code == 0 and "操作日志完整" in first.output and "尚无检查点" in first.output
    assert "已记为第" in first.output
    _more(session, admin, 2)
    session.commit()
    second = runner.invoke(args=["audit", "verify"])
    assert second.exit_code == 0 and "本次校验 2 条记录" in second.output
    _drop_guard(session)
    session.execute(text("UPDATE audit_entry SET action = 'x' WHERE id = :id"), {"id": entries[0].id})
    session.commit()
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0  # before the checkpoint: not seen
    bad = runner.invoke(args=["audit", "verify", "--full"])
    assert bad.exit_code == 1
    assert f"第 {entries[0].seq} 条" in bad.output


def _verify(client, **form):
    """Queue a verification from the page and read its job's page (the job runs inline in tests)."""
    resp = client.post("/audit/verify", data=form)
    assert resp.status_code == 302 and "/jobs/" in resp.headers["Location"]
    return client.get(resp.headers["Location"]).get_data(as_text=True)


def test_centre_page_runs_both_verifications_as_jobs(session, client, login):
    admin, entries = _three_entries(session)
    login(admin)
    page = client.get("/audit/?action=demo.")
    assert page.status_code == 200 and "demo.step" in page.get_data(as_text=True)
    state = client.get("/audit/verify").get_data(as_text=True)
    assert "增量校验" in state and "完整校验" in state and 'id="checkpoints"' not in state
    full = _verify(client, mode="full")
    assert 'id="chain-ok"' in full and "号检查点" in full and "已完成" in full
    _more(session, admin, 2)
    incremental = _verify(client, mode="incremental")
    assert 'id="chain-ok"' in incremental and "校验了其后的 2 条新记录" in incremental
    state = client.get("/audit/verify").get_data(as_text=True)
    assert 'id="checkpoints"' in state and "增量校验" in state
    _drop_guard(session)
    session.execute(text("UPDATE audit_entry SET target_id = '7' WHERE id = :id"), {"id": entries[1].id})
    session.expire_all()
    assert 'id="chain-ok"' in _verify(client)  # incremental
    broken = _verify(client, mode="full")
    assert 'id="chain-broken"' in broken and f"第 {entries[1].seq} 条记录" in broken


def test_the_verification_job_reports_each_chunk_before_its_result(session, monkeypatch):
    from foundation.jobs import enqueue
    from web.audit import verify_job

    monkeypatch.setattr(audit, "CHUNK", 2)
    admin, _ = _three_entries(session)
    _more(session, admin, 4)
    job = enqueue(session, admin, verify_job.VERIFY, {"full": True})
    reports: list[tuple[int, str]] = []
    outcome = verify_job.run_verify(session, job, dict(job.params), lambda pct, stage: reports.append((pct, stage)))
    entries = [r for r in reports if r[1].startswith("已校验记录")]
    assert len(entries) >= 4 and [p for p, _ in reports] == sorted(p for p, _ in reports)
    assert reports[-1][0] < 100 and outcome.result["audit"]["ok"] is True
    assert outcome.result["audit"]["checkpoint"]["number"] == 1


def test_only_the_centre_reads_a_verification_job(session, client, login):
    from foundation.jobs import enqueue
    from web.audit import verify_job

    admin, _ = _three_entries(session)
    other_admin = make_user(session, Role.CENTRE_ADMIN)
    job = enqueue(session, admin, verify_job.VERIFY, {"full": False})
    session.flush()
    login(other_admin)
    assert client.get(f"/jobs/{job.id}").status_code == 200
    login(make_user(session, Role.ITEM_REVIEWER))
    assert client.get(f"/jobs/{job.id}").status_code == 404
    assert client.post("/audit/verify", data={"mode": "full"}).status_code == 403
