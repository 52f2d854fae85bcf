"""Candidate photos (1 寸证件照): checks, cleaning, storage on disk and who may set them.

One photo per :class:`foundation.people.Person` (results and certificates follow the person, so
does the photo). An upload is untrusted bytes, so before anything is stored:

* at most :data:`MAX_PHOTO_BYTES` bytes, and not empty;
* JPEG or PNG **by content** (Pillow restricted to those two decoders; the file name and its
  extension are never read), fully decoded (a truncated or renamed file is refused), not animated,
  the pixel count bounded before decoding (decompression bombs refused);
* pixel dimensions of a 1-inch portrait: width :data:`MIN_WIDTH`–:data:`MAX_WIDTH`, height
  :data:`MIN_HEIGHT`–:data:`MAX_HEIGHT`, height / width between :data:`MIN_RATIO` and
  :data:`MAX_RATIO` (a 1-inch photo is 25 × 35 mm: 295 × 413 px at 300 dpi, ratio 1.4);
* re-encoded as a baseline JPEG from the pixels alone (EXIF orientation applied first, then EXIF,
  GPS, ICC, comments and anything appended dropped; transparency flattened onto white), so
  what is stored is always a clean JPEG whatever came in.

Files live outside the web root in a :class:`PhotoStore` directory (the web layer configures it,
``PHOTO_DIR``, default ``instance/photos``), named by the SHA-256 of the stored bytes: a
replacement writes a new file and then points the person at it, so a reader never sees half a
file, and the row and the file cannot disagree about the content. Nothing serves that directory;
the photo route of the web layer reads it after the access check
(:func:`examroom.photo_access.can_view_photo`). Never imports Flask.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation import audit
from foundation.accounts import User
from foundation.db import utcnow
from foundation.errors import NotFound, PermissionDenied, ValidationError
from foundation.jobs import Job, Outcome, ProgressFn, register
from foundation.people import Person, normalise_number
from foundation.roles import Role

MAX_PHOTO_BYTES = 2 * 1024 * 1024
"""Largest photo file accepted, in bytes."""
MIN_WIDTH, MAX_WIDTH = 260, 1200
MIN_HEIGHT, MAX_HEIGHT = 360, 1680
MIN_RATIO, MAX_RATIO = 1.25, 1.6
"""Height / width of a portrait 1-inch photo (25 × 35 mm is 1.4)."""
JPEG_QUALITY = 90
FORMATS = ("JPEG", "PNG")
_PIXELS_LIMIT = MAX_WIDTH * MAX_HEIGHT
_SHA = re.compile(r"[0-9a-f]{64}")

#: The rules in one sentence, for upload forms.
PHOTO_RULES = (f"1 寸免冠证件照：JPEG 或 PNG，不超过 {MAX_PHOTO_BYTES // (1024 * 1024)} MB；"
               f"宽 {MIN_WIDTH}–{MAX_WIDTH} 像素、高 {MIN_HEIGHT}–{MAX_HEIGHT} 像素的竖版照片"
               f"（推荐 295×413 像素，高宽比约 1.4）。")


@dataclasses.dataclass(frozen=True)
class CleanPhoto:
    """A checked photo, re-encoded: the JPEG bytes to store, their SHA-256 and size in pixels."""

    data: bytes
    sha256: str
    width: int
    height: int


def check_photo(data: bytes) -> CleanPhoto:
    """The cleaned photo, or a :class:`ValidationError` (Chinese) saying what is wrong."""
    if not data:
        raise ValidationError("请选择照片文件。", field="photo")
    if len(data) > MAX_PHOTO_BYTES:
        raise ValidationError(f"照片文件过大：最大 {MAX_PHOTO_BYTES // (1024 * 1024)} MB。", field="photo")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=list(FORMATS))
            if img.width * img.height > _PIXELS_LIMIT:  # before decoding: the header's claim
                raise ValidationError(f"照片尺寸为 {img.width}×{img.height} 像素，过大：宽不超过 {MAX_WIDTH}、"
                                      f"高不超过 {MAX_HEIGHT} 像素。", field="photo")
            if getattr(img, "is_animated", False):
                raise ValidationError("照片不能是动态图片。", field="photo")
            img.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ValidationError("照片像素数量过大，已拒绝。", field="photo") from None
    except UnidentifiedImageError:
        raise ValidationError("照片只接受 JPEG 或 PNG 格式（按文件内容识别，与扩展名无关）。", field="photo") from None
    except Exception:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError... for bad data
        raise ValidationError("照片文件已损坏或不完整，无法解码。", field="photo") from None
    upright = ImageOps.exif_transpose(img) or img
    width, height = upright.size
    if not (MIN_WIDTH <= width <= MAX_WIDTH and MIN_HEIGHT <= height <= MAX_HEIGHT):
        raise ValidationError(f"照片尺寸为 {width}×{height} 像素：宽应为 {MIN_WIDTH}–{MAX_WIDTH}、"
                              f"高应为 {MIN_HEIGHT}–{MAX_HEIGHT} 像素（推荐 295×413）。", field="photo")
    if not MIN_RATIO <= height / width <= MAX_RATIO:
        raise ValidationError(f"照片应为竖版 1 寸照（高宽比约 1.4），当前为 {width}×{height} 像素。", field="photo")
    return CleanPhoto(*_reencode(upright), width=width, height=height)


def _reencode(img: Image.Image) -> tuple[bytes, str]:
    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat
    else:
        img = img.convert("RGB")  # a copy even when already RGB
    img.info = {}  # the encoder would carry a comment, EXIF or ICC profile found here
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=JPEG_QUALITY, optimize=True)
    data = out.getvalue()
    return data, hashlib.sha256(data).hexdigest()


class PhotoStore:
    """The directory holding photo files, ``<root>/<sha[:2]>/<sha>.jpg``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        if not _SHA.fullmatch(sha256):
            raise ValueError("not a SHA-256 hex digest")
        return self.root / sha256[:2] / f"{sha256}.jpg"

    def save(self, photo: CleanPhoto) -> None:
        """Write the file (atomically: a temporary file renamed into place) unless present."""
        target = self.path(photo.sha256)
        if target.exists():
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(photo.data)
            os.chmod(tmp, 0o640)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read(self, sha256: str) -> bytes | None:
        """The stored bytes, or None when the file is missing (a database restored without its
        photo directory): callers show no photo rather than fail."""
        try:
            return self.path(sha256).read_bytes()
        except (OSError, ValueError):
            return None


def photo_of(store: PhotoStore, person: Person | None) -> bytes | None:
    """The person's photo bytes, or None when they have none (or its file is missing)."""
    if person is None or not person.photo_sha256:
        return None
    return store.read(person.photo_sha256)


def candidate_in_institution(session: Session, person_id: int, institution_id: int | None) -> bool:
    """Whether the person has a candidate account at the institution (its admin manages them)."""
    if institution_id is None:
        return False
    return session.scalar(select(User.id).where(
        User.person_id == person_id, User.institution_id == institution_id,
        User.role == Role.CANDIDATE.value).limit(1)) is not None


def may_set_photo(session: Session, actor: User, person: Person) -> bool:
    """The person themself (a candidate account of theirs), or the admin of an institution
    where they hold a candidate account. The centre does not take photos."""
    if not actor.active:
        return False
    if actor.role == Role.CANDIDATE.value:
        return actor.person_id == person.id
    if actor.role == Role.INSTITUTION_ADMIN.value:
        return candidate_in_institution(session, person.id, actor.institution_id)
    return False


def get_person(session: Session, person_id: int) -> Person:
    person = session.get(Person, person_id)
    if person is None:
        raise NotFound("人员不存在。")
    return person


def _attach(store: PhotoStore, person: Person, photo: CleanPhoto) -> str | None:
    """File first, then the row: a crash in between leaves an unused file, never a row naming
    a missing one. Returns the photo it replaced."""
    store.save(photo)
    before = person.photo_sha256
    person.photo_sha256 = photo.sha256
    person.photo_updated_at = utcnow()
    return before


def set_photo(session: Session, actor: User, store: PhotoStore, person: Person, data: bytes) -> Person:
    """Check, clean and store ``data`` as the person's photo, replacing any earlier one."""
    if not may_set_photo(session, actor, person):
        raise PermissionDenied("您不能为该人员上传照片。")
    photo = check_photo(data)
    before = _attach(store, person, photo)
    session.flush()
    audit.record(session, actor, "person.photo", "person", person.id,
                 before={"photo": before[:12]} if before else None,
                 after={"photo": photo.sha256[:12], "width": photo.width, "height": photo.height})
    return person


# ------------------------------------------------------------------- bulk import of a zip

MAX_ZIP_BYTES = 200 * 1024 * 1024
MAX_ZIP_ENTRIES = 2000
PHOTO_IMPORT = "photo.import"
_SKIPPED_PREFIXES = ("__MACOSX/", ".")


@dataclasses.dataclass(frozen=True)
class PhotoRow:
    """One file of the zip and what became of it: ``ok`` imported, else ``message`` says why."""

    row: int
    filename: str
    id_number: str
    name: str
    ok: bool
    message: str

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _entries(data: bytes) -> list[zipfile.ZipInfo]:
    if len(data) > MAX_ZIP_BYTES:
        raise ValidationError(f"压缩包过大：最大 {MAX_ZIP_BYTES // (1024 * 1024)} MB。", field="file")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ValidationError("无法读取压缩包：请上传 ZIP 格式的照片压缩包。", field="file") from None
    files = [i for i in infos if not i.is_dir()
             and not any(p.startswith(_SKIPPED_PREFIXES) for p in i.filename.split("/"))]
    if len(files) > MAX_ZIP_ENTRIES:
        raise ValidationError(f"压缩包内文件过多（{len(files)} 个）：一次最多 {MAX_ZIP_ENTRIES} 张照片。", field="file")
    if not files:
        raise ValidationError("压缩包中没有照片文件。", field="file")
    return files


def import_photo_zip(session: Session, actor: User, store: PhotoStore, data: bytes,
                     progress: ProgressFn | None = None) -> list[PhotoRow]:
    """Photos named by ID number (``220102199001010012.jpg``, in any folder of the zip) for the
    candidates of the actor's institution. **Row by row**: each photo that passes is stored,
    each that does not is reported with its reason and changes nothing; the archive itself is
    refused whole only when it cannot be read or is too large. A photo concerns one person
    only, so a blurred picture should not hold back the other 199: the institution fixes the
    reported ones and uploads them again (a repeated photo just replaces the same one). One
    audit entry for the whole import."""
    if not (actor.active and actor.role == Role.INSTITUTION_ADMIN.value):
        raise PermissionDenied("只有评价机构管理员可以批量导入照片。")
    files = _entries(data)
    archive = zipfile.ZipFile(io.BytesIO(data))
    by_number: dict[str, list[Person]] = {}
    for person in session.scalars(select(Person).join(User, User.person_id == Person.id).where(
            User.institution_id == actor.institution_id, User.role == Role.CANDIDATE.value).distinct()):
        by_number.setdefault(person.id_number, []).append(person)
    rows: list[PhotoRow] = []
    seen: dict[str, int] = {}
    for k, info in enumerate(files, start=1):
        base = info.filename.rsplit("/", 1)[-1]
        stem = base.rsplit(".", 1)[0] if "." in base else base
        number = normalise_number(stem)

        def refuse(message: str, name: str = "", number: str = number, k: int = k, base: str = base) -> None:
            rows.append(PhotoRow(k, base, number, name, False, message))

        people = by_number.get(number, [])
        if not people:
            refuse("本机构没有该证件号码的考生（文件名应为考生的证件号码，如 220102199001010012.jpg）。")
        elif len(people) > 1:
            refuse("该号码对应多种证件类型的考生，请在考生页面逐个上传。")
        elif number in seen:
            refuse(f"与第 {seen[number]} 个文件是同一考生，未导入。", people[0].name)
        elif info.file_size > MAX_PHOTO_BYTES:
            refuse(f"照片文件过大：最大 {MAX_PHOTO_BYTES // (1024 * 1024)} MB。", people[0].name)
        else:
            seen[number] = k
            person = people[0]
            try:
                with archive.open(info) as fh:  # zipfile never inflates past the declared size
                    photo = check_photo(fh.read(MAX_PHOTO_BYTES + 1))
            except ValidationError as exc:
                refuse(exc.message, person.name)
            except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, NotImplementedError):
                refuse("压缩包中的该文件已损坏或已加密，无法读取。", person.name)
            else:
                _attach(store, person, photo)
                rows.append(PhotoRow(k, base, number, person.name, True, "已导入"))
        if progress is not None and k % 50 == 0:
            progress(5 + 90 * k // len(files), f"已处理 {k} / {len(files)} 个文件")
    session.flush()
    imported = [r for r in rows if r.ok]
    audit.record(session, actor, "person.photo_import", "institution", actor.institution_id,
                 after={"files": len(rows), "imported": len(imported), "refused": len(rows) - len(imported),
                        "people": [r.id_number[:6] + "…" for r in imported[:50]]})
    return rows


@register(PHOTO_IMPORT, "批量导入照片")
def run_photo_import(session: Session, job: Job, params: dict[str, Any], progress: ProgressFn) -> Outcome:
    """params: ``upload`` (the zip's path, removed afterwards) and ``photo_dir`` (the store)."""
    upload = Path(str(params.get("upload", "")))
    progress(5, "正在读取压缩包")
    try:
        actor = session.get(User, job.user_id) if job.user_id is not None else None
        if actor is None or not actor.active:
            raise PermissionDenied("发起任务的账号已不可用。")
        try:
            data = upload.read_bytes()
        except OSError as exc:
            raise ValidationError("上传的文件已不存在，请重新上传。") from exc
        rows = import_photo_zip(session, actor, PhotoStore(str(params["photo_dir"])), data, progress)
    finally:
        upload.unlink(missing_ok=True)
    imported = sum(r.ok for r in rows)
    return Outcome({"message": f"共 {len(rows)} 个文件：导入 {imported} 张，未导入 {len(rows) - imported} 张。",
                    "photo_rows": [r.as_dict() for r in rows]})
