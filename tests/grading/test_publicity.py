"""Publicity (公示), objections (异议), the submission to the centre and its review, and what
issuance asks of them (issue 14 points 2–4): periods counted in working days across weekends,
National Day 2026 and a make-up working day; an objection holds one person only; an upheld one
re-publicises that entry or withdraws it; due dates and overdue; a return reopens only the named
entries; no certificate before the centre's approval."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import event, func, select, update

from foundation.audit import AuditEntry
from foundation.calendar import load_calendar
from foundation.errors import NotFound, PermissionDenied, ValidationError
from grading.certificates import issuance
from grading.certificates.eligibility import chain_of
from grading.publicity import services as pub
from grading.publicity.models import Objection, Publicity, PublicityEntry, SubmissionEntry
from grading.publicity.workbook import SHEETS, submission_xlsx
from grading.results.models import LevelDecision
from tests.grading.certificate_worlds import CertWorld

D = dt.date
START = D(2026, 11, 2)  # a Monday: the period is 11-02..11-06


@pytest.fixture
def world(session):
    """Three registrations with confirmed 合格 decisions, not publicised yet."""
    w = CertWorld(session, n=0)
    w.batch = w.make_batch(n=3, qualified=False)
    for reg in w.registrations():
        w.confirm(reg, "qualified")
    return w


def opened(session, world, start=START, today=None):
    return pub.open_publicity(session, world.admin, world.batch.id, start, today=today or start)


# ------------------------------------------------------------------------------ the period


@pytest.mark.parametrize("start, first, last", [
    (D(2026, 11, 2), D(2026, 11, 2), D(2026, 11, 6)),  # Monday to Friday
    (D(2026, 11, 6), D(2026, 11, 6), D(2026, 11, 12)),  # across a weekend
    (D(2026, 11, 7), D(2026, 11, 9), D(2026, 11, 13)),  # chosen on a Saturday: starts on Monday
    (D(2026, 9, 28), D(2026, 9, 28), D(2026, 10, 9)),  # across National Day (10-01..10-07 off)
    (D(2026, 10, 1), D(2026, 10, 8), D(2026, 10, 13)),  # during it: 10-08, 10-09, 10-10 (make-up Saturday)…
    (D(2026, 9, 19), D(2026, 9, 20), D(2026, 9, 24)),  # a Saturday: the make-up Sunday 09-20 is day 1
])
def test_the_period_is_five_working_days_from_the_first_working_day(session, world, start, first, last):
    p = opened(session, world, start, today=start - dt.timedelta(days=1))
    assert (p.starts_on, p.ends_on) == (first, last)
    assert all((e.starts_on, e.ends_on) == (first, last) for e in p.entries)
    assert p.submit_due_on == load_calendar(session).add_working_days(last, 10)


def test_national_day_due_date_skips_the_holidays(session, world):
    p = opened(session, world, D(2026, 9, 21))  # 09-21..09-24, 09-28 (09-25 中秋 off)
    assert p.ends_on == D(2026, 9, 28)
    # 10 working days after 09-28: 09-29, 09-30, 10-08, 10-09, 10-10 (make-up), 10-12 … 10-16
    assert p.submit_due_on == D(2026, 10, 16)


def test_opening_lists_the_qualified_masked(session, world):
    regs = world.registrations()
    session.execute(update(LevelDecision).where(LevelDecision.registration_id == regs[2].id)
                    .values(outcome="failed"))
    session.expire_all()
    p = opened(session, world)
    assert [e.registration_id for e in p.entries] == [regs[0].id, regs[1].id]
    person = regs[0].candidate.person
    e = p.entries[0]
    assert e.name_masked.startswith(person.name[0]) and "*" in e.name_masked and e.name_masked != person.name
    assert e.id_masked == person.id_number[:6] + "********" + person.id_number[-4:]
    assert (e.occupation_name, e.level, e.institution_name) == (world.occupation.name, 3, world.inst.name)
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "publicity.publish"))


def test_opening_is_refused_in_chinese_and_writes_nothing(session, world):
    other = CertWorld(session, n=1)
    with pytest.raises(NotFound):
        pub.open_publicity(session, other.admin, world.batch.id, D(2026, 11, 2), today=D(2026, 11, 2))
    with pytest.raises(PermissionDenied):
        pub.open_publicity(session, world.centre, world.batch.id, D(2026, 11, 2), today=D(2026, 11, 2))
    with pytest.raises(ValidationError, match="不能早于今天"):
        pub.open_publicity(session, world.admin, world.batch.id, D(2026, 11, 1), today=D(2026, 11, 2))
    empty = world.make_batch(n=1, qualified=False)
    with pytest.raises(ValidationError, match="没有已确认的“合格”"):
        pub.open_publicity(session, world.admin, empty.id, D(2026, 11, 2), today=D(2026, 11, 2))
    assert session.scalar(select(func.count()).select_from(Publicity).where(
        Publicity.batch_id.in_([world.batch.id, empty.id]))) == 0
    opened(session, world)
    with pytest.raises(ValidationError, match="已经公示"):
        opened(session, world)


# ------------------------------------------------------------------------------ objections


def test_an_objection_holds_that_person_only_and_dismissal_releases_them(session, world):
    p = opened(session, world)
    held, free, _ = p.entries
    o = pub.submit_objection(session, held.id, "王五", "13800000000", "该考生实际未参加操作技能考核。",
                             today=D(2026, 11, 4))
    assert o.receipt.startswith("YY") and len(o.receipt) == 14 and o.status == "pending"
    assert pub.find_objection(session, o.receipt.lower()) is o
    assert pub.find_objection(session, "YY0000") is None
    chain = chain_of(session, [held.registration_id, free.registration_id], D(2026, 11, 20))
    assert "公示未结束或存在未处理的异议。" in chain[held.registration_id]
    assert "公示未结束或存在未处理的异议。" not in chain[free.registration_id]
    with pytest.raises(ValidationError, match="尚有 1 件异议未答复"):
        pub.submit(session, world.admin, p.id, today=D(2026, 11, 9))
    pub.answer_objection(session, world.admin, o.id, "dismissed", "经核查，该考生按时参加考核，有签到表和录像为证。",
                         today=D(2026, 11, 9))
    assert o.status == "dismissed" and pub.find_objection(session, o.receipt).answer.startswith("经核查")
    chain = chain_of(session, [held.registration_id], D(2026, 11, 20))
    assert chain[held.registration_id] == ["成绩及证书数据尚未经省中心审核通过。"]


def test_an_upheld_objection_republicises_that_entry_for_five_more_working_days(session, world):
    p = opened(session, world)
    entry, other, _ = p.entries
    o = pub.submit_objection(session, entry.id, "李四", "lisi@example.com", "公示的证件号码与本人不符，请核实。",
                             today=D(2026, 11, 5))
    with pytest.raises(ValidationError, match="处理方式"):
        pub.answer_objection(session, world.admin, o.id, "upheld", "属实。", today=D(2026, 11, 6))
    pub.answer_objection(session, world.admin, o.id, "upheld", "异议属实，已更正证件号码。", "corrected",
                         today=D(2026, 11, 6))
    assert (entry.starts_on, entry.ends_on, entry.republished) == (D(2026, 11, 9), D(2026, 11, 13), 1)
    assert (other.starts_on, other.ends_on) == (D(2026, 11, 2), D(2026, 11, 6))  # the rest keep theirs
    assert p.ends_on == D(2026, 11, 13) and p.submit_due_on == load_calendar(session).add_working_days(
        D(2026, 11, 13), 10)
    chain = chain_of(session, [entry.registration_id, other.registration_id], D(2026, 11, 10))
    assert "公示未结束或存在未处理的异议。" in chain[entry.registration_id]
    assert "公示未结束或存在未处理的异议。" not in chain[other.registration_id]
    with pytest.raises(ValidationError, match="公示期至 2026-11-13 结束"):
        pub.submit(session, world.admin, p.id, today=D(2026, 11, 10))
    # objections still possible on the re-publicised entry, not on the others once theirs ended
    pub.submit_objection(session, entry.id, "李四", "lisi@example.com", "再次提出：请公开更正依据。",
                         today=D(2026, 11, 12))
    with pytest.raises(ValidationError, match="不在公示期内"):
        pub.submit_objection(session, other.id, "李四", "lisi@example.com", "对另一人提出的异议内容。",
                             today=D(2026, 11, 12))


def test_an_upheld_withdrawal_takes_the_entry_off_the_list_and_out_of_the_submission(session, world):
    p = opened(session, world)
    entry = p.entries[0]
    o = pub.submit_objection(session, entry.id, "赵六", "0431-88888888", "该人员学历证明系伪造，请撤销。",
                             today=D(2026, 11, 3))
    pub.answer_objection(session, world.admin, o.id, "upheld", "经核实学历证明不实，撤销其公示。", "withdrawn",
                         today=D(2026, 11, 4))
    assert entry.withdrawn
    assert entry.id not in [e.id for e in session.scalars(pub.public_entries_query(p.id))]
    sub = pub.submit(session, world.admin, p.id, today=D(2026, 11, 9))
    assert entry.registration_id not in [e.registration_id for e in sub.entries] and len(sub.entries) == 2
    pub.review(session, world.centre, sub.id, approve=True, today=D(2026, 11, 10))
    assert chain_of(session, [entry.registration_id], D(2026, 12, 1))[entry.registration_id] == [
        "因异议成立已撤销公示。", "成绩及证书数据尚未经省中心审核通过。"]


@pytest.mark.parametrize("name, contact, text, message", [
    ("", "13800000000", "这是一条足够长的异议内容。", "请填写异议人姓名"),
    ("王五", "", "这是一条足够长的异议内容。", "联系方式至少 5 个字"),
    ("王\n五", "13800000000", "这是一条足够长的异议内容。", "异议人姓名不能包含"),
    ("王五", "13800000000", "太短", "异议内容至少 10 个字"),
    ("王五", "13800000000", "长" * 1001, "异议内容不能超过 1000 个字"),
])
def test_bad_objections_are_refused_in_chinese_and_nothing_is_written(session, world, name, contact, text, message):
    p = opened(session, world)
    with pytest.raises(ValidationError, match=message):
        pub.submit_objection(session, p.entries[0].id, name, contact, text, today=D(2026, 11, 3))
    assert session.scalar(select(func.count()).select_from(Objection)) == 0


def test_objection_text_is_kept_as_plain_text_without_control_characters(session, world):
    p = opened(session, world)
    o = pub.submit_objection(session, p.entries[0].id, "王五", "13800000000",
                             "<script>alert(1)</script>\x00\u200b第二行\r\n第三行", today=D(2026, 11, 3))
    assert o.text == "<script>alert(1)</script>第二行\n第三行"  # escaped when shown, never markup


def test_objections_only_while_the_period_is_open(session, world):
    p = opened(session, world, D(2026, 11, 9), today=D(2026, 11, 2))
    for day in (D(2026, 11, 6), D(2026, 11, 14)):
        with pytest.raises((ValidationError, NotFound)):
            pub.submit_objection(session, p.entries[0].id, "王五", "13800000000", "这是一条足够长的异议内容。",
                                 today=day)


# ------------------------------------------------------------------------------ submission and review


def test_submission_waits_for_the_end_and_records_the_due_date_and_overdue(session, world):
    p = opened(session, world)
    with pytest.raises(ValidationError, match="公示期至 2026-11-06 结束"):
        pub.submit(session, world.admin, p.id, today=D(2026, 11, 6))
    row, = [r for r in pub.queue(session, world.centre, today=D(2026, 11, 30)) if r.publicity.id == p.id]
    assert row.submission is None and row.overdue  # due 11-20: the centre sees it overdue
    row, = pub.queue(session, world.admin, today=D(2026, 11, 20))
    assert not row.overdue
    sub = pub.submit(session, world.admin, p.id, today=D(2026, 11, 23))
    assert sub.due_on == D(2026, 11, 20) and pub.overdue(p, sub, D(2026, 11, 23))
    with pytest.raises(ValidationError, match="已报送"):
        pub.submit(session, world.admin, p.id, today=D(2026, 11, 23))


def test_a_return_reopens_only_the_named_entries_and_approval_lets_issuance_proceed(session, world):
    p = opened(session, world)
    sub = pub.submit(session, world.admin, p.id, today=D(2026, 11, 9))
    first, second, third = sub.entries
    regs = [e.registration_id for e in sub.entries]
    with pytest.raises(ValidationError, match="尚未经省中心审核通过"):
        issuance.issue_certificates(session, world.admin, world.batch.id, regs, today=D(2026, 12, 1))
    with pytest.raises(ValidationError, match="至少为一名人员填写退回理由"):
        pub.review(session, world.centre, sub.id, approve=False, reasons={first.id: "  "})
    with pytest.raises(PermissionDenied):
        pub.review(session, world.admin, sub.id, approve=True)
    pub.review(session, world.centre, sub.id, approve=False, reasons={second.id: "照片不符合要求，请更换后重报。"},
               today=D(2026, 11, 10))
    assert [e.status for e in sub.entries] == ["pending", "returned", "pending"] and sub.status == "returned"
    with pytest.raises(ValidationError, match="只有待审核"):
        pub.review(session, world.centre, sub.id, approve=True)
    with pytest.raises(ValidationError, match="请说明修改情况"):
        pub.submit(session, world.admin, p.id, today=D(2026, 11, 11))
    pub.submit(session, world.admin, p.id, "已更换照片。", today=D(2026, 11, 11))
    assert [e.status for e in sub.entries] == ["pending"] * 3 and sub.round == 2
    pub.review(session, world.centre, sub.id, approve=True, today=D(2026, 11, 12))
    assert [e.status for e in sub.entries] == ["approved"] * 3 and sub.status == "approved"
    certs = issuance.issue_certificates(session, world.admin, world.batch.id, regs, today=D(2026, 12, 1))
    assert len(certs) == 3


def test_issuance_is_refused_before_the_publicity_ends_with_the_chain_message(session, world):
    p = opened(session, world)
    with pytest.raises(ValidationError) as info:
        issuance.issue_certificates(session, world.admin, world.batch.id, [p.entries[0].registration_id],
                                    today=D(2026, 11, 4))
    assert "公示未结束或存在未处理的异议" in info.value.message
    assert "成绩及证书数据尚未经省中心审核通过" in info.value.message
    unpublicised = world.make_batch(n=1, qualified=False)
    reg, = world.registrations(unpublicised)
    world.confirm(reg, "qualified")
    assert chain_of(session, [reg.id], D(2026, 12, 1))[reg.id] == ["尚未公示。", "成绩及证书数据尚未经省中心审核通过。"]


def test_the_chain_is_a_fixed_number_of_queries_for_a_batch(session, world):
    world.clear()
    ids = [r.id for r in world.registrations()]
    statements: list[str] = []
    conn = session.connection()

    def count(*args):
        statements.append(args[2])

    event.listen(conn, "before_cursor_execute", count)
    try:
        chain_of(session, ids, D(2026, 12, 1))
    finally:
        event.remove(conn, "before_cursor_execute", count)
    assert len(statements) == 3


def test_the_whole_path_lets_issuance_proceed(session, world):
    sub = world.clear()
    assert sub.status == "approved"
    assert all(v == [] for v in chain_of(session, [r.id for r in world.registrations()], D(2026, 12, 1)).values())
    assert session.scalar(select(func.count()).select_from(SubmissionEntry).where(
        SubmissionEntry.submission_id == sub.id, SubmissionEntry.status == "approved")) == 3
    assert session.scalar(select(func.count()).select_from(PublicityEntry).where(
        PublicityEntry.publicity_id == sub.publicity_id)) == 3


def test_the_submission_workbook_has_one_sheet_per_kind_in_the_documented_layout(session, world):
    sub = world.clear()
    wb = openpyxl.load_workbook(io.BytesIO(submission_xlsx(session, sub)), read_only=True)
    assert wb.sheetnames == ["人员", "成绩", "认定结论", "证书信息", "说明"]
    for title, columns in SHEETS.items():
        rows = list(wb[title].iter_rows(values_only=True))
        assert rows[0] == columns
    people = list(wb["人员"].iter_rows(values_only=True))[1:]
    regs = world.registrations()
    assert [r[1] for r in people] == [r.ticket_no for r in regs]
    assert people[0][4] == regs[0].candidate.person.id_number  # the centre's copy: in full
    decisions = list(wb["认定结论"].iter_rows(values_only=True))[1:]
    assert {d[2] for d in decisions} == {"合格"} and len(decisions) == 3
    certs = list(wb["证书信息"].iter_rows(values_only=True))[1:]
    assert certs[0][6] == "--" and certs[0][10] == "审核通过"
