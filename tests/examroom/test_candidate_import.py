"""考生名册 Excel import: checksum, gender, duplicates in the file and with the batch, reuse of
existing accounts, fresh ticket numbers, and that any row error writes nothing."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from sqlalchemy import func, select

from examroom import candidate_import as imp
from examroom.models import BatchCandidate
from examroom.registration import authenticate_candidate, ticket_prefix
from foundation.accounts import User
from foundation.audit import AuditEntry
from foundation.errors import PermissionDenied, RowErrors, ValidationError
from foundation.roles import Role
from grading.results.decision import Method
from tests.examroom.worlds import World, gender, ident, xlsx
from tests.factories import make_user


@pytest.fixture
def world(session):
    return World(session)


def row(name: str, serial: int, unit: str = "长春机械厂"):
    n = ident(serial, birth="19880512")
    return [name, n, gender(n), "13800000001", unit]


def counts(session) -> tuple[int, int, int]:
    return (session.scalar(select(func.count()).select_from(User)),
            session.scalar(select(func.count()).select_from(BatchCandidate)),
            session.scalar(select(func.count()).select_from(AuditEntry)))


def test_good_file_creates_accounts_with_tickets_and_lists_them(session, world):
    batch = world.batch()
    data = xlsx([row("王小明", 501), row("李红", 502, "吉林石化"), row("赵刚", 503)])
    result = imp.import_candidates(session, world.admin, batch.id, data)
    assert (result.rows, result.created, result.reused) == (3, 3, 0)
    assert result.message.startswith("导入完成：共 3 名考生")
    listed = {c.candidate.name: c for c in batch.candidates}
    assert set(listed) == {"王小明", "李红", "赵刚"}
    assert listed["李红"].work_unit == "吉林石化"
    tickets = sorted(c.ticket_no for c in batch.candidates)
    prefix = ticket_prefix(batch, int(tickets[0][:4]))
    assert re.fullmatch(r"20\d\d\d\d", prefix)  # the demo's format: year, 2 digits, 4-digit sequence
    assert tickets == [f"{prefix}0001", f"{prefix}0002", f"{prefix}0003"]
    assert result.tickets == tuple(c.ticket_no for c in batch.candidates)
    user = listed["王小明"].candidate
    assert user.role == Role.CANDIDATE and user.institution_id == world.inst.id and user.phone == "13800000001"
    # They log in with ticket number plus ID number.
    found = authenticate_candidate(session, listed["王小明"].ticket_no, user.id_number)
    assert found is not None and found.user is user and found.batch_id == batch.id
    assert session.scalars(select(AuditEntry).where(AuditEntry.action == "batch.import_candidates")).one()

    # A second import continues the numbering.
    other = world.batch()
    imp.import_candidates(session, world.admin, other.id, xlsx([row("孙丽", 504)]))
    assert other.candidates[0].ticket_no == f"{prefix}0004"


def test_bad_checksum_row_is_reported_and_nothing_written(session, world):
    batch = world.batch()
    good = ident(601)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    before = counts(session)
    with pytest.raises(RowErrors) as info:
        imp.import_candidates(session, world.admin, batch.id, xlsx([
            ["甲", good, gender(good), "13900000000", ""],
            ["乙", bad, "", "13900000001", ""],
        ]))
    assert info.value.errors == [(3, "身份证号", "身份证号码校验位不正确，请核对。")]
    assert counts(session) == before and batch.candidates == []


def test_duplicate_within_the_file(session, world):
    batch = world.batch()
    n = ident(602)
    with pytest.raises(RowErrors) as info:
        imp.import_candidates(session, world.admin, batch.id, xlsx([
            ["甲", n, "", "13900000000", ""],
            ["丙", ident(603), "", "13900000002", ""],
            ["甲", n, "", "13900000000", ""],
        ]))
    assert info.value.errors == [(4, "身份证号", "与第 2 行的身份证号重复。")]
    assert batch.candidates == []


def test_duplicate_with_the_batch_list(session, world):
    batch = world.batch()
    imp.import_candidates(session, world.admin, batch.id, xlsx([row("王小明", 701)]))
    ticket = batch.candidates[0].ticket_no
    before = counts(session)
    with pytest.raises(RowErrors) as info:
        imp.import_candidates(session, world.admin, batch.id, xlsx([row("周五", 702), row("王小明", 701)]))
    assert info.value.errors == [(3, "身份证号", f"该考生已在本批次名册中（准考证号 {ticket}）。")]
    assert counts(session) == before and len(batch.candidates) == 1


def test_all_or_nothing_collects_every_row_error(session, world):
    batch = world.batch()
    male = ident(801)
    wrong_gender = "女" if gender(male) == "男" else "男"
    before = counts(session)
    with pytest.raises(RowErrors) as info:
        imp.import_candidates(session, world.admin, batch.id, xlsx([
            row("好人", 802),
            ["", ident(803), "", "13900000000", ""],
            ["错性别", male, wrong_gender, "13900000000", ""],
            ["错手机", ident(804), "", "12345", ""],
            ["数字身份证", 220102199001010011, "", "13900000000", ""],
            ["未知", ident(805), "男女", "13900000000", ""],
        ]))
    errors = info.value.errors
    assert [(r, c) for r, c, _ in errors] == [(3, "姓名"), (4, "性别"), (5, "手机号"), (6, "身份证号"), (7, "性别")]
    assert "与身份证号不符" in errors[1][2] and "文本格式" in errors[3][2]
    assert counts(session) == before and batch.candidates == []


def test_existing_account_is_reused(session, world):
    n = ident(901)
    existing = make_user(session, Role.CANDIDATE, institution=world.inst, name="钱多", id_number=n)
    earlier = world.batch()
    imp.import_candidates(session, world.admin, earlier.id, xlsx([["钱多", n, gender(n), "13700000000", ""]]))
    old_ticket = earlier.candidates[0].ticket_no
    stranger = make_user(session, Role.CANDIDATE, name="钱多", id_number=ident(902))  # another institution
    batch = world.batch()
    result = imp.import_candidates(session, world.admin, batch.id, xlsx([
        ["钱多", n, gender(n), "13700000000", "某单位"], ["钱多", stranger.id_number, "", "13700000001", ""],
    ]))
    assert (result.created, result.reused) == (1, 1)
    ids = {c.candidate_id for c in batch.candidates}
    assert existing.id in ids and stranger.id not in ids
    # A new number for the new batch; the earlier batch's number stays that batch's.
    entry = next(c for c in batch.candidates if c.candidate_id == existing.id)
    assert entry.ticket_no != old_ticket and earlier.candidates[0].ticket_no == old_ticket
    assert authenticate_candidate(session, old_ticket, n).batch_id == earlier.id
    assert authenticate_candidate(session, entry.ticket_no, n).batch_id == batch.id


def test_existing_account_with_another_name_or_inactive_is_an_error(session, world):
    n, m = ident(911), ident(912)
    make_user(session, Role.CANDIDATE, institution=world.inst, name="钱多", id_number=n)
    make_user(session, Role.CANDIDATE, institution=world.inst, name="孙停", id_number=m, active=False)
    batch = world.batch()
    with pytest.raises(RowErrors) as info:
        imp.import_candidates(session, world.admin, batch.id, xlsx([
            ["钱少", n, "", "13700000000", ""], ["孙停", m, "", "13700000000", ""]]))
    assert [(r, c) for r, c, _ in info.value.errors] == [(2, "姓名"), (3, "身份证号")]
    assert "已停用" in info.value.errors[1][2]


def test_file_problems_and_permissions(session, world):
    batch = world.batch()
    with pytest.raises(ValidationError, match="缺少必需的列：手机号"):
        imp.import_candidates(session, world.admin, batch.id, xlsx([["甲", ident(1)]], header=["姓名", "身份证号",
                                                                                             "性别", "工作单位"]))
    with pytest.raises(ValidationError, match="只支持"):
        imp.import_candidates(session, world.admin, batch.id, b"name,id\n")
    with pytest.raises(ValidationError, match="只有表头"):
        imp.import_candidates(session, world.admin, batch.id, xlsx([]))
    stranger = make_user(session, Role.INSTITUTION_ADMIN)
    with pytest.raises(PermissionDenied):
        imp.import_candidates(session, stranger, batch.id, xlsx([row("甲", 1)]))


def test_template_round_trips(session, world):
    batch = world.batch()
    data = imp.import_template_bytes()
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert [c.value for c in wb[imp.SHEET_NAME][1]] == list(imp.IMPORT_COLUMNS)
    result = imp.import_candidates(session, world.admin, batch.id, data)  # the example row is valid
    assert result.created == 1 and batch.candidates[0].candidate.name == "张三"


def test_single_candidate_form_uses_the_same_checks(session, world):
    batch = world.batch()
    n = ident(950)
    result = imp.add_candidate(session, world.admin, batch.id, name="单个", id_number=n.lower(), phone="13600000000",
                               category="own_staff")
    assert result.created == 1 and batch.candidates[0].category == "own_staff"
    with pytest.raises(ValidationError, match="已在本批次名册中"):
        imp.add_candidate(session, world.admin, batch.id, name="单个", id_number=n, phone="13600000000")


def test_the_optional_method_column_sets_the_registration_method(session, world):
    batch = world.batch()
    header = [*imp.REQUIRED_COLUMNS, imp.COL_CATEGORY, imp.COL_METHOD]
    data = xlsx([[*row("方一", 611), "", "考评结合"], [*row("方二", 612), "", "performance"],
                 [*row("方三", 613), "", ""]], header=header)
    imp.import_candidates(session, world.admin, batch.id, data)
    methods = {c.candidate.name: c.method for c in batch.candidates}
    assert methods == {"方一": "combined", "方二": "performance", "方三": "assessment"}
    other = world.batch()
    before = counts(session)
    bad = xlsx([[*row("方四", 614), "", "竞赛选拔"]], header=header)
    with pytest.raises(RowErrors) as err:
        imp.import_candidates(session, world.admin, other.id, bad)
    assert err.value.errors == [
        (2, "评价方式", "无法识别的评价方式「竞赛选拔」，可填：认定考核、考评结合、工作业绩评审；留空为认定考核。")]
    assert counts(session) == before


def test_the_method_labels_are_the_engines():
    assert imp.METHOD_LABELS == {m.value: m.label for m in Method if m is not Method.COMPETITION}
