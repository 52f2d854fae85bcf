"""The audit trail is append-only and hash-chained; tampering is found and located."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from foundation import audit
from foundation.audit import AuditEntry, verify_chain
from foundation.roles import Role
from tests.factories import make_user


def _three_entries(session):
    admin = make_user(session, Role.CENTRE_ADMIN)
    entries = [
        audit.record(session, admin, "demo.step", "thing", n, before={"v": n}, after={"v": n + 1})
        for n in range(3)
    ]
    return admin, entries


def _drop_guard(session):
    """What someone with raw database access would do before editing the log."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("DROP TRIGGER audit_entry_no_update"))
        session.execute(text("DROP TRIGGER audit_entry_no_delete"))
    else:
        session.execute(text("DROP TRIGGER audit_entry_no_change ON audit_entry"))


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


def test_cli_verify_reports_ok_then_tampering(session, runner):
    _, entries = _three_entries(session)
    session.commit()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and "操作日志完整" in ok.output
    _drop_guard(session)
    session.execute(text("UPDATE audit_entry SET action = 'x' WHERE id = :id"), {"id": entries[0].id})
    session.commit()
    bad = runner.invoke(args=["audit", "verify"])
    assert bad.exit_code == 1
    assert f"第 {entries[0].seq} 条" in bad.output


def test_centre_page_lists_and_verifies(session, client, login):
    admin, entries = _three_entries(session)
    login(admin)
    page = client.get("/audit/?action=demo.")
    assert page.status_code == 200 and "demo.step" in page.get_data(as_text=True)
    assert client.get("/audit/verify").status_code == 200
    _drop_guard(session)
    session.execute(text("UPDATE audit_entry SET target_id = '7' WHERE id = :id"), {"id": entries[1].id})
    session.expire_all()
    resp = client.get("/audit/verify")
    assert resp.status_code == 409
    assert str(entries[1].seq) in resp.get_data(as_text=True)


def test_services_append_with_actor_and_before_after(session):
    from foundation.accounts import create_user, update_user

    admin = make_user(session, Role.CENTRE_ADMIN)
    user = create_user(session, admin, role=Role.SUPERVISOR, name="赵督导", username="zhao_dd", password="Lamp7Cloud")
    update_user(session, admin, user.id, name="赵督导员")
    last = session.query(AuditEntry).order_by(AuditEntry.seq.desc()).first()
    assert last.action == "user.update" and last.actor_id == admin.id and last.actor_role == "centre_admin"
    assert last.before["name"] == "赵督导" and last.after["name"] == "赵督导员"
