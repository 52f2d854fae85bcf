"""Work-performance dossiers (业绩材料) and their attachments (issue 13 point 5).

A registration whose evaluation scheme has a panel component (工作业绩评审 for 考评结合 and
工作业绩评审 registrations; 综合评审 at levels 2–1) has one dossier: products made, technical
problems solved, tasks completed, and for levels 2–1 innovation and mentoring (传技带徒); with
the employer's attestation (单位鉴定意见: who attests, their position, the text, the day).

**Who enters it**: the institution admin of the registration's institution. Candidates log in
with an admission ticket to sit exams and have no staff account; the institution collects the
materials and the employer's signed attestation on paper, checks them against the originals and
enters them (谁评价、谁负责). The institution's admin, the batch's panel and the centre read it.

**Frozen once scored**: after the first panel member has scored the registration, the dossier
and its attachments do not change (the panel judged what it read).

**Attachments** are PDF, PNG or JPEG files of at most :data:`MAX_ATTACHMENT_BYTES`; the type is
taken from the bytes (magic numbers; images are decoded by Pillow), and must agree with the file
name's extension. Files are kept outside the web root, in a folder the caller names (the web
layer's ``ATTACHMENTS_DIR``, default ``instance/attachments``), under their SHA-256; the row
keeps the name as uploaded (control characters removed), type, size and hash. Reading checks
the reader's right first and the hash of the bytes read.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import os
import secrets
import unicodedata
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from examroom.models import Batch, BatchCandidate
from foundation import audit
from foundation.accounts import User
from foundation.db import utcnow
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.names import clean_name
from foundation.roles import Role, require_role
from grading.results.decision import Component, Method
from grading.results.models import (
    ATTACHMENT_SECTIONS,
    DossierAttachment,
    PanelScore,
    PerformanceDossier,
)
from grading.results.schemes import scheme_for

MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
"""Largest attachment accepted, in bytes."""
MAX_ATTACHMENTS = 30
"""Attachments per dossier."""
MAX_IMAGE_PIXELS = 60_000_000
MAX_TEXT = 5000
"""Characters per text part of a dossier."""
REVIEW_LEVELS = (2, 1)
PANEL_COMPONENTS = (Component.PERFORMANCE, Component.REVIEW)

SECTION_LABELS = {
    "products": "产品（作品）",
    "problems": "解决的技术问题",
    "tasks": "完成的工作任务",
    "innovation": "技术革新与创新",
    "mentoring": "传技带徒",
    "attestation": "单位鉴定意见",
    "other": "其他材料",
}
assert set(SECTION_LABELS) == set(ATTACHMENT_SECTIONS)

#: The dossier's text parts: (attribute, label, only for levels 2–1).
TEXT_PARTS = (
    ("products", "产品（作品）", False),
    ("problems_solved", "解决的技术问题", False),
    ("tasks", "完成的工作任务", False),
    ("innovation", "技术革新与创新", True),
    ("mentoring", "传技带徒", True),
)

#: mime -> the extensions a file of that type may carry.
_TYPES = {"application/pdf": (".pdf",), "image/png": (".png",), "image/jpeg": (".jpg", ".jpeg")}
_ACCEPTED = "PDF、PNG 或 JPEG"


# ---------------------------------------------------------------- lookups and rights


def registration(session: Session, registration_id: int) -> BatchCandidate:
    reg = session.get(BatchCandidate, registration_id)
    if reg is None:
        raise NotFound("报名记录不存在。")
    return reg


def panel_components(session: Session, reg: BatchCandidate) -> tuple[Component, ...]:
    """The components of ``reg``'s scheme a panel scores (工作业绩评审, 综合评审), in order."""
    if reg.method == Method.COMPETITION.value:
        return ()
    batch = reg.batch
    required = scheme_for(session, batch.occupation, batch.level, reg.method).required
    return tuple(c for c in PANEL_COMPONENTS if c in required)


def on_panel(actor: User, batch: Batch) -> bool:
    return actor.active and actor.role == Role.EXAMINER and any(m.user_id == actor.id for m in batch.panel)


def can_read(actor: User, reg: BatchCandidate) -> bool:
    """The registration's institution admin, the batch's panel members and the centre."""
    if not actor.active:
        return False
    if actor.role == Role.CENTRE_ADMIN:
        return True
    if actor.role == Role.INSTITUTION_ADMIN:
        return actor.institution_id == reg.batch.institution_id
    return on_panel(actor, reg.batch)


def _require_admin(actor: User, reg: BatchCandidate) -> None:
    require_role(actor, Role.INSTITUTION_ADMIN)
    if actor.institution_id != reg.batch.institution_id:
        raise PermissionDenied("只能管理本机构考生的业绩材料。")


def dossier_of(session: Session, registration_id: int) -> PerformanceDossier | None:
    return session.scalar(select(PerformanceDossier).where(PerformanceDossier.registration_id == registration_id))


def is_frozen(session: Session, registration_id: int) -> bool:
    """Has a panel member scored this registration (so its materials no longer change)?"""
    return bool(session.scalar(select(func.count(PanelScore.id)).where(
        PanelScore.registration_id == registration_id)))


def read_dossier(session: Session, actor: User, registration_id: int
                 ) -> tuple[BatchCandidate, PerformanceDossier | None]:
    """The registration and its dossier (None: not entered yet), for a reader who may see it;
    to anyone else the registration does not exist."""
    reg = registration(session, registration_id)
    if not can_read(actor, reg):
        raise NotFound("报名记录不存在。")
    return reg, dossier_of(session, registration_id)


def missing_parts(dossier: PerformanceDossier | None, level: int) -> list[str]:
    """What the dossier still lacks before a panel may score it (empty: complete)."""
    if dossier is None:
        return ["业绩材料尚未填写"]
    missing: list[str] = []
    if not any(getattr(dossier, attr).strip() for attr, _, high in TEXT_PARTS if not high):
        missing.append("产品（作品）、解决的技术问题、完成的工作任务至少填写一项")
    if level in REVIEW_LEVELS:
        missing.extend(label for attr, label, high in TEXT_PARTS if high and not getattr(dossier, attr).strip())
    if not (dossier.attester_name and dossier.attester_position and dossier.attestation.strip()
            and dossier.attested_on):
        missing.append("单位鉴定意见（鉴定人、职务、意见和日期）")
    return missing


# ---------------------------------------------------------------- the dossier


@dataclasses.dataclass(frozen=True)
class DossierInput:
    """What the institution admin types (every part may be left empty while drafting)."""

    products: str = ""
    problems_solved: str = ""
    tasks: str = ""
    innovation: str = ""
    mentoring: str = ""
    attester_name: str = ""
    attester_position: str = ""
    attestation: str = ""
    attested_on: dt.date | None = None


def _long_text(value: object, label: str, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{label}必须是文字。", field=field)
    text = value.replace("\r\n", "\n").strip()
    if len(text) > MAX_TEXT:
        raise ValidationError(f"{label}不能超过 {MAX_TEXT} 个字（当前 {len(text)} 个）。", field=field)
    if "\x00" in text:
        raise ValidationError(f"{label}含有无法保存的字符。", field=field)
    return text


def _short_name(value: object, label: str, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{label}必须是文字。", field=field)
    text = clean_name(value, label, field=field)
    if len(text) > 64:
        raise ValidationError(f"{label}不能超过 64 个字。", field=field)
    return text


def check_input(data: DossierInput, level: int, today: dt.date) -> dict[str, object]:
    """The cleaned values of ``data``, or a ValidationError naming the first bad field."""
    values: dict[str, object] = {}
    for attr, label, high in TEXT_PARTS:
        text = _long_text(getattr(data, attr), label, attr)
        if high and text and level not in REVIEW_LEVELS:
            raise ValidationError(f"「{label}」只用于二级/技师、一级/高级技师的业绩材料。", field=attr)
        values[attr] = text
    values["attester_name"] = _short_name(data.attester_name, "鉴定人姓名", "attester_name")
    values["attester_position"] = _short_name(data.attester_position, "鉴定人职务", "attester_position")
    values["attestation"] = _long_text(data.attestation, "单位鉴定意见", "attestation")
    day = data.attested_on
    if day is not None:
        if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
            raise ValidationError("鉴定日期必须是日期。", field="attested_on")
        if day > today:
            raise ValidationError(f"鉴定日期（{day.isoformat()}）不能晚于今天。", field="attested_on")
    values["attested_on"] = day
    return values


def _writable(session: Session, actor: User, registration_id: int) -> BatchCandidate:
    reg = registration(session, registration_id)
    _require_admin(actor, reg)
    if not panel_components(session, reg):
        raise ValidationError(f"考生「{reg.candidate.name}」的评价方案不含工作业绩评审或综合评审，无需业绩材料。")
    if is_frozen(session, registration_id):
        raise ValidationError("评审专家已开始评分，业绩材料不能再修改。")
    return reg


def save_dossier(session: Session, actor: User, registration_id: int, data: DossierInput, *,
                 today: dt.date) -> PerformanceDossier:
    """Create or change the registration's dossier (institution admin; before any panel score)."""
    reg = _writable(session, actor, registration_id)
    values = check_input(data, reg.batch.level, today)
    dossier = dossier_of(session, registration_id)
    before = None if dossier is None else {k: _audit_value(getattr(dossier, k)) for k in values}
    if dossier is None:
        dossier = PerformanceDossier(registration_id=reg.id)
        session.add(dossier)
    for key, value in values.items():
        setattr(dossier, key, value)
    dossier.updated_by_id = actor.id
    dossier.updated_at = utcnow()
    session.flush()
    after = {k: _audit_value(v) for k, v in values.items()}
    audit.record(session, actor, "dossier.create" if before is None else "dossier.update", "dossier", dossier.id,
                 before=before, after={"registration_id": reg.id, **after})
    return dossier


def _audit_value(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and len(value) > 80:
        return value[:80] + "…"
    return value


# ---------------------------------------------------------------- attachments


def clean_filename(name: str) -> str:
    """The uploaded name without directories, control or format characters; at most 120 characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C" and ch not in "\u2028\u2029").strip()
    if len(kept) > 120:
        stem, dot, ext = kept.rpartition(".")
        kept = (stem[: 120 - len(ext) - 1] + dot + ext) if dot and len(ext) <= 8 else kept[:120]
    return kept


def sniff(data: bytes) -> str | None:
    """The type of ``data`` from its bytes: a PDF, a PNG or a JPEG, else None."""
    if data.startswith(b"%PDF-") and b"%%EOF" in data[-2048:]:
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    return None


def _check_image(data: bytes, mime: str) -> None:
    fmt = {"image/png": "PNG", "image/jpeg": "JPEG"}[mime]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as img:
                width, height = img.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ValidationError("图片像素过多，请压缩后再上传。", field="file")
                img.verify()
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning):
        raise ValidationError("图片文件已损坏或格式不正确。", field="file") from None


def check_file(data: bytes, filename: str) -> tuple[str, str]:
    """(clean name, mime type) of an upload, or a ValidationError saying what is wrong."""
    if not isinstance(data, bytes) or not data:
        raise ValidationError("请选择要上传的文件。", field="file")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValidationError(f"文件不能超过 {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB。", field="file")
    name = clean_filename(filename or "")
    if not name:
        raise ValidationError("文件名不能为空。", field="file")
    ext = os.path.splitext(name)[1].lower()
    mime = sniff(data)
    if mime is None:
        raise ValidationError(f"只接受 {_ACCEPTED} 文件（按文件内容判断），「{name}」不是。", field="file")
    if ext not in _TYPES[mime]:
        kind = mime.split("/")[1].upper()
        raise ValidationError(f"文件「{name}」的扩展名与内容不符（内容为 {kind}）。", field="file")
    if mime != "application/pdf":
        _check_image(data, mime)
    return name, mime


def stored_path(folder: Path, sha256: str) -> Path:
    return folder / sha256[:2] / sha256


def _store(folder: Path, sha256: str, data: bytes) -> None:
    path = stored_path(folder, sha256)
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{sha256}.{secrets.token_hex(4)}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def add_attachment(session: Session, actor: User, registration_id: int, *, section: str, filename: str,
                   data: bytes, folder: Path) -> DossierAttachment:
    """Attach a file to the registration's dossier (created empty if need be)."""
    reg = _writable(session, actor, registration_id)
    if section not in ATTACHMENT_SECTIONS:
        raise ValidationError("请选择材料类别。", field="section")
    if section in ("innovation", "mentoring") and reg.batch.level not in REVIEW_LEVELS:
        raise ValidationError(f"「{SECTION_LABELS[section]}」只用于二级/技师、一级/高级技师的业绩材料。",
                              field="section")
    name, mime = check_file(data, filename)
    dossier = dossier_of(session, registration_id)
    if dossier is not None and len(dossier.attachments) >= MAX_ATTACHMENTS:
        raise ValidationError(f"每份业绩材料最多 {MAX_ATTACHMENTS} 个附件。", field="file")
    sha = hashlib.sha256(data).hexdigest()
    _store(folder, sha, data)
    if dossier is None:
        dossier = PerformanceDossier(registration_id=reg.id, updated_by_id=actor.id)
        session.add(dossier)
        session.flush()
    row = DossierAttachment(section=section, filename=name, mime=mime, size=len(data), sha256=sha,
                            uploaded_by_id=actor.id)
    dossier.attachments.append(row)
    dossier.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "dossier.upload", "dossier", dossier.id, after={
        "registration_id": reg.id, "attachment_id": row.id, "section": section, "name": name, "size": len(data),
        "sha256": sha})
    return row


def remove_attachment(session: Session, actor: User, attachment_id: int) -> None:
    """Take an attachment off its dossier (the stored file may be shared by content and stays)."""
    row = session.get(DossierAttachment, attachment_id)
    if row is None:
        raise NotFound("附件不存在。")
    dossier = row.dossier
    reg = registration(session, dossier.registration_id)
    if not can_read(actor, reg):
        raise NotFound("附件不存在。")
    _writable(session, actor, reg.id)
    before = {"registration_id": reg.id, "attachment_id": row.id, "section": row.section, "name": row.filename}
    dossier.attachments.remove(row)
    dossier.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "dossier.remove", "dossier", dossier.id, before=before)


def read_attachment(session: Session, actor: User, attachment_id: int, folder: Path
                    ) -> tuple[DossierAttachment, bytes]:
    """An attachment and its bytes, for the registration's institution admin, the batch's panel
    and the centre; to anyone else it does not exist."""
    row = session.get(DossierAttachment, attachment_id)
    if row is None:
        raise NotFound("附件不存在。")
    reg = registration(session, row.dossier.registration_id)
    if not can_read(actor, reg):
        raise NotFound("附件不存在。")
    path = stored_path(folder, row.sha256)
    try:
        data = path.read_bytes()
    except OSError:
        raise NotFound("附件文件已丢失，请联系评价机构重新上传。") from None
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise NotFound("附件文件已损坏（校验不符），请联系评价机构重新上传。")
    return row, data
