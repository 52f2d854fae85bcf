"""The certificate as an A4 PDF (职业技能等级证书, 人社鉴发〔2021〕1号 content): title, the
institution's name as filed, issue date, name, ID type and number, occupation, 工种 (「--」 when
none), level, number, the 1-inch photo, a QR code carrying the signed statement, and the lookup
addresses. Drawn on a reportlab canvas with WenQuanYi Zen Hei embedded (``web.pdf.cjk_font``; a
TrueType font, so reportlab can embed its subset; Noto CJK is CFF and cannot be). The QR code is
one vector path of its dark modules (no raster, prints sharp). A corrected certificate says which
version it is; a revoked one is stamped 「已注销」 across the page."""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Sequence

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.pdfgen.pathobject import PDFPathObject

from foundation.calendar import beijing_date
from grading.certificates.models import Certificate, CertificateVersion
from web.certificates.qr import qr_matrix
from web.pdf import cjk_font

TITLE = "职业技能等级证书"


def chinese_date(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


QUIET = 2  # modules of quiet zone around the symbol (the printed frame leaves more)
_DARK = re.compile(rb"[^\x00]+")


def qr_runs(payload: str) -> tuple[int, list[tuple[int, int, int]]]:
    """The QR code of ``payload`` (:func:`web.certificates.qr.qr_matrix`: error correction M,
    mask :data:`~web.certificates.qr.QR_MASK`) as (modules per side with a 2-module quiet zone,
    dark runs ``(row, first column, length)``): one rectangle per horizontal run instead of one
    per module."""
    matrix = qr_matrix(payload)
    runs = [(r + QUIET, m.start() + QUIET, m.end() - m.start())
            for r, row in enumerate(matrix) for m in _DARK.finditer(row)]
    return len(matrix) + 2 * QUIET, runs


def _qr(c: Canvas, payload: str, x: float, y: float, size: float) -> None:
    """A vector QR code: in module units (the canvas scaled so one module is 1 × 1, rows down),
    each run is written as an integer ``re`` operator, so the path costs no float formatting."""
    side, runs = qr_runs(payload)
    module = size / side
    c.saveState()
    c.setFillColor(colors.black)
    c.transform(module, 0, 0, -module, x, y + size)
    c.drawPath(PDFPathObject(code=[f"{col} {r} {n} 1 re" for r, col, n in runs]), stroke=0, fill=1)
    c.restoreState()


def draw_certificate(c: Canvas, cert: Certificate, version: CertificateVersion, *, photo: str | None,
                     qr_payload: str, lookup: Sequence[str]) -> None:
    """One certificate on the canvas's current page."""
    font = cjk_font()
    width, height = A4
    c.setStrokeColor(colors.HexColor("#a61b29"))
    c.setLineWidth(2.5)
    c.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    c.setLineWidth(0.8)
    c.rect(15 * mm, 15 * mm, width - 30 * mm, height - 30 * mm)

    c.setFillColor(colors.HexColor("#a61b29"))
    c.setFont(font, 30)
    c.drawCentredString(width / 2, height - 52 * mm, TITLE)
    c.setFillColor(colors.black)
    c.setFont(font, 11)
    c.drawCentredString(width / 2, height - 62 * mm, "（职业技能等级认定）")

    # Photo, top right of the data block (25 × 35 mm).
    px, py = width - 30 * mm - 25 * mm, height - 112 * mm
    if photo is not None:  # the stored JPEG's path: reportlab copies a .jpg file's bytes as they are
        c.drawImage(photo, px, py, 25 * mm, 35 * mm)
    else:
        c.setStrokeColor(colors.grey)
        c.rect(px, py, 25 * mm, 35 * mm)
        c.setFont(font, 9)
        c.drawCentredString(px + 12.5 * mm, py + 17 * mm, "照片")
    c.setStrokeColor(colors.black)

    rows = [
        ("姓　　名", version.name),
        ("证件类型", version.id_type_label),
        ("证件号码", version.id_number),
        ("职　　业", f"{version.occupation_name}（{version.occupation_code}）"),
        ("工　　种", version.work_type_text),
        ("职业技能等级", version.level_label),
        ("证书编号", cert.number),
        ("发证日期", chinese_date(version.issued_on)),
        ("评价机构", version.institution_name),
    ]
    y = height - 84 * mm
    for label, value in rows:
        c.setFont(font, 12)
        c.drawString(32 * mm, y, label)
        c.setFont(font, 13)
        c.drawString(66 * mm, y, value)
        c.setLineWidth(0.3)
        c.line(64 * mm, y - 2.2 * mm, width - 60 * mm if y > py else width - 30 * mm, y - 2.2 * mm)
        y -= 12 * mm

    c.setFont(font, 10.5)
    c.drawString(32 * mm, y - 2 * mm, "本证书由评价机构依据国家职业技能标准认定颁发，"
                 "可通过下列地址或扫描二维码查询验证。")
    if version.version > 1:
        c.setFillColor(colors.HexColor("#9a6700"))
        c.drawString(32 * mm, y - 9 * mm, f"本证书于{chinese_date(beijing_date(version.created_at))}更正"
                     f"（第 {version.version} 版），此前版本作废。")
        c.setFillColor(colors.black)

    # QR code and the lookup addresses at the foot.
    qr_size = 38 * mm
    qx, qy = width - 30 * mm - qr_size, 26 * mm
    _qr(c, qr_payload, qx, qy, qr_size)
    c.setFont(font, 9)
    c.drawCentredString(qx + qr_size / 2, qy - 4 * mm, "扫码验证证书（含电子签名）")
    c.setFont(font, 10)
    ly = 52 * mm
    c.drawString(32 * mm, ly, "证书查询：")
    for line in lookup:
        ly -= 6 * mm
        c.drawString(32 * mm, ly, line)
    c.drawString(32 * mm, 30 * mm, f"发证机构（盖章）：{version.institution_name}")

    if cert.status == "revoked":
        c.saveState()
        c.setFillColor(colors.Color(0.8, 0.1, 0.1, alpha=0.35))
        c.setFont(font, 90)
        c.translate(width / 2, height / 2)
        c.rotate(35)
        c.drawCentredString(0, 0, "已注销")
        c.restoreState()


def certificate_pdf(cert: Certificate, *, photo: str | None, qr_payload: str, lookup: Sequence[str],
                    version: CertificateVersion | None = None) -> bytes:
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, pageCompression=1)
    shown = version or cert.current
    c.setTitle(f"{TITLE} {cert.number}")
    c.setAuthor(shown.institution_name)
    draw_certificate(c, cert, shown, photo=photo, qr_payload=qr_payload, lookup=lookup)
    c.showPage()
    c.save()
    return buf.getvalue()
