"""Exports are streamed (issue 16 point 2): every workbook the platform hands out is a write-only
workbook, whose sheets write each row as it is appended and cannot be asked for ``max_row``
(asking an in-memory sheet per row scans every cell, which made the item export quadratic),
and the item export has no row cap: 20,000 items from the database come out whole, row for row
what the import reads back.

The class is "every exporter": the parametrised test runs each one, and the source scan makes
a new exporter (a function that calls ``workbook_bytes``, or a ``Workbook`` built anywhere but
the writer) fail until it is listed here.
"""

from __future__ import annotations

import ast
import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import openpyxl
import pytest
from openpyxl.workbook import Workbook
from sqlalchemy import insert, select, update
from sqlalchemy.orm import selectinload

from examroom import candidate_import
from foundation import occupation_excel
from foundation.audit import AuditEntry
from foundation.roles import Role
from foundation.xlsx import cell_text, read_sheet
from grading.certificates.register import register_xlsx
from grading.psychometrics import report_excel
from grading.psychometrics.reports import THETA_GRID, DifComparison, DifReport, DifRow
from grading.publicity import workbook as submission_workbook
from grading.results import competitions, sheets
from grading.results.decision import Component
from grading.results.decisions import Current
from itembank import blueprint_excel
from itembank import item_excel as xl
from itembank.models import Item, ItemVersion
from tests.factories import assign, make_blueprint, make_user
from tests.itembank.worlds import ALL_TYPES, xlsx

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("foundation", "itembank", "examroom", "grading", "web")
NS = SimpleNamespace  # the fakes below carry only what the exporters read


# ---------------------------------------------------------------- one input per exporter

AT = dt.datetime(2026, 1, 1, 8, 0)


def _item(code: str, stem: str) -> Any:
    version = NS(spec={"options": [{"html": "甲"}, {"html": "乙"}], "key": ["A"]}, stem_html=stem, difficulty=0.5,
                 explanation_html="", source="来源", number=1)
    return NS(code=code, item_type="single_choice", status="draft", current_version=version,
              point=NS(code="A-A-001", blueprint=NS(name="细目表")))


def _item_report() -> Any:
    groups = [NS(index=i, n=30, theta_mean=0.1 * i, theta_min=0.0, theta_max=1.0, observed=0.5, expected=0.52,
                 model_at_mean=0.51, se=0.02) for i in range(3)]
    return NS(
        item=NS(code="Q9", item_type="single_choice"), run=NS(id=3, model="2pl", created_at=AT),
        parameter=NS(a=1.2, b=-0.3, c=None, se_a=0.1, se_b=float("nan"), n=300, sx2=3.1, sx2_df=4,
                     sx2_p_adjusted=0.5, drift_b=None),
        ctt_n=None, ctt_p=0.5, ctt_pbis=0.3, ctt_d=0.4, flags=["a 低"],
        observed=NS(rmsd=0.03, n_matching_items=20, groups=groups), observed_note="",
        options=[NS(label=k, n=10, share=0.2, rest_correlation=0.1, is_key=k == "A", warning=k == "C")
                 for k in "ABCD"], options_note="",
        history=[NS(run_id=1, at=AT, model="2pl", a=1.0, b=0.0, c=None, se_a=0.1, se_b=0.1, n=100, drift_b=None,
                    is_current=True, flags=["漂移"])],
        curves=NS(theta=[-1.0, 0.0, 1.0], probability=[0.2, 0.5, 0.8], information=[0.1, 0.3, 0.1]),
    )


def _paper_report() -> Any:
    forms = [NS(label=k, n_calibrated=3, information_at=lambda t: 1.5, sem_at=lambda t: 0.8, run=NS(id=2),
                reliability=NS(n_examinees=100, method="alpha", alpha=0.8, mean=50.0, sd=10.0, sem=4.0), note="",
                tif=[0.5] * len(THETA_GRID), sem=[1.0] * len(THETA_GRID), histogram=([1, 2], [4, 5]),
                items=[NS(position=p, code=f"{k}{p}", a=1.0, b=0.0, c=None, p=0.5, pbis=0.3, alpha_if_deleted=0.8,
                          raises_alpha=p == 2) for p in (1, 2, 3)]) for k in "AB"]
    return NS(paper=NS(name="卷", cut_theta=0.5), run=NS(id=7), forms=forms)


def _dif_report() -> DifReport:
    rows = tuple(DifRow(item_id=i, code=f"Q{i}", alpha_mh=1.0, d_dif=0.0, se=0.1, chi_square=0.0, p_value=1.0,
                        ets_class=c, n_reference=10, n_focal=10) for i, c in enumerate("ABC"))
    run = NS(id=1, model="2pl", response_set=NS(name="作答"))
    return DifReport(run=run, group_names=("性别",), group="性别", values=(("男", 10), ("女", 10)),  # type: ignore[arg-type]
                     reference="男", comparisons=(DifComparison(focal="女", n_focal=10, rows=rows),),
                     matching="总分", excluded=(), n_examinees=20, alpha=0.05)


OCCUPATION = NS(code="6-18-01-01", name="车工", work_types=[NS(name="普通车工"), NS(name="数控车工")],
                lowest_level=5, highest_level=1, is_access_type=False, note="", active=True)
BLUEPRINT = NS(name="细目表", nodes=[NS(code="A", name="基础", importance=None, weight=100),
                                    NS(code="A-001", name="点", importance="X", weight=0)])

CERT_BATCH = NS(name="=批次", institution=NS(name="机构", code="S000022880001"), occupation=NS(name="电工"),
                work_type=None, level=3)
CERTIFICATE = NS(number="S000022880001263000001", issued_on=dt.date(2026, 12, 1), status_label="有效",
                 current=NS(occupation_code="6-31-01-03", occupation_name="电工", work_type_text="--", name="+张三",
                            id_type_label="居民身份证", id_number="220102199001010012", level=3))
def _grid() -> Any:
    reg = NS(ticket_no="T1", category="other", method="assessment", candidate=NS(name="王一", id_number="2201"))
    row = sheets.GridRow(reg, (Component.THEORY, Component.SKILL),  # type: ignore[arg-type]
                         {Component.THEORY: [sheets.Sitting(dt.date(2026, 9, 10), "scored", Decimal("80"))]},
                         Current())
    return sheets.BatchGrid(BATCH, (Component.THEORY, Component.SKILL), [row])  # type: ignore[arg-type]


BATCH = NS(name="批次", level=4, occupation=NS(name="电工"), work_type=None, institution=NS(name="机构"))
DECISION = NS(state="confirmed", outcome="resit", version=1, decided_on=dt.date(2026, 9, 29), confirmed_by_name="张",
              reasons=[{"text": "「技能操作考核」尚未参加考核。"}])

SUBMISSION = NS(batch=NS(name="批次", level=3, work_type=None, institution=NS(name="机构", code="S000022880001"),
                         occupation=NS(code="6-31-01-03", name="电工")),
                publicity=NS(starts_on=dt.date(2026, 11, 2), ends_on=dt.date(2026, 11, 6)),
                submitted_on=dt.date(2026, 11, 9), due_on=dt.date(2026, 11, 20), status_label="已通过")
SUBMISSION_ROWS = submission_workbook.SubmissionRows(
    order=[NS(registration_id=1, entry=NS(starts_on=dt.date(2026, 11, 2), ends_on=dt.date(2026, 11, 6)),
              status_label="已通过", reason="=1+1")],
    regs={1: NS(id=1, ticket_no="T1", category="other")},
    persons={1: NS(name="+张三", id_type="resident_id", id_number="220102199001010012")},
    by_reg={1: [NS(component="theory", sat_on=dt.date(2026, 10, 16), state="scored", score=Decimal("80"))]},
    decisions={1: NS(outcome="qualified", level=3, decided_on=dt.date(2026, 10, 30), qualified_on=dt.date(2026, 10, 30),
                     confirmed_by_name="周静", confirmed_at=dt.datetime(2026, 11, 2, 9, 0))})

#: module.function → a call producing its .xlsx bytes
EXPORTERS: dict[str, Callable[[], bytes]] = {
    "itembank.item_excel.export_items_bytes": lambda: xl.export_items_bytes([_item("Q1", "题干"), _item("Q2", "=1")]),
    "itembank.item_excel.item_template_bytes": xl.item_template_bytes,
    "itembank.blueprint_excel.export_blueprint_bytes":
        lambda: blueprint_excel.export_blueprint_bytes(BLUEPRINT),  # type: ignore[arg-type]
    "itembank.blueprint_excel.blueprint_template_bytes": blueprint_excel.blueprint_template_bytes,
    "foundation.occupation_excel.export_occupations_bytes":
        lambda: occupation_excel.export_occupations_bytes(None, [OCCUPATION]),  # type: ignore[arg-type]
    "foundation.occupation_excel.import_template_bytes": occupation_excel.import_template_bytes,
    "examroom.candidate_import.import_template_bytes": candidate_import.import_template_bytes,
    "grading.results.competitions.import_template_bytes": competitions.import_template_bytes,
    "grading.psychometrics.report_excel.item_report_xlsx": lambda: report_excel.item_report_xlsx(_item_report()),
    "grading.psychometrics.report_excel.paper_report_xlsx": lambda: report_excel.paper_report_xlsx(_paper_report()),
    "grading.psychometrics.report_excel.dif_report_xlsx": lambda: report_excel.dif_report_xlsx(_dif_report()),
    "grading.certificates.register.register_xlsx": lambda: register_xlsx(CERT_BATCH, [CERTIFICATE]),  # type: ignore[arg-type]
    "grading.results.sheets.batch_transcript_bytes": lambda: sheets.batch_transcript_bytes(BATCH, _grid()),
    "grading.results.sheets.person_transcript_xlsx": lambda: sheets.person_transcript_xlsx(NS(
        registration=_grid().rows[0].registration, batch=BATCH, grid=_grid(), released=DECISION, latest=DECISION)),
    "grading.publicity.workbook.submission_workbook_bytes":
        lambda: submission_workbook.submission_workbook_bytes(SUBMISSION, SUBMISSION_ROWS),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("name", sorted(EXPORTERS))
def test_every_exporter_streams_its_workbook(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever path an exporter takes to its bytes, every workbook it saves is write-only: its
    rows went out as they were appended and no sheet could be asked for ``max_row``."""
    saved: list[bool] = []
    real_save = Workbook.save

    def save(workbook: Workbook, target: Any) -> None:
        saved.append(workbook.write_only)
        real_save(workbook, target)

    monkeypatch.setattr(Workbook, "save", save)
    data = EXPORTERS[name]()
    assert saved == [True], saved
    sheets = openpyxl.load_workbook(io.BytesIO(data)).worksheets
    assert sheets and all(s.max_row >= 1 for s in sheets)


def _functions_calling(name: str) -> set[str]:
    found = set()
    for package in SOURCES:
        for path in sorted((ROOT / package).rglob("*.py")):
            module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef) and any(
                        isinstance(c, ast.Call) and getattr(c.func, "id", getattr(c.func, "attr", None)) == name
                        for c in ast.walk(node)):
                    found.add(f"{module}.{node.name}")
    return found


@pytest.mark.slow
def test_every_exporter_is_covered_and_only_the_writer_builds_workbooks() -> None:
    assert _functions_calling("workbook_bytes") == set(EXPORTERS)
    builders = _functions_calling("Workbook")
    assert builders == {"foundation.xlsx.new_workbook"}, builders


# ---------------------------------------------------------------- 20,000 items from the database


def _clone(session: Any, templates: list[Item], n: int) -> list[str]:
    """``n`` items cycling through the templates' types and content (stems made distinct),
    inserted in bulk: the services would take minutes for 20,000."""
    codes = [f"Z-{k:05d}" for k in range(n)]
    session.execute(insert(Item), [
        {"code": code, "point_id": t.point_id, "level": t.level, "item_type": t.item_type, "status": t.status,
         "author_id": t.author_id, "institution_id": t.institution_id}
        for code, t in ((code, templates[k % len(templates)]) for k, code in enumerate(codes))])
    ids = dict(session.execute(select(Item.code, Item.id).where(Item.code.in_(codes))).all())
    versions = []
    for k, code in enumerate(codes):
        v = templates[k % len(templates)].current_version
        versions.append({"item_id": ids[code], "number": 1, "stem_html": f"{v.stem_html}<p>第 {k} 题</p>",
                         "spec_json": v.spec_json, "explanation_html": v.explanation_html, "source": v.source,
                         "difficulty": v.difficulty, "author_id": v.author_id})
    session.execute(insert(ItemVersion), versions)
    session.execute(update(Item).where(Item.code.like("Z-%")).values(
        current_version_id=select(ItemVersion.id).where(ItemVersion.item_id == Item.id).scalar_subquery()))
    session.flush()
    session.expire_all()
    return codes


def _as_read(value: Any) -> Any:
    """A row value as the import's reader returns it (empty text reads back as None)."""
    if isinstance(value, str):
        value = cell_text(value)
        return value or None
    return value


@pytest.mark.slow
def test_export_of_20000_items_is_whole_and_reads_back_row_for_row(session, login, monkeypatch) -> None:
    writer = make_user(session, Role.QUESTION_WRITER)
    blueprint = make_blueprint(session)
    xl.import_items(session, writer, blueprint, xlsx(ALL_TYPES))
    templates = list(session.scalars(select(Item).order_by(Item.code)))
    codes = _clone(session, templates, 20_000 - len(templates))
    monkeypatch.setattr(xl, "EXPORT_BATCH", 997, raising=False)  # several batches, the last one partial
    reviewer = make_user(session, Role.ITEM_REVIEWER)
    assign(session, reviewer, blueprint.occupation_id)

    client = login(reviewer)
    job = client.post("/itembank/items/export", data={"format": "xlsx", "blueprint": str(blueprint.id)})
    assert job.status_code == 302 and "/jobs/" in job.headers["Location"]
    resp = client.get(job.headers["Location"] + "/download")  # the job ran in the request (JOBS_INLINE)

    assert resp.status_code == 200
    rows = read_sheet(resp.data, sheet_name=xl.SHEET_NAME, max_rows=20_001, too_many="too many")
    assert [n for n, _ in rows] == list(range(1, 20_002))
    assert rows[0][1] == xl.EXPORT_COLUMNS
    items = session.scalars(select(Item).where(Item.point.has(blueprint_id=blueprint.id)).order_by(Item.code)
                            .options(selectinload(Item.current_version))).all()
    assert len(items) == 20_000 and {i.code for i in items} >= set(codes)
    for (_, got), item in zip(rows[1:], items, strict=True):
        assert got == tuple(_as_read(v) for v in xl.item_row(item)), item.code
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "item.export")).one()
    assert entry.after["count"] == 20_000 and entry.after["codes"] == [i.code for i in items[:xl.AUDIT_CODES]]
