"""The certificate number (证书编号, 职业技能等级证书编码规则) and its serials.

22 characters, no check digit: the institution's 13-character code (评价机构编码: ``Y``/``S``,
the ministry code, the province code, the province's serial), the issue year's last two digits,
the level digit 1–5, and a 6-digit serial the institution assigns, counted per institution and
issue year from 000001.

Serials come from one ``certificate_counter`` row per (institution, year), taken with a single
``UPDATE … SET next_serial = next_serial + n … RETURNING next_serial``: the row lock (PostgreSQL)
or the database write lock (SQLite) makes two issuers at once take disjoint, consecutive ranges,
and a serial once taken is never handed out again, even if its certificate is later revoked. A
transaction rolled back returns its range with it (nothing was issued under it). On SQLite the
issuing transaction must take the write lock at its start (``foundation.db.immediate_transactions``):
a transaction that read first and writes later is refused, not queued, when another wrote meanwhile.
"""

from __future__ import annotations

import dataclasses
import re

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from foundation.db import table_of
from foundation.errors import ValidationError
from grading.certificates.models import MAX_SERIAL, NUMBER_LENGTH, CertificateCounter

NUMBER_PATTERN = re.compile(r"[YS]\d{21}")


@dataclasses.dataclass(frozen=True)
class NumberParts:
    """The fields of a number, by the positions of the coding rule."""

    kind: str  # 1: Y employer institution, S social training-evaluation organisation
    ministry: str  # 2–5
    province: str  # 6–7
    site: str  # 8–13
    year: str  # 14–15
    level: int  # 16
    serial: int  # 17–22

    @property
    def institution_code(self) -> str:
        return f"{self.kind}{self.ministry}{self.province}{self.site}"


def certificate_number(institution_code: str, year: int, level: int, serial: int) -> str:
    """``S0000220001`` + ``26`` + ``3`` + ``000001`` → the 22-character number."""
    if not (isinstance(institution_code, str) and len(institution_code) == 13 and institution_code[0] in "YS"
            and institution_code[1:].isascii() and institution_code[1:].isdigit()):
        raise ValidationError("评价机构编码应为 13 位（Y 或 S 加 12 位数字），不能生成证书编号。")
    if level not in (1, 2, 3, 4, 5):
        raise ValidationError("等级应为 1–5。")
    if not 1 <= serial <= MAX_SERIAL:
        raise ValidationError("证书序号应为 000001–999999。")
    number = f"{institution_code}{year % 100:02d}{level}{serial:06d}"
    assert len(number) == NUMBER_LENGTH
    return number


def parse_number(number: str) -> NumberParts | None:
    """The fields of a well-formed number, or None."""
    text = (number or "").strip().upper()
    if not NUMBER_PATTERN.fullmatch(text) or text[15] not in "12345" or text[16:] == "000000":
        return None
    return NumberParts(text[0], text[1:5], text[5:7], text[7:13], text[13:15], int(text[15]), int(text[16:]))


def allocate_serials(session: Session, institution_id: int, year: int, count: int) -> range:
    """``count`` consecutive serials of the institution in ``year``, taken atomically."""
    if count < 1:
        raise ValueError("count must be positive")
    table = table_of(CertificateCounter)
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert(table).values(institution_id=institution_id, year=year, next_serial=1)
                    .on_conflict_do_nothing())
    after = session.execute(
        update(table).where(table.c.institution_id == institution_id, table.c.year == year,
                            table.c.next_serial + count <= MAX_SERIAL + 1)
        .values(next_serial=table.c.next_serial + count).returning(table.c.next_serial)).scalar_one_or_none()
    if after is None:
        raise ValidationError(f"本机构 {year} 年的证书序号已不足 {count} 个（每年最多 {MAX_SERIAL} 本）。")
    return range(after - count, after)
