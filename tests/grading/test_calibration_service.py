"""Response-set import and simulation, calibration runs wired into the bank: parameters and
their history, linking to the bank scale, review flags sent back to review, pretest items
made operational, and the ``flask grading`` commands."""

from __future__ import annotations

import csv
import datetime as dt
import io

import numpy as np
import pytest
from sqlalchemy import func, select, update

from foundation.accounts import User
from foundation.audit import AuditEntry
from foundation.errors import PermissionDenied, RowErrors, ValidationError
from foundation.roles import Role
from grading.psychometrics import calibration as cal
from grading.psychometrics import responses as rsp
from grading.psychometrics.models import CalibrationRun, ItemParameter, ResponseSet, pack_arrays
from itembank.irtmodel import difficulty_to_b
from itembank.models import Item, ItemEvent, ItemStatus
from tests.factories import make_blueprint, make_user
from tests.grading.worlds import analyst, as_imported, flip_column, make_items, run_now, xlsx_bytes

# ---------------------------------------------------------------------------- helpers (shared with the page tests)


@pytest.fixture
def bank(session):
    bp = make_blueprint(session)
    return {"bp": bp, "items": make_items(session, bp, 4), "reviewer": analyst(session, bp)}


# ---------------------------------------------------------------------------- import


def test_import_xlsx_scores_letters_and_groups(session, bank):
    a, b, c, d = bank["items"]
    data = xlsx_bytes([
        ["考生编号", "性别", "地区", a.code, b.code, c.code, d.code],
        ["K001", "男", "长春市", "B", "A", 1, None],
        ["K002", "女", "吉林市", "b", 0, "", "C"],
        ["K003", "女", "", 1, "B", 0, 1],
    ])
    rs = rsp.import_response_set(session, bank["reviewer"], bank["bp"].id, "2026 年第一批", data)
    assert (rs.source, rs.n_examinees, rs.n_items) == ("import", 3, 4)
    assert rs.item_ids == [a.id, b.id, c.id, d.id]
    assert rs.group_names == ["性别", "地区"]
    arrays = rs.arrays()
    scores, choices, groups = arrays["scores"], arrays["choices"], arrays["groups"]
    assert scores.dtype == np.float32 and choices.dtype == np.int8
    np.testing.assert_array_equal(scores[0], [1, 0, 1, np.nan])
    np.testing.assert_array_equal(scores[1], [1, 0, np.nan, 0])
    np.testing.assert_array_equal(choices[0], [1, 0, -1, -1])  # B = 1, A = 0; a 0/1 score has no choice
    assert choices[1, 3] == 2 and choices[1, 0] == 1
    assert groups.tolist() == [["男", "长春市"], ["女", "吉林市"], ["女", ""]]
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "response_set.import")).one()
    assert entry.target_id == str(rs.id)


def test_import_csv(session, bank):
    a, b, c, _ = bank["items"]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["年龄段", a.code, b.code, c.code])
    w.writerow(["18–30岁", "B", "B", "D"])
    w.writerow(["31–45岁", "0", "1", ""])
    rs = rsp.import_response_set(session, bank["reviewer"], bank["bp"].id, "CSV", ("\ufeff" + buf.getvalue()).encode())
    np.testing.assert_array_equal(rs.arrays()["scores"], [[1, 1, 0], [0, 1, np.nan]])


def test_import_with_bad_rows_writes_nothing(session, bank):
    a, b, c, _ = bank["items"]
    other = make_items(session, make_blueprint(session), 1)[0]
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    data = xlsx_bytes([
        ["性别", a.code, b.code, c.code],
        ["男", "B", "A", 1],
        ["女", "E", 2, "AB"],     # no option E; a score of 2; two letters for a single choice
        ["男", None, None, None],  # nothing answered
    ])
    with pytest.raises(RowErrors) as exc:
        rsp.import_response_set(session, bank["reviewer"], bank["bp"].id, "坏数据", data)
    where = {(row, col) for row, col, _ in exc.value.errors}
    assert {(3, a.code), (3, b.code), (3, c.code), (4, "")} <= where
    assert "未导入任何数据" in exc.value.message
    # Unknown codes and items of another blueprint are refused by the header.
    data = xlsx_bytes([["性别", a.code, "NOPE-1", other.code], ["男", 1, 0, 1]])
    with pytest.raises(RowErrors) as exc:
        rsp.import_response_set(session, analyst(session, role=Role.CENTRE_ADMIN), bank["bp"].id, "坏表头", data)
    messages = " ".join(m for _, _, m in exc.value.errors)
    assert "未知的试题编码「NOPE-1」" in messages and "不属于细目表" in messages
    # A reviewer without the other occupation is not told that the other item exists.
    with pytest.raises(RowErrors) as exc:
        rsp.import_response_set(session, bank["reviewer"], bank["bp"].id, "坏表头", data)
    messages = " ".join(m for _, _, m in exc.value.errors)
    assert f"未知的试题编码「{other.code}」" in messages and "不属于细目表" not in messages
    assert session.scalar(select(func.count()).select_from(ResponseSet)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before


def test_import_refuses_other_roles_and_empty_files(session, bank):
    writer = make_user(session, Role.QUESTION_WRITER)
    with pytest.raises(PermissionDenied):
        rsp.import_response_set(session, writer, bank["bp"].id, "x", b"a,b\n1,2\n")
    with pytest.raises(ValidationError, match="没有找到任何试题编码"):
        rsp.import_response_set(session, bank["reviewer"], bank["bp"].id, "x", b"a,b\n1,2\n")
    with pytest.raises(ValidationError, match="空"):
        rsp.import_response_set(session, bank["reviewer"], bank["bp"].id, "x", b"")


def test_choice_codes_round_trip():
    assert rsp.encode_choice("single_choice", ["C"]) == 2
    assert rsp.encode_choice("multiple_choice", ["A", "C"]) == 5
    assert rsp.decode_choice("multiple_choice", 5) == "AC"
    assert rsp.decode_choice("true_false", rsp.encode_choice("true_false", ["×"])) == "×"
    assert rsp.decode_choice("single_choice", -1) is None


# ---------------------------------------------------------------------------- simulation


def test_simulation_two_forms_and_groups(session):
    bp = make_blueprint(session)
    items = make_items(session, bp, 12)
    make_items(session, bp, 2, status="approved")  # not active: left out
    user = analyst(session, role=Role.CENTRE_ADMIN)
    rs = rsp.simulate_response_set(session, user, bp.id, 400, 7, "two_forms")
    assert rs.source == "simulation" and rs.item_ids == [i.id for i in items]
    arrays = rs.arrays()
    scores = arrays["scores"]
    presented = ~np.isnan(scores)
    assert presented[:, ::3].all()  # common items
    assert len({tuple(r) for r in presented}) == 2  # two forms
    assert set(np.unique(scores[presented])) == {0.0, 1.0}
    # Chosen options follow the scores: the key (B = 1) when right, a distractor when wrong.
    ch = arrays["choices"]
    assert (ch[scores == 1] == 1).all() and (ch[scores == 0] != 1).all() and (ch[~presented] == -1).all()
    assert rs.group_names == ["性别", "年龄段", "地区", "机构"] and arrays["groups"].shape == (400, 4)
    again = rsp.simulate_response_set(session, user, bp.id, 400, 7, "two_forms")
    np.testing.assert_array_equal(again.arrays()["scores"], scores)


def test_simulation_needs_active_items_and_an_analyst(session):
    bp = make_blueprint(session)
    make_items(session, bp, 2)
    with pytest.raises(ValidationError, match="至少需要 3 道"):
        rsp.simulate_response_set(session, analyst(session, bp), bp.id, 100, 1)
    with pytest.raises(PermissionDenied):
        rsp.simulate_response_set(session, make_user(session, Role.QUESTION_WRITER), bp.id, 100, 1)
    with pytest.raises(ValidationError, match="模拟人数"):
        rsp.simulate_response_set(session, analyst(session, bp), bp.id, 5, 1)


# ---------------------------------------------------------------------------- calibration end to end


@pytest.mark.slow
def test_calibration_end_to_end_flags_history_and_pretest(session):
    bp = make_blueprint(session)
    items = make_items(session, bp, 20, pretest=(3,), seed=11)
    reviewer = analyst(session, bp)
    rs = as_imported(session, rsp.simulate_response_set(session, reviewer, bp.id, 2000, 11))
    miskeyed, pretest = items[5], items[3]
    flip_column(session, rs, miskeyed.id)

    run, stages = run_now(session, reviewer, rs)
    assert run.status == "done", run.message
    assert run.progress == 100 and run.converged and run.n_cycles > 0 and run.loglik < 0
    assert (run.link_a, run.link_b) == (1.0, 0.0)
    assert [p for p, _ in stages] == sorted(p for p, _ in stages) and stages[-1] == (100, "完成")
    report = run.report
    assert report["anchors"]["linked"] is False and "定义题库量尺" in report["anchors"]["note"]
    assert report["n_items"] == 20 and report["dropped_items"] == []

    params = session.scalars(select(ItemParameter).where(ItemParameter.run_id == run.id)).all()
    assert len(params) == 20 and all(p.is_current for p in params)
    by_item = {p.item_id: p for p in params}
    for item in items:
        p = by_item[item.id]
        assert (item.irt_a, item.irt_b) == (p.a, p.b)
        assert p.n == 2000 and p.se_a > 0 and p.p_value is not None and p.sx2_p_adjusted is not None

    bad = by_item[miskeyed.id]
    assert bad.a < 0 and bad.point_biserial < 0
    assert any("请核对答案" in f for f in bad.flags)
    assert miskeyed.status == "submitted"
    event = session.scalars(select(ItemEvent).where(ItemEvent.item_id == miskeyed.id)).one()
    assert (event.action, event.from_status, event.to_status, event.actor_id) == (
        "flag", "active", "submitted", reviewer.id)
    assert "请核对答案" in event.comment
    assert any(f["code"] == miskeyed.code and f["sent_to_review"] for f in report["flagged"])
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "item.flag", AuditEntry.target_id == str(miskeyed.id))) == 1

    assert by_item[pretest.id].flags == []
    assert pretest.is_pretest is False and pretest.code in report["operational"]
    clean = [i for i in items if not by_item[i.id].flags]
    assert len(clean) >= 15 and all(i.status == "active" for i in clean)

    # A second calibration keeps the history and moves is_current.
    rs2 = as_imported(session, rsp.simulate_response_set(session, reviewer, bp.id, 1500, 12))
    assert miskeyed.id not in rs2.item_ids  # back in review, no longer active
    run2, _ = run_now(session, reviewer, rs2)
    assert run2.status == "done", run2.message
    assert run2.report["anchors"]["linked"] is True
    target = items[0]
    history = session.scalars(select(ItemParameter).where(ItemParameter.item_id == target.id)
                              .order_by(ItemParameter.id)).all()
    assert [h.run_id for h in history] == [run.id, run2.id]
    assert [h.is_current for h in history] == [False, True]
    assert (target.irt_a, target.irt_b) == (history[1].a, history[1].b)
    assert history[1].drift_b is not None
    # The miskeyed item was not recalibrated: its only row stays current.
    assert session.scalars(select(ItemParameter.is_current).where(ItemParameter.item_id == miskeyed.id)).all() == [True]


@pytest.mark.slow
@pytest.mark.parametrize("role", [Role.ITEM_REVIEWER, Role.CENTRE_ADMIN])
def test_a_simulated_sets_run_changes_no_item_in_any_state(session, role):
    """Simulated responses are a sandbox: whatever state an item is in (every status, pretest
    or not, with or without bank parameters), calibrating them leaves the item, its current
    parameters and its history alone; the results are kept on the run, shown as simulated."""
    bp = make_blueprint(session)
    statuses = [s.value for s in ItemStatus]
    items = make_items(session, bp, 3 * len(statuses), pretest=range(0, 3 * len(statuses), 4), seed=31)
    user = analyst(session, bp, role=role)
    # A real calibration first: half the items get bank parameters (current rows, Item.irt_*).
    real = as_imported(session, rsp.simulate_response_set(session, user, bp.id, 1500, 31))
    first, _ = run_now(session, user, real)
    assert first.status == "done", first.message
    sim = rsp.simulate_response_set(session, user, bp.id, 2000, 32)
    assert sim.source == "simulation" and sim.item_ids == [i.id for i in items]
    for k, item in enumerate(items):  # items leave active after the simulation was drawn: every state
        item.status = statuses[k % len(statuses)]
        if k % 2:
            item.irt_a = item.irt_b = None
            session.execute(update(ItemParameter).where(ItemParameter.item_id == item.id).values(is_current=False))
    flip_column(session, sim, items[0].id)  # a miskeyed item in use, and other flags
    flip_column(session, sim, items[len(statuses) + 4].id)
    session.flush()
    session.expire_all()

    def snapshot():
        session.expire_all()
        return {
            "items": [(i.status, i.is_pretest, i.irt_a, i.irt_b, i.irt_c) for i in
                      session.scalars(select(Item).where(Item.id.in_([i.id for i in items])).order_by(Item.id))],
            "current": sorted(session.execute(select(ItemParameter.item_id, ItemParameter.run_id).where(
                ItemParameter.is_current.is_(True))).all()),
            "events": session.scalar(select(func.count()).select_from(ItemEvent)),
            "item_audits": session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action.in_(("item.flag", "item.operational")))),
        }

    before = snapshot()
    run, stages = run_now(session, user, sim, model="3pl")
    assert run.status == "done", run.message
    assert stages[-1] == (100, "完成")
    assert snapshot() == before
    assert run.is_sandbox and cal.SANDBOX_NOTE in run.message
    report = run.report
    assert report["sandbox"] is True and report["sent_to_review"] == report["operational"] == []
    assert report["n_flagged"] >= 2 and not any(f["sent_to_review"] for f in report["flagged"])
    assert items[0].code in {f["code"] for f in report["flagged"]}
    assert report["anchors"]["linked"] is True  # read the bank's parameters, wrote none
    rows = session.scalars(select(ItemParameter).where(ItemParameter.run_id == run.id)).all()
    assert len(rows) == report["n_items"] and not any(r.is_current for r in rows)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "calibration.done",
                                                     AuditEntry.target_id == str(run.id))).one()
    assert entry.after["sandbox"] is True


@pytest.mark.slow
def test_linking_recovers_a_shift_of_the_ability_scale(session):
    bp = make_blueprint(session)
    old = make_items(session, bp, 20, seed=21)
    reviewer = analyst(session, bp)
    first, _ = run_now(session, reviewer, as_imported(session, rsp.simulate_response_set(session, reviewer, bp.id,
                                                                                         2500, 21)))
    assert first.status == "done", first.message
    bank_b = {i.id: i.irt_b for i in old}

    new = make_items(session, bp, 6, seed=22, pretest=range(6))
    # The new group is half a logit abler; the anchors answer as their bank parameters say.
    rs = as_imported(session, rsp.simulate_response_set(session, reviewer, bp.id, 2500, 22, ability_mean=0.5))
    run, _ = run_now(session, reviewer, rs)
    assert run.status == "done", run.message
    anchors = run.report["anchors"]
    assert anchors["linked"] is True and len(anchors["used"]) >= 18
    assert run.link_b == pytest.approx(0.5, abs=0.15)
    assert run.link_a == pytest.approx(1.0, abs=0.12)
    params = {p.item_id: p for p in session.scalars(select(ItemParameter).where(ItemParameter.run_id == run.id))}
    # Anchors keep (or, when dropped for drift, stay near) their bank values: no drift of the scale.
    drift = np.array([params[i.id].drift_b for i in old if i.id in params])
    assert np.abs(drift).mean() < 0.15
    assert all(abs(params[i.id].b - bank_b[i.id]) < 0.5 for i in old)
    # New items land on the bank scale: their linked b recovers the simulated truth.
    truth = np.array([float(difficulty_to_b(i.current_version.difficulty)) for i in new])
    linked = np.array([params[i.id].b for i in new])
    assert np.abs(linked - truth).mean() < 0.2
    # Without the link they would sit half a logit too low.
    free = (linked - run.link_b) / run.link_a
    assert np.mean(free - truth) < -0.3


def test_run_drops_items_without_variation_and_fails_cleanly(session):
    bp = make_blueprint(session)
    items = make_items(session, bp, 6)
    reviewer = analyst(session, bp)
    rs = rsp.simulate_response_set(session, reviewer, bp.id, 300, 5)
    arrays = rs.arrays()
    arrays["scores"][:, 0] = 1.0
    arrays["scores"][:, 1] = np.nan
    rs.data = pack_arrays(**arrays)
    session.flush()
    run, _ = run_now(session, reviewer, rs)
    assert run.status == "done", run.message
    dropped = {d["code"]: d["reason"] for d in run.report["dropped_items"]}
    assert "全部 300 人答对" in dropped[items[0].code] and dropped[items[1].code] == "无人作答"
    assert items[0].irt_a is None

    # Too few examinees: the run fails with a Chinese message, nothing is written.
    small = rsp.simulate_response_set(session, reviewer, bp.id, 50, 6)
    arrays = small.arrays()
    arrays["scores"][20:] = np.nan
    small.data = pack_arrays(**arrays)
    session.flush()
    failed, stages = run_now(session, reviewer, small)
    assert failed.status == "failed" and "至少需要 30 人" in failed.message and stages[-1][1] == "失败"
    assert session.scalar(select(func.count()).select_from(ItemParameter).where(
        ItemParameter.run_id == failed.id)) == 0
    with pytest.raises(ValidationError, match="只能执行排队中的任务"):
        cal.execute_run(session, failed.id)


def test_start_run_validates(session):
    bp = make_blueprint(session)
    make_items(session, bp, 5)
    reviewer = analyst(session, bp)
    rs = rsp.simulate_response_set(session, reviewer, bp.id, 100, 1)
    with pytest.raises(ValidationError):
        cal.start_run(session, reviewer, rs.id, model="4pl")
    with pytest.raises(ValidationError):
        cal.start_run(session, reviewer, rs.id, linking_method="magic")
    with pytest.raises(PermissionDenied):
        cal.start_run(session, make_user(session, Role.QUESTION_WRITER), rs.id)
    run = cal.start_run(session, reviewer, rs.id, model="1pl", linking_method="haebara")
    assert (run.status, run.progress, run.stage) == ("queued", 0, "等待开始")
    with pytest.raises(ValidationError, match="排队或运行中"):
        cal.start_run(session, reviewer, rs.id)
    # A run whose worker died long ago no longer blocks the response set.
    run.created_at = run.created_at - dt.timedelta(hours=2)
    session.flush()
    fresh = cal.start_run(session, reviewer, rs.id)
    assert fresh.status == "queued" and run.status == "failed" and "已视为失败" in run.message


def test_flag_rules_follow_the_thresholds():
    rule = {"p_min": 0.2, "p_max": 0.9, "pbis_min": 0.2, "a_min": 0.5, "sx2_alpha": 0.05, "drift_b_max": 0.5}
    nan = float("nan")
    assert cal.item_flags(p=0.5, pbis=0.4, a=1.2, sx2_p_adj=0.3, sx2=10, sx2_df=8, drift_b=0.1, rule=rule) == []
    flags = cal.item_flags(p=0.1, pbis=-0.3, a=-0.7, sx2_p_adj=0.001, sx2=60, sx2_df=8, drift_b=0.8, rule=rule)
    assert len(flags) == 5 and sum("请核对答案" in f for f in flags) == 2
    assert cal.item_flags(p=0.95, pbis=0.1, a=0.3, sx2_p_adj=nan, sx2=nan, sx2_df=0, drift_b=nan, rule=rule) == [
        "通过率过高（p = 0.95，高于 0.9），试题可能过易",
        "区分度偏低（校正点二列相关 0.10，低于 0.2）",
        "区分度参数 a 偏低（0.30，低于 0.5）",
    ]


@pytest.mark.slow
def test_sx2_per_form_with_missing_by_design(session):
    bp = make_blueprint(session)
    make_items(session, bp, 15, seed=3)
    reviewer = analyst(session, bp)
    rs = rsp.simulate_response_set(session, reviewer, bp.id, 1200, 3, "two_forms")
    run, _ = run_now(session, reviewer, rs)
    assert run.status == "done", run.message
    assert run.report["sx2"]["forms"] == 2 and run.report["missing_by_design"] is True
    params = session.scalars(select(ItemParameter).where(ItemParameter.run_id == run.id)).all()
    assert all(p.sx2_p_adjusted is not None for p in params)
    common = [p for p in params if p.n == 1200]
    assert common and all(p.sx2_df > min(q.sx2_df for q in params if q.n < 1200) for p in common)


# ---------------------------------------------------------------------------- CLI


def test_cli_simulate_calibrate_and_run(app, session, runner):
    bp = make_blueprint(session)
    make_items(session, bp, 8, seed=4)
    reviewer = analyst(session, bp)
    result = runner.invoke(args=["grading", "simulate", "--blueprint", str(bp.id), "--examinees", "600",
                                 "--seed", "4", "--as", reviewer.username])
    assert result.exit_code == 0, result.output
    rs = session.scalars(select(ResponseSet).where(ResponseSet.blueprint_id == bp.id)).one()
    assert "600 人 × 8 题" in result.output
    as_imported(session, rs)  # real data: the later runs link to the parameters this one writes

    result = runner.invoke(args=["grading", "calibrate", "--response-set", str(rs.id), "--as", reviewer.username])
    assert result.exit_code == 0, result.output
    assert "[  2%] 读取作答数据" in result.output and "[100%] 完成" in result.output
    assert "定义题库量尺" in result.output
    session.expire_all()
    run = session.scalars(select(CalibrationRun).where(CalibrationRun.response_set_id == rs.id)).one()
    assert run.status == "done"

    queued = cal.start_run(session, reviewer, rs.id, model="rasch")
    session.flush()
    result = runner.invoke(args=["grading", "run", str(queued.id)])
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.get(CalibrationRun, queued.id).status == "done"
    again = runner.invoke(args=["grading", "run", str(queued.id)])
    assert again.exit_code == 1 and "只能执行排队中的任务" in again.output

    # Without --as, calibrate acts as the centre's admin account.
    centre = make_user(session, Role.CENTRE_ADMIN)
    result = runner.invoke(args=["grading", "calibrate", "--response-set", str(rs.id), "--model", "1pl",
                                 "--linking", "mean_mean"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    latest = session.scalars(select(CalibrationRun).order_by(CalibrationRun.id.desc()).limit(1)).one()
    assert latest.model == "1pl" and latest.status == "done"
    assert latest.report["anchors"]["linked"] is True and latest.report["anchors"]["method"] == "mean_mean"
    first_centre = session.scalar(select(func.min(User.id)).where(User.role == "centre_admin", User.active))
    assert latest.created_by_id == first_centre and first_centre <= centre.id


def test_cli_refuses_unknown_users_and_roles(session, runner):
    bp = make_blueprint(session)
    make_items(session, bp, 4)
    writer = make_user(session, Role.QUESTION_WRITER)
    result = runner.invoke(args=["grading", "simulate", "--blueprint", str(bp.id), "--examinees", "100",
                                 "--as", writer.username])
    assert result.exit_code == 1 and "没有执行此操作的权限" in result.output
    result = runner.invoke(args=["grading", "simulate", "--blueprint", str(bp.id), "--examinees", "100",
                                 "--as", "nobody-here"])
    assert result.exit_code != 0 and "不存在" in result.output
    result = runner.invoke(args=["grading", "simulate", "--blueprint", str(bp.id), "--examinees", "100"])
    assert result.exit_code == 2 and "--as" in result.output


@pytest.mark.slow
def test_run_progress_moves_through_the_estimation_phase(session, monkeypatch):
    # Every EM cycle may report (the default waits 0.2 s between checkpoints; this run is faster).
    monkeypatch.setattr(cal, "ESTIMATION_PROGRESS_INTERVAL", 0.0)
    bp = make_blueprint(session)
    make_items(session, bp, 15, seed=5)
    reviewer = analyst(session, bp)
    rs = rsp.simulate_response_set(session, reviewer, bp.id, 1500, 5)
    run, stages = run_now(session, reviewer, rs, model="3pl")
    assert run.status == "done", run.message
    percents = [p for p, _ in stages]
    assert percents == sorted(percents) and len(set(percents)) == len(percents)  # strictly rising
    estimation = [p for p, stage in stages if stage.startswith("参数估计")]
    assert estimation[0] == 10 and len(estimation) >= 4 and max(estimation) < 55
    assert any(20 < p < 50 for p in estimation)  # intermediate values, not a jump from 10 to 55
    assert stages[percents.index(55)][1] == "链接到题库量尺" and stages[-1] == (100, "完成")

