"""CLI commands; each is one service call plus the commit."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from web.exam_cli import exam_cli
from web.extensions import db
from web.grading_cli import grading_cli

audit_cli = AppGroup("audit", help="操作日志（哈希链）")
seed_cli = AppGroup("seed", help="基础数据与演示数据")


@audit_cli.command("verify")
@click.option("--full", is_flag=True,
              help="从第一条记录起完整校验并复核全部校验检查点（默认只校验最新检查点之后的记录）")
def audit_verify(full: bool) -> None:
    """Verify the hash chain (from the latest checkpoint, or everything with --full) and
    append a checkpoint; exit 1 and name what is broken if it is broken."""
    from foundation.audit import Progress, run_verification
    from web.audit.labels import describe_break

    shown = {"entries": -1, "checkpoints": -1}

    def progress(step: Progress) -> None:
        tenth = step.done * 10 // step.total if step.total else 10
        if tenth != shown[step.phase]:
            shown[step.phase] = tenth
            what = "记录" if step.phase == "entries" else "检查点"
            click.echo(f"  已校验{what} {step.done}/{step.total}", err=True)

    report, checkpoint = run_verification(db.session, None, full=full, progress=progress)
    db.session.commit()
    if report.ok:
        scope = "完整校验" if full else (
            f"增量校验（自第 {report.from_checkpoint} 号检查点，第 {report.from_seq} 条记录之后）"
            if report.from_checkpoint else "增量校验（尚无检查点，自第一条记录起）")
        tail = f"，复核检查点 {report.checkpoints_checked} 个" if full else ""
        saved = f"已记为第 {checkpoint.number} 号检查点。" if checkpoint else "无新记录，未新增检查点。"
        click.echo(f"操作日志完整：{scope}，本次校验 {report.checked} 条记录{tail}，"
                   f"至第 {report.upto_seq} 条。{saved}")
        return
    click.echo(f"操作日志被篡改：{describe_break(report)}", err=True)
    sys.exit(1)


@seed_cli.command("reference")
def seed_reference_cmd() -> None:
    """Load the occupation catalogue, holiday calendar and rule defaults (idempotent)."""
    from foundation.seed import seed_reference

    counts = seed_reference(db.session)
    db.session.commit()
    click.echo("基础数据已就绪。本次新增：" + "，".join(f"{k} {v} 条" for k, v in counts.items()))


@seed_cli.command("demo")
def seed_demo_cmd() -> None:
    """Load the demonstration data (idempotent) and print the demo logins."""
    from examroom.demo import seed_exam_demo
    from foundation.demo import DEMO_PASSWORD, seed_demo
    from grading.demo import seed_results_demo
    from itembank.demo import seed_item_bank

    logins = seed_demo(db.session)
    bank_lines = seed_item_bank(db.session)
    bank_lines += seed_exam_demo(db.session)
    results_lines = seed_results_demo(db.session)
    db.session.commit()
    click.echo("")
    click.echo(f"演示账号（工作人员密码均为 {DEMO_PASSWORD}）：")
    for role_label, login, note in logins:
        click.echo(f"  {role_label:<12}  {login:<28}  {note}")
    click.echo("")
    for line in bank_lines:
        click.echo(line)
    click.echo("")
    for line in results_lines:
        click.echo(line)


def register_commands(app: Flask) -> None:
    app.cli.add_command(audit_cli)
    app.cli.add_command(seed_cli)
    app.cli.add_command(grading_cli)
    app.cli.add_command(exam_cli)
