"""``flask grading …``: simulate response sets, build them from exams, run calibrations and
backfill the item reports' stored figures (``flask grading reports --backfill``) from the
command line; score a closed theory attempt again (``flask grading rescore-theory ATTEMPT_ID``).

``flask --app web grading run RUN_ID`` is also what the analysis pages launch, as a detached
process, for a queued run. Commits happen here, never in the services: each progress
checkpoint of :func:`grading.psychometrics.calibration.execute_run` commits the session so the status page
sees the run advance (see that module's docstring).
"""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from foundation.accounts import User
from web.extensions import db

grading_cli = AppGroup("grading", help="题目分析：模拟或从考试生成作答数据、参数标定；理论成绩重新评分")


def _user(username: str | None) -> User:
    """The acting account; without --as, the first active centre admin (the centre's own account)."""
    if not username:
        from foundation.roles import Role

        user = db.session.scalar(select(User).where(User.role == Role.CENTRE_ADMIN.value, User.active.is_(True))
                                 .order_by(User.id).limit(1))
        if user is None:
            raise click.UsageError("请用 --as 指定执行操作的账号（省中心管理员或审题员）。")
        click.echo(f"以 {user.name}（{user.username}）的身份执行。")
        return user
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.UsageError(f"账号 {username} 不存在。")
    return user


def _checkpoint(percent: int, stage: str) -> None:
    """Progress callback: commit so that other sessions see the run's stage, then print it."""
    db.session.commit()
    click.echo(f"[{percent:3d}%] {stage}")


def _execute(run_id: int) -> None:
    from foundation.errors import DomainError
    from grading.psychometrics.calibration import execute_run, fail_run_after

    try:
        run = execute_run(db.session, run_id, progress=_checkpoint)
    except DomainError as exc:
        db.session.rollback()
        click.echo(exc.message, err=True)
        sys.exit(1)
    except Exception as exc:
        # The traceback goes to the server's log (the run's log file when the pages launch it);
        # the run page shows a sentence a reviewer understands, never the exception's class.
        db.session.rollback()
        current_app.logger.exception("calibration run %s failed", run_id)
        try:
            message = fail_run_after(db.session, run_id, exc)
            db.session.commit()
        except Exception:
            db.session.rollback()
            current_app.logger.exception("calibration run %s: could not record the failure", run_id)
            message = "标定中止，且未能记录失败原因，请联系管理员。"
        click.echo(f"标定任务 #{run_id} 失败：{message}", err=True)
        sys.exit(1)
    db.session.commit()
    if run.status == "failed":
        click.echo(f"标定任务 #{run.id} 失败：{run.message}", err=True)
        sys.exit(1)
    report = run.report
    click.echo(f"标定任务 #{run.id} 完成：{run.message}")
    click.echo(f"  模型 {run.model}，EM {run.n_cycles} 轮，{'已收敛' if run.converged else '未收敛'}，"
               f"对数似然 {run.loglik:.2f}")
    click.echo(f"  链接常数 A = {run.link_a:.4f}，B = {run.link_b:.4f}；{report['anchors']['note']}")
    for item in report.get("dropped_items", []):
        click.echo(f"  剔除 {item['code']}：{item['reason']}")
    for item in report.get("flagged", []):
        click.echo(f"  预警 {item['code']}：{'；'.join(item['flags'])}")


@grading_cli.command("run")
@click.argument("run_id", type=int)
def run_cmd(run_id: int) -> None:
    """Execute a queued calibration run (what the analysis page launches)."""
    _execute(run_id)


@grading_cli.command("reports")
@click.option("--backfill", is_flag=True, help="为已完成的标定补算并保存题目分析报告的统计结果")
@click.option("--run", "run_ids", type=int, multiple=True, help="只处理这些标定任务（可重复）；默认全部已完成的任务")
def reports_cmd(backfill: bool, run_ids: tuple[int, ...]) -> None:
    """Store the item reports' matrix figures of finished runs that lack them (runs made before
    the store, or after a change of its format); one commit per run. Safe to repeat."""
    from grading.psychometrics.models import CalibrationRun
    from grading.psychometrics.report_store import backfill_run

    if not backfill:
        raise click.UsageError("请指定 --backfill（为已完成的标定补算题目分析报告的统计结果）。")
    stmt = select(CalibrationRun.id).where(CalibrationRun.status == "done").order_by(CalibrationRun.id)
    if run_ids:
        stmt = stmt.where(CalibrationRun.id.in_(run_ids))
    total = 0
    for run_id in db.session.scalars(stmt).all():
        run = db.session.get(CalibrationRun, run_id)
        assert run is not None
        written = backfill_run(db.session, run)
        db.session.commit()
        total += written
        click.echo(f"标定任务 #{run_id}：补算 {written} 道试题的报告统计。")
    click.echo(f"完成：共补算 {total} 道试题的报告统计。")


@grading_cli.command("calibrate")
@click.option("--response-set", "response_set_id", type=int, required=True, help="作答数据编号")
@click.option("--model", type=click.Choice(["2pl", "1pl", "rasch", "3pl"]), default="2pl", show_default=True)
@click.option("--linking", type=click.Choice(["stocking_lord", "haebara", "mean_sigma", "mean_mean"]),
              default="stocking_lord", show_default=True)
@click.option("--as", "username", help="执行操作的账号（省中心管理员或审题员）；默认省中心管理员")
def calibrate_cmd(response_set_id: int, model: str, linking: str, username: str | None) -> None:
    """Create a calibration run for a response set and execute it, printing progress."""
    from foundation.errors import DomainError
    from grading.psychometrics.calibration import start_run

    actor = _user(username)
    try:
        run = start_run(db.session, actor, response_set_id, model=model, linking_method=linking)
    except DomainError as exc:
        db.session.rollback()
        click.echo(exc.message, err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"已创建标定任务 #{run.id}。")
    _execute(run.id)


@grading_cli.command("simulate")
@click.option("--blueprint", "blueprint_id", type=int, required=True, help="细目表编号")
@click.option("--examinees", type=int, required=True, help="模拟考生人数")
@click.option("--seed", type=int, default=1, show_default=True, help="随机种子")
@click.option("--missing", type=click.Choice(["none", "two_forms"]), default="none", show_default=True,
              help="缺失设计：none 全部试题；two_forms 两套平行卷")
@click.option("--ability-mean", type=float, default=0.0, show_default=True, help="考生能力均值（题库量尺）")
@click.option("--name", default=None, help="作答数据名称")
@click.option("--as", "username", required=True, help="执行操作的账号（省中心管理员或审题员）")
def simulate_cmd(blueprint_id: int, examinees: int, seed: int, missing: str, ability_mean: float,
                 name: str | None, username: str | None) -> None:
    """Simulate 2PL responses for a blueprint's active items."""
    from foundation.errors import DomainError
    from grading.psychometrics.responses import simulate_response_set

    actor = _user(username)
    try:
        rs = simulate_response_set(db.session, actor, blueprint_id, examinees, seed,
                                   missing, name=name, ability_mean=ability_mean)  # type: ignore[arg-type]
    except DomainError as exc:
        db.session.rollback()
        click.echo(exc.message, err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"已生成作答数据 #{rs.id}「{rs.name}」：{rs.n_examinees} 人 × {rs.n_items} 题。")


@grading_cli.command("from-exams")
@click.option("--batch", "batch_id", type=int, help="认定批次编号")
@click.option("--from", "date_from", help="开始日期（考试日期，北京时间），如 2026-10-01")
@click.option("--to", "date_to", help="结束日期（含），如 2026-10-31")
@click.option("--blueprint", "blueprint_id", type=int, help="细目表编号；按日期范围时必填")
@click.option("--name", default=None, help="作答数据名称；默认按批次或日期命名")
@click.option("--as", "username", help="执行操作的账号（省中心管理员或审题员）；默认省中心管理员")
def from_exams_cmd(batch_id: int | None, date_from: str | None, date_to: str | None, blueprint_id: int | None,
                   name: str | None, username: str | None) -> None:
    """Build a response set from the closed theory attempts of a batch (--batch) or of the
    sittings in a date range (--from, --to, --blueprint); terminated attempts are excluded."""
    from foundation.errors import DomainError
    from grading.psychometrics.exam_responses import build_exam_response_set

    if batch_id is None and date_from is None and date_to is None:
        raise click.UsageError("请用 --batch 指定认定批次，或用 --from、--to 和 --blueprint 指定日期范围。")
    actor = _user(username)
    try:
        rs = build_exam_response_set(db.session, actor, batch_id=batch_id, blueprint_id=blueprint_id,
                                     date_from=date_from, date_to=date_to, name=name)
    except DomainError as exc:
        db.session.rollback()
        click.echo(exc.message, err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"已生成作答数据 #{rs.id}「{rs.name}」：{rs.n_examinees} 人 × {rs.n_items} 题。")


@grading_cli.command("rescore-theory")
@click.argument("attempt_id", type=int)
@click.option("--as", "username", help="执行操作的账号（省中心管理员）；默认省中心管理员")
def rescore_theory_cmd(attempt_id: int, username: str | None) -> None:
    """Score a closed theory attempt again into its theory result (a new version when anything
    changed), e.g. after a scoring failure left the result pending with a note."""
    from foundation.errors import DomainError
    from grading.results.theory import rescore

    actor = _user(username)
    try:
        result = rescore(db.session, actor, attempt_id)
    except DomainError as exc:
        db.session.rollback()
        click.echo(exc.message, err=True)
        sys.exit(1)
    db.session.commit()
    score = "—" if result.score is None else f"{result.score.normalize():f}"
    click.echo(f"作答 #{attempt_id} 的理论成绩：{result.state_label}，{score} 分（第 {result.version} 版）。")
