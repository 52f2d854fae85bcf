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
def audit_verify() -> None:
    """Verify the hash chain; exit 1 and name the first broken entry if it is broken."""
    from foundation.audit import verify_chain

    report = verify_chain(db.session)
    if report.ok:
        click.echo(f"操作日志完整：共校验 {report.checked} 条记录。")
        return
    click.echo(
        f"操作日志被篡改：第 {report.first_broken_seq} 条记录（id={report.first_broken_id}）{report.reason}。"
        f"此前 {report.checked} 条完好。",
        err=True,
    )
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
    from itembank.demo import seed_item_bank

    logins = seed_demo(db.session)
    bank_lines = seed_item_bank(db.session)
    bank_lines += seed_exam_demo(db.session)
    db.session.commit()
    click.echo("")
    click.echo(f"演示账号（工作人员密码均为 {DEMO_PASSWORD}）：")
    for role_label, login, note in logins:
        click.echo(f"  {role_label:<12}  {login:<28}  {note}")
    click.echo("")
    for line in bank_lines:
        click.echo(line)


def register_commands(app: Flask) -> None:
    app.cli.add_command(audit_cli)
    app.cli.add_command(seed_cli)
    app.cli.add_command(grading_cli)
    app.cli.add_command(exam_cli)
