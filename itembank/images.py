"""Item images (试题图片): upload checks, re-encoding and storage.

Writers and reviewers upload circuit diagrams, drawings and photos that item HTML then
references as ``/itembank/images/<id>.<ext>`` (the only image prefix the sanitiser keeps).
An upload is untrusted bytes, so before anything is stored:

* its size is at most :data:`MAX_IMAGE_BYTES`;
* Pillow, restricted to the PNG, JPEG, GIF and WebP decoders, must open *and fully decode*
  it: a renamed text file, an SVG (which can carry script) or a truncated file is refused;
* the pixel count is bounded (:data:`MAX_IMAGE_PIXELS`, :data:`MAX_IMAGE_SIDE`) before
  decoding, and Pillow's own decompression-bomb warning is treated as a refusal;
* animated images are refused (an exam item must not move);
* the pixels are re-encoded in the same format from a clean image, so EXIF (including GPS),
  ICC profiles, text chunks, XMP and anything appended after the image data are dropped;
  the EXIF orientation is applied first so photos stay upright.

Stored bytes are deduplicated by SHA-256: uploading the same picture twice returns the
first row. Never imports Flask.
"""

from __future__ import annotations

import hashlib
import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from foundation import audit
from foundation.accounts import User
from foundation.errors import NotFound, ValidationError
from foundation.roles import Role, require_role
from itembank import access
from itembank.models import Item, ItemImage, ItemVersion

MAX_IMAGE_BYTES = 2 * 1024 * 1024
"""Largest upload accepted, in bytes."""
MAX_STORED_BYTES = 2 * MAX_IMAGE_BYTES
"""Largest re-encoded result stored (a re-encoded PNG can grow a little)."""
MAX_IMAGE_PIXELS = 20_000_000
"""Largest width × height decoded; checked from the header before any pixel is decoded."""
MAX_IMAGE_SIDE = 9999
"""Largest width or height (the sanitiser's ``<img width/height>`` limit)."""
JPEG_QUALITY = 90

UPLOADERS = (Role.QUESTION_WRITER, Role.ITEM_REVIEWER)

# Pillow format name -> (mime type, file extension)
FORMATS: dict[str, tuple[str, str]] = {
    "PNG": ("image/png", "png"),
    "JPEG": ("image/jpeg", "jpg"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
}
EXTENSIONS: dict[str, str] = {mime: ext for mime, ext in FORMATS.values()}
"""Mime type -> extension used in image URLs."""

URL_PREFIX = "/itembank/images/"
_ACCEPTED_TEXT = "PNG、JPEG、GIF 或 WebP"


def extension(mime: str) -> str:
    return EXTENSIONS[mime]


def image_url(image: ItemImage) -> str:
    """Where the web layer serves ``image``; the form item HTML must use."""
    return f"{URL_PREFIX}{image.id}.{EXTENSIONS[image.mime]}"


def get_image(session: Session, image_id: int) -> ItemImage:
    image = session.get(ItemImage, image_id)
    if image is None:
        raise NotFound("图片不存在。")
    return image


def can_read_image(session: Session, actor: User, image: ItemImage) -> bool:
    """Staff read an image only through an item they may read (:mod:`itembank.access`):
    some version of such an item references it in its stem, spec (options, ...) or
    explanation. The uploader also reads it (the editor shows it before the item is saved),
    and the centre reads every image. Candidates follow the exam room's rule (the web layer's
    image route: only the items they are answering now)."""
    if not actor.active:
        return False
    if actor.role == Role.CENTRE_ADMIN or image.uploaded_by_id == actor.id:
        return True
    visible = access.item_clause(actor)
    needle = f"{URL_PREFIX}{image.id}."
    stmt = (select(ItemVersion.id).join(Item, Item.id == ItemVersion.item_id)
            .where(or_(ItemVersion.stem_html.contains(needle, autoescape=True),
                       ItemVersion.spec_json.contains(needle, autoescape=True),
                       ItemVersion.explanation_html.contains(needle, autoescape=True))))
    if visible is not None:
        stmt = stmt.where(visible)
    return session.scalar(stmt.limit(1)) is not None


def read_image(session: Session, actor: User, image_id: int) -> ItemImage:
    """The image if ``actor`` (staff) may read it, else NotFound (as for an unknown id)."""
    image = get_image(session, image_id)
    if not can_read_image(session, actor, image):
        raise NotFound("图片不存在。")
    return image


def _looks_like_svg(data: bytes, filename: str) -> bool:
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return filename.lower().rstrip().endswith((".svg", ".svgz")) or head.startswith(b"<") or b"<svg" in head


def _open(data: bytes, filename: str) -> Image.Image:
    """Open and fully decode ``data``; ValidationError (Chinese) for anything not a safe raster image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=list(FORMATS))
            width, height = img.size
            if width < 1 or height < 1:
                raise ValidationError("图片尺寸无效。", field="file")
            if width > MAX_IMAGE_SIDE or height > MAX_IMAGE_SIDE or width * height > MAX_IMAGE_PIXELS:
                raise ValidationError(
                    f"图片尺寸过大（{width}×{height}）：宽高均不超过 {MAX_IMAGE_SIDE} 像素，"
                    f"总像素不超过 {MAX_IMAGE_PIXELS // 10_000} 万。", field="file")
            if getattr(img, "is_animated", False):
                raise ValidationError("不支持动态图片，请上传静态图片。", field="file")
            img.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ValidationError("图片像素数量过大，疑似解压炸弹，已拒绝。", field="file") from None
    except UnidentifiedImageError:
        if _looks_like_svg(data, filename):
            raise ValidationError("不接受 SVG 矢量图（可能包含脚本），请导出为 PNG 后上传。", field="file") from None
        raise ValidationError(f"无法识别的图片格式：只接受 {_ACCEPTED_TEXT} 图片。", field="file") from None
    except Exception:  # noqa: BLE001 - Pillow raises OSError, SyntaxError, ValueError... for bad data
        raise ValidationError("图片文件已损坏或不完整，无法解码。", field="file") from None
    if img.format not in FORMATS:
        raise ValidationError(f"只接受 {_ACCEPTED_TEXT} 图片。", field="file")
    return img


def _reencode(img: Image.Image) -> tuple[bytes, str, int, int]:
    """Clean bytes of ``img`` in its own format, without metadata; (bytes, mime, width, height)."""
    fmt = img.format or ""
    out = ImageOps.exif_transpose(img)  # a new image with the orientation applied
    if out is None:  # pragma: no cover - only with in_place=True
        out = img
    transparency = out.info.get("transparency")
    out.info = {}
    params: dict[str, object] = {}
    if fmt == "JPEG":
        if out.mode not in ("RGB", "L"):
            out = out.convert("RGB")
        params = {"quality": JPEG_QUALITY, "optimize": True}
    elif fmt == "PNG":
        if out.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
            out = out.convert("RGBA")
        if transparency is not None:
            params["transparency"] = transparency
    elif fmt == "GIF":
        if out.mode not in ("P", "L"):
            out = out.convert("P")
        if transparency is not None:
            params["transparency"] = transparency
    elif fmt == "WEBP":
        if out.mode not in ("RGB", "RGBA"):
            out = out.convert("RGBA" if "A" in out.mode or transparency is not None else "RGB")
        params = {"quality": JPEG_QUALITY}
    buffer = io.BytesIO()
    out.save(buffer, format=fmt, **params)
    mime = FORMATS[fmt][0]
    return buffer.getvalue(), mime, out.width, out.height


def store_image(session: Session, actor: User, data: bytes, filename: str) -> ItemImage:
    """Check, clean and store an uploaded image; the existing row if the same image exists."""
    require_role(actor, *UPLOADERS)
    filename = (filename or "").strip()[:255]
    if not data:
        raise ValidationError("请选择要上传的图片。", field="file")
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationError(f"图片过大：最大 {MAX_IMAGE_BYTES // (1024 * 1024)} MB，请压缩后上传。", field="file")
    img = _open(data, filename)
    try:
        stored, mime, width, height = _reencode(img)
    except Exception:  # noqa: BLE001 - an encoder refusing an exotic mode
        raise ValidationError("图片无法转换保存，请另存为普通 PNG 或 JPEG 后上传。", field="file") from None
    if len(stored) > MAX_STORED_BYTES:
        raise ValidationError("图片处理后仍然过大，请压缩或缩小尺寸后上传。", field="file")
    digest = hashlib.sha256(stored).hexdigest()
    existing = session.scalar(select(ItemImage).where(ItemImage.sha256 == digest))
    if existing is not None:
        return existing
    image = ItemImage(sha256=digest, mime=mime, width=width, height=height, size=len(stored), data=stored,
                      uploaded_by_id=actor.id)
    session.add(image)
    session.flush()
    audit.record(session, actor, "item_image.upload", "item_image", image.id, after={
        "filename": filename, "sha256": digest, "mime": mime, "width": width, "height": height,
        "size": len(stored), "uploaded_size": len(data),
    })
    return image
