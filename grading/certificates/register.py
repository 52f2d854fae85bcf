"""证书发放登记表: the certificates of a batch as an Excel workbook, one row per certificate,
with an empty column for the holder's signature on collection. Written with the one writer of
:mod:`foundation.xlsx` (text cells never become formulas). It is the institution's own register,
so ID numbers are in full; the centre reads it too.
"""

from __future__ import annotations

from collections.abc import Sequence

from examroom.models import Batch
from foundation.levels import level_name
from foundation.xlsx import add_notes, append_row, new_workbook, workbook_bytes, write_header
from grading.certificates.models import Certificate

COLUMNS = ("序号", "证书编号", "姓名", "证件类型", "证件号码", "职业（工种）", "等级", "发证日期", "状态",
           "领取人签名", "领取日期")
WIDTHS = (6, 26, 12, 14, 22, 30, 14, 12, 10, 14, 12)


def register_xlsx(batch: Batch, certificates: Sequence[Certificate]) -> bytes:
    workbook, sheet = new_workbook("证书发放登记表")
    write_header(sheet, COLUMNS, WIDTHS)
    for k, cert in enumerate(sorted(certificates, key=lambda c: c.number), start=1):
        v = cert.current
        occupation = f"{v.occupation_code} {v.occupation_name}（{v.work_type_text}）"
        append_row(sheet, [k, cert.number, v.name, v.id_type_label, v.id_number, occupation, level_name(v.level),
                           cert.issued_on.isoformat(), cert.status_label, "", ""])
    add_notes(workbook, [
        ("证书发放登记表", ""),
        ("评价机构", batch.institution.name),
        ("评价机构编码", batch.institution.code or ""),
        ("认定批次", batch.name),
        ("职业（工种）", batch.occupation.name + (f"（{batch.work_type.name}）" if batch.work_type else "")),
        ("等级", level_name(batch.level)),
        ("证书数", str(len(certificates))),
        ("说明", "证书编号 22 位：评价机构编码 13 位 + 发证年份 2 位 + 等级 1 位 + 顺序号 6 位。"
                "领取时由本人签名；代领须附委托书。已更正的证书以最新版本为准。"),
    ], wrap=True)
    return workbook_bytes(workbook)
