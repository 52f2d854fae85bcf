"""Names cannot carry control characters (security issue #12, point 8).

One rule (:mod:`foundation.names`): whitespace at the ends is trimmed, a control or invisible
format character (Unicode Cc, Cf, Zl, Zp) anywhere else is refused with a Chinese message. Tested
for the class of characters over every guarded column (the ORM listener every path crosses), the
services, a form, the JSON API and the Excel imports; and downloads whose file names come from
names stored before the rule (a line break straight in the database) still work.
"""

from __future__ import annotations

import io
import re
import sys
import unicodedata
from urllib.parse import unquote

import openpyxl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from examroom import batches as batch_svc
from examroom import candidate_import
from examroom.models import Batch, Room
from foundation import occupation_excel
from foundation.errors import RowErrors, ValidationError
from foundation.names import REFUSED_CATEGORIES, clean_name, name_columns, name_problem
from foundation.occupations import create_occupation
from grading.psychometrics import models as grading_models  # noqa: F401  (ResponseSet.name is guarded too)
from grading.results import models as results_models  # noqa: F401  (dossiers, panels, competitions too)
from itembank import blueprints as blueprint_svc
from itembank import enemies
from tests.examroom.worlds import MIN, T0, Exam, World
from tests.factories import PASSWORD
from web.downloads import safe_filename

# Every character of the refused categories (Cs aside: a str from a form or JSON has none).
CONTROL = st.characters(categories=("Cc", "Cf", "Zl", "Zp"))
ALL_CONTROLS = [chr(c) for c in range(sys.maxunicode + 1)
                if unicodedata.category(chr(c)) in REFUSED_CATEGORIES - {"Cs"}]
SERVICE_EXAMPLES = settings(max_examples=15, deadline=None,
                            suppress_health_check=[HealthCheck.function_scoped_fixture])

GUARDED = {
    ("Batch", "name"), ("Batch", "place"), ("BatchCandidate", "work_unit"), ("Blueprint", "name"),
    ("BlueprintNode", "name"), ("CalendarDay", "name"), ("Competition", "filing_no"), ("Competition", "name"),
    ("Competition", "organiser"), ("EnemySet", "name"), ("ExamSession", "place"),
    ("Institution", "address"), ("Institution", "contact_name"), ("Institution", "legal_representative"),
    ("Institution", "name"), ("Institution", "supervising_body"), ("Occupation", "name"), ("Paper", "name"),
    ("PanelMinutes", "place"), ("PerformanceDossier", "attester_name"), ("PerformanceDossier", "attester_position"),
    ("Person", "name"), ("ResponseSet", "name"), ("Room", "name"), ("SkillCriterion", "name"), ("SkillTask", "name"),
    ("User", "name"), ("WorkType", "name"),
}


def with_control(ch: str) -> str:
    return f"第一{ch}批"


def test_the_rule_refuses_every_control_and_format_character() -> None:
    assert len(ALL_CONTROLS) > 200  # C0, DEL, C1, the Cf block, U+2028/2029
    for ch in ALL_CONTROLS:
        assert name_problem(with_control(ch), "批次名称") is not None, hex(ord(ch))
    for ok in ("2026年第一批", "电工（四级）", "A·B", "Ａ　Ｂ", "第 1 考场", "=HYPERLINK()"):
        assert name_problem(ok) is None
    assert clean_name(" \t第一批\r\n") == "第一批"  # ends are trimmed, as users expect
    message = name_problem("第一\n批", "批次名称")
    assert message is not None and "批次名称" in message and "换行符 U+000A" in message
    assert "U+202E" in (name_problem("a\u202eb") or "")


def test_every_name_like_column_is_guarded() -> None:
    assert {(cls.__name__, key) for cls, key, _ in name_columns()} == GUARDED


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(GUARDED)), CONTROL)
def test_the_orm_refuses_control_characters_in_every_name_column(column: tuple[str, str], ch: str) -> None:
    cls = {c.__name__: c for c, _, _ in name_columns()}[column[0]]
    obj = cls()
    with pytest.raises(ValidationError) as info:
        setattr(obj, column[1], with_control(ch))
    assert info.value.field == column[1] and "控制字符" in info.value.message
    setattr(obj, column[1], "  第一批\r\n")
    assert getattr(obj, column[1]) == "第一批"


# ---------------------------------------------------------------- services


@pytest.fixture
def world(session):
    return World(session)


@SERVICE_EXAMPLES
@given(ch=CONTROL)
def test_services_refuse_control_characters(session, world, ch: str) -> None:
    batch = world.batch()
    sitting = batch_svc.add_session(session, world.admin, batch.id, module="theory",
                                    starts_at=batch_svc.dt.datetime(2026, 10, 16, 1, tzinfo=batch_svc.dt.UTC),
                                    duration_minutes=90, paper_id=world.paper.id)
    bad = with_control(ch)
    calls = [
        lambda: world.batch(name=bad),
        lambda: world.batch(place=bad),
        lambda: batch_svc.update_plan(session, world.admin, batch.id, overview="", place=bad),
        lambda: batch_svc.add_room(session, world.admin, sitting.id, name=bad, rows=2, cols=2),
        lambda: batch_svc.add_session(session, world.admin, batch.id, module="skill", duration_minutes=60,
                                      starts_at=batch_svc.dt.datetime(2026, 10, 16, 6, tzinfo=batch_svc.dt.UTC),
                                      place=bad),
        lambda: create_occupation(session, world.centre, code="6-99-99-99", name=bad, lowest_level=5,
                                  highest_level=1),
        lambda: blueprint_svc.create_blueprint(session, world.centre, occupation_id=world.occupation.id,
                                               work_type_id=None, level=3, mode="theory", name=bad),
        lambda: enemies.create_enemy_set(session, world.centre, bad, []),
    ]
    for call in calls:
        with session.begin_nested() as savepoint:
            with pytest.raises(ValidationError, match="控制字符"):
                call()
            savepoint.rollback()
    # Compared in Python: PostgreSQL refuses a NUL even as a query parameter.
    assert bad not in session.scalars(select(Batch.name)).all()
    assert bad not in session.scalars(select(Room.name)).all()


# ---------------------------------------------------------------- a form, the API, the Excel imports


def login(client, user):
    client.post("/logout")
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302


@pytest.mark.slow
@SERVICE_EXAMPLES
@given(ch=CONTROL)
@example(ch="\x00")  # PostgreSQL cannot even compare it: refused before any view (web/inputs.py)
def test_the_batch_form_refuses_control_characters(session, client, world, ch: str) -> None:
    login(client, world.admin)
    bad = with_control(ch)
    resp = client.post("/batches/new", data={"target": f"{world.occupation.id}:0:4", "name": bad, "overview": "",
                                              "place": ""})
    assert resp.status_code == 400 and "控制字符" in resp.get_data(as_text=True)
    assert session.scalar(select(Batch).where(Batch.name.like("第一%批"))) is None


@pytest.mark.slow
@SERVICE_EXAMPLES
@given(ch=CONTROL)
@example(ch="\x00")  # PostgreSQL cannot even compare it: refused before any view (web/inputs.py)
def test_the_api_refuses_control_characters(session, client, world, ch: str) -> None:
    login(client, world.centre)
    resp = client.post("/api/v1/blueprints", json={
        "occupation_id": world.occupation.id, "work_type_id": None, "level": 3, "mode": "theory",
        "name": with_control(ch),
    })
    assert resp.status_code == 400 and resp.json is not None
    assert resp.json["field"] == "name" and "控制字符" in resp.json["error"]


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.slow
@SERVICE_EXAMPLES
@given(ch=CONTROL.filter(lambda c: c not in "\t\n\r" and not re.match("[\x00-\x1f]", c)))
def test_the_excel_imports_refuse_control_characters(session, world, ch: str) -> None:
    # openpyxl cannot write the other C0 controls into a file; tab, CR and LF are tested below.
    bad = with_control(ch)
    for text in (bad, "第一\n批", "第一\t批"):
        data = xlsx([["职业编码", "职业名称", "最低等级", "最高等级", "准入类"], ["6-99-99-98", text, 5, 1, "否"]])
        with pytest.raises(RowErrors) as info:
            occupation_excel.import_occupations(session, world.centre, data)
        assert any(column == "职业名称" and "控制字符" in message for _, column, message in info.value.errors)
        batch = world.batch()
        data = xlsx([["姓名", "身份证号", "性别", "手机号", "工作单位"],
                     [text, "220102199001010017", "男", "13800000000", "某公司"]])
        with pytest.raises(RowErrors) as info:
            candidate_import.import_candidates(session, world.admin, batch.id, data)
        assert any(column == "姓名" and "控制字符" in message for _, column, message in info.value.errors)


# ---------------------------------------------------------------- downloads of names stored before the rule


@pytest.mark.slow
@pytest.mark.parametrize("name", ["2026年\r\n第一批", "bad\r\nname", "a\x01b\u202e\u2028\"c\";x=1"])
def test_downloads_work_for_names_stored_before_the_rule(session, client, monkeypatch, name: str) -> None:
    from web.proctor import views

    exam = Exam(session)
    batch_id = exam.sitting.module.batch_id
    # As an old row would be: straight into the database, past the rule.
    session.execute(update(Batch).where(Batch.id == batch_id).values(name=name))
    session.execute(update(Room).where(Room.id == exam.room1.id).values(name=name))
    session.expire_all()
    admin = exam.world.admin
    login(client, admin)
    urls = [(admin, f"/batches/{batch_id}/sessions/{exam.sitting.id}/tickets.pdf"),
            (exam.proctor1, f"/proctor/rooms/{exam.room1.id}/record.pdf")]
    for user, url in urls:
        login(client, user)
        resp = client.get(url)
        assert resp.status_code == 200 and resp.data.startswith(b"%PDF"), url
        header = resp.headers["Content-Disposition"]
        assert "\r" not in header and "\n" not in header
        if "filename*=" in header:
            shown = unquote(header.split("filename*=UTF-8''", 1)[1])
            assert shown == safe_filename(shown)
    # The supervision report.
    from tests.web.socket_clients import supervisor_of

    monkeypatch.setattr(views, "now", lambda: T0 + 100 * MIN)
    login(client, supervisor_of(session, exam))
    url = f"/supervise/sittings/{exam.sitting.id}/report"
    assert client.post(url, data={"findings": "考场秩序良好。", "rating": "good"}).status_code == 302
    resp = client.get(url + ".pdf")
    assert resp.status_code == 200 and resp.data.startswith(b"%PDF")
    assert "\n" not in resp.headers["Content-Disposition"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_safe_filename_holds_no_control_characters(name: str) -> None:
    safe = safe_filename(name + ".pdf")
    assert safe and not any(unicodedata.category(ch) in REFUSED_CATEGORIES for ch in safe)
    assert not set(safe) & set('\\/:*?"<>|')


def test_batch_with_crlf_is_refused_by_the_service(session, world) -> None:
    with pytest.raises(ValidationError, match="批次名称不能包含换行"):
        world.batch(name="2026年\r\n第一批")
    assert world.batch(name="2026年第一批\r\n").name == "2026年第一批"
