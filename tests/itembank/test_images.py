"""Item images: only real raster images are stored, cleaned of metadata, deduplicated, audited."""

from __future__ import annotations

import io

import pytest
from PIL import Image, PngImagePlugin

from foundation.audit import AuditEntry
from foundation.errors import PermissionDenied, ValidationError
from foundation.roles import Role
from itembank import images
from itembank.images import image_url, store_image
from itembank.models import ItemImage
from tests.factories import make_user


def png_bytes(size: tuple[int, int] = (40, 30), color: tuple[int, ...] = (200, 30, 30), mode: str = "RGB",
              **save: object) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size, color).save(buf, format="PNG", **save)
    return buf.getvalue()


def encoded(fmt: str, size: tuple[int, int] = (32, 24), **save: object) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(buf, format=fmt, **save)
    return buf.getvalue()


SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script><rect width="10" height="10"/></svg>')


@pytest.fixture
def writer(session):
    return make_user(session, Role.QUESTION_WRITER)


def test_png_is_stored_with_its_size_and_audited(session, writer):
    img = store_image(session, writer, png_bytes((40, 30)), "电路图.png")
    assert (img.mime, img.width, img.height) == ("image/png", 40, 30)
    assert img.size == len(img.data) and len(img.sha256) == 64
    assert image_url(img) == f"/itembank/images/{img.id}.png"
    with Image.open(io.BytesIO(img.data)) as check:
        assert check.format == "PNG" and check.size == (40, 30)
    entry = session.query(AuditEntry).filter_by(action="item_image.upload", target_id=str(img.id)).one()
    assert entry.after["filename"] == "电路图.png" and entry.after["mime"] == "image/png"


def test_reviewer_may_upload_other_roles_may_not(session):
    reviewer = make_user(session, Role.ITEM_REVIEWER)
    assert store_image(session, reviewer, png_bytes(), "a.png").id
    for role in (Role.CENTRE_ADMIN, Role.PROCTOR, Role.CANDIDATE):
        with pytest.raises(PermissionDenied):
            store_image(session, make_user(session, role), png_bytes(color=(1, 2, 3)), "a.png")


def test_same_image_twice_is_stored_once(session, writer):
    first = store_image(session, writer, png_bytes(), "a.png")
    second = store_image(session, make_user(session, Role.ITEM_REVIEWER), png_bytes(), "b.png")
    assert first.id == second.id
    assert session.query(ItemImage).count() == 1
    assert session.query(AuditEntry).filter_by(action="item_image.upload").count() == 1


@pytest.mark.parametrize(("fmt", "mime", "ext"), [
    ("JPEG", "image/jpeg", "jpg"), ("GIF", "image/gif", "gif"), ("WEBP", "image/webp", "webp"),
])
def test_other_raster_formats_keep_their_format(session, writer, fmt, mime, ext):
    img = store_image(session, writer, encoded(fmt), f"x.{ext}")
    assert img.mime == mime and image_url(img).endswith(f".{ext}")
    with Image.open(io.BytesIO(img.data)) as check:
        assert check.format == fmt


@pytest.mark.parametrize(("data", "filename", "message"), [
    (b"just some text, not a picture\n" * 10, "photo.png", "无法识别的图片格式"),
    (b"<html><script>alert(1)</script></html>", "x.png", "SVG"),
    (SVG, "diagram.svg", "SVG"),
    (SVG, "diagram.png", "SVG"),
    (b"%PDF-1.4\n1 0 obj\n", "a.jpg", "无法识别的图片格式"),
    (b"", "a.png", "请选择"),
])
def test_non_images_are_refused(session, writer, data, filename, message):
    with pytest.raises(ValidationError, match=message):
        store_image(session, writer, data, filename)
    assert session.query(ItemImage).count() == 0


def test_oversized_upload_is_refused_before_decoding(session, writer):
    data = png_bytes() + b"\0" * images.MAX_IMAGE_BYTES
    with pytest.raises(ValidationError, match="图片过大"):
        store_image(session, writer, data, "big.png")


def test_truncated_image_is_refused(session, writer):
    data = encoded("JPEG", (200, 200))
    with pytest.raises(ValidationError, match="损坏"):
        store_image(session, writer, data[: len(data) // 2], "half.jpg")


def test_too_many_pixels_is_refused_before_decoding(session, writer):
    # 6000 × 6000 one-bit pixels compress to a few kB but would decode to 36 million pixels.
    data = png_bytes((6000, 6000), color=0, mode="1")
    assert len(data) < images.MAX_IMAGE_BYTES
    with pytest.raises(ValidationError, match="尺寸过大"):
        store_image(session, writer, data, "bomb.png")


@pytest.mark.parametrize("side", [12, 20])  # above Pillow's limit (warning) and twice it (error)
def test_pillow_decompression_bomb_check_is_a_refusal(session, writer, monkeypatch, side):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)
    with pytest.raises(ValidationError, match="解压炸弹"):
        store_image(session, writer, png_bytes((side, side)), "bomb.png")


def test_animated_gif_is_refused(session, writer):
    frames = [Image.new("RGB", (10, 10), (i * 80, 0, 0)) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(ValidationError, match="动态"):
        store_image(session, writer, buf.getvalue(), "anim.gif")


def test_metadata_is_stripped_and_orientation_applied(session, writer):
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    data = encoded("JPEG", (40, 20), exif=exif.tobytes())
    img = store_image(session, writer, data, "photo.jpg")
    assert b"SecretCam" in data and b"SecretCam" not in img.data
    assert (img.width, img.height) == (20, 40)
    with Image.open(io.BytesIO(img.data)) as check:
        assert not check.getexif()


def test_png_text_chunks_and_trailing_payload_are_dropped(session, writer):
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "author home address")
    data = png_bytes(pnginfo=info) + b"<script>alert(1)</script>"
    img = store_image(session, writer, data, "a.png")
    assert b"home address" not in img.data and b"<script>" not in img.data
    assert img.data.endswith(b"IEND\xaeB`\x82")


def test_transparency_survives(session, writer):
    img = store_image(session, writer, png_bytes(mode="RGBA", color=(255, 0, 0, 0)), "t.png")
    with Image.open(io.BytesIO(img.data)) as check:
        assert check.mode == "RGBA" and check.getpixel((0, 0))[3] == 0
