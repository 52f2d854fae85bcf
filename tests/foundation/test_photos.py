"""Candidate photos (issue 14 point 1): type by content, size and pixel dimensions checked as a
class, the stored file always a clean JPEG outside the web root, who may set a photo, and the
zip import row by row."""

from __future__ import annotations

import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import func, select

from foundation import photos
from foundation.audit import AuditEntry
from foundation.errors import PermissionDenied, ValidationError
from foundation.photos import PhotoStore, check_photo, import_photo_zip, set_photo
from foundation.roles import Role
from tests.factories import make_institution, make_user
from tests.grading.certificate_worlds import jpeg, png


def encode(img: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def test_a_1_inch_jpeg_or_png_is_accepted_and_stored_as_a_clean_jpeg():
    for data in (jpeg(), png(), png(mode="RGB"), jpeg(260, 360), jpeg(1200, 1680)):
        photo = check_photo(data)
        assert photo.data[:3] == b"\xff\xd8\xff"  # always JPEG
        out = Image.open(io.BytesIO(photo.data))
        assert out.format == "JPEG" and out.mode == "RGB" and out.size == (photo.width, photo.height)


def test_metadata_is_dropped_and_transparency_flattened_on_white():
    img = Image.new("RGB", (295, 413), (200, 0, 0))
    exif = Image.Exif()
    exif[0x010E] = "secret description"  # ImageDescription
    exif[0x8825] = {1: "N"}  # GPS
    photo = check_photo(encode(img, "JPEG", exif=exif.tobytes(), comment=b"hidden"))
    assert b"secret description" not in photo.data and b"hidden" not in photo.data
    clear = check_photo(encode(Image.new("RGBA", (295, 413), (0, 0, 0, 0)), "PNG"))
    assert Image.open(io.BytesIO(clear.data)).getpixel((10, 10)) == (255, 255, 255)


def test_the_exif_orientation_is_applied_before_the_dimensions_are_checked():
    landscape = Image.new("RGB", (413, 295), (1, 2, 3))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° on display: the person is upright in portrait
    photo = check_photo(encode(landscape, "JPEG", exif=exif.tobytes()))
    assert (photo.width, photo.height) == (295, 413)


@pytest.mark.parametrize("data, message", [
    (b"", "请选择"),
    (b"GIF89a" + b"\x00" * 100, "JPEG 或 PNG"),
    (encode(Image.new("RGB", (295, 413)), "GIF"), "JPEG 或 PNG"),
    (encode(Image.new("RGB", (295, 413)), "BMP"), "JPEG 或 PNG"),
    (encode(Image.new("RGB", (295, 413)), "WEBP"), "JPEG 或 PNG"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "JPEG 或 PNG"),
    ("照片".encode() * 100, "JPEG 或 PNG"),
    (jpeg()[:400], "损坏"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "JPEG 或 PNG"),
])
def test_anything_but_a_whole_jpeg_or_png_is_refused_whatever_its_name(data, message):
    with pytest.raises(ValidationError, match=message):
        check_photo(data)


def test_an_animated_png_is_refused():
    frames = [Image.new("RGB", (295, 413), c) for c in ((1, 1, 1), (200, 200, 200))]
    out = io.BytesIO()
    frames[0].save(out, format="PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(ValidationError, match="动态"):
        check_photo(out.getvalue())


def test_a_file_over_the_size_limit_is_refused_before_decoding():
    with pytest.raises(ValidationError, match="过大"):
        check_photo(jpeg() + b"\x00" * photos.MAX_PHOTO_BYTES)


def test_a_huge_header_is_refused_before_decoding():
    # 40000 × 40000 declared: refused from the header, no pixels decoded (a bomb would be 4.8 GB).
    header = encode(Image.new("L", (1, 1)), "PNG")
    ihdr = header.index(b"IHDR")
    import struct
    import zlib

    body = b"IHDR" + struct.pack(">II", 40000, 40000) + header[ihdr + 12:ihdr + 17]
    bomb = header[:ihdr - 4] + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body)) + header[ihdr + 21:]
    with pytest.raises(ValidationError, match="过大"):
        check_photo(bomb)


def _accepted(width: int, height: int) -> bool:
    return (photos.MIN_WIDTH <= width <= photos.MAX_WIDTH and photos.MIN_HEIGHT <= height <= photos.MAX_HEIGHT
            and photos.MIN_RATIO <= height / width <= photos.MAX_RATIO)


@given(width=st.integers(min_value=1, max_value=1600), height=st.integers(min_value=1, max_value=2000),
       fmt=st.sampled_from(["JPEG", "PNG"]))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_pixel_dimensions_are_accepted_exactly_within_the_rules(width, height, fmt):
    data = encode(Image.new("RGB", (width, height), (90, 90, 90)), fmt)
    if _accepted(width, height):
        assert (check_photo(data).width, check_photo(data).height) == (width, height)
    else:
        with pytest.raises(ValidationError):
            check_photo(data)


@given(extra=st.binary(min_size=1, max_size=64), cut=st.integers(min_value=1, max_value=2000))
@settings(max_examples=40, deadline=None)
def test_truncated_or_garbled_files_are_refused_never_crash(extra, cut):
    good = jpeg()
    for data in (good[:cut], extra + good[len(extra):], good[:cut] + extra):
        try:
            photo = check_photo(data)
        except ValidationError:
            continue
        assert photo.data[:2] == b"\xff\xd8"  # whatever passed is a clean JPEG


# ------------------------------------------------------------------------------ storing


def test_set_photo_stores_the_file_and_points_the_person_at_it(session, tmp_path):
    cand = make_user(session, Role.CANDIDATE)
    store = PhotoStore(tmp_path / "photos")
    set_photo(session, cand, store, cand.person, jpeg())
    first = cand.person.photo_sha256
    assert store.path(first).read_bytes()[:2] == b"\xff\xd8"
    assert photos.photo_of(store, cand.person) == store.path(first).read_bytes()
    set_photo(session, cand, store, cand.person, png())
    assert cand.person.photo_sha256 != first and cand.person.photo_updated_at is not None
    entry = session.scalar(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1))
    assert entry.action == "person.photo" and first[:12] in entry.before_json


def test_who_may_set_a_photo(session, tmp_path):
    store = PhotoStore(tmp_path)
    cand = make_user(session, Role.CANDIDATE)
    own_admin = make_user(session, Role.INSTITUTION_ADMIN, institution=cand.institution)
    set_photo(session, own_admin, store, cand.person, jpeg())
    outsiders = (make_user(session, Role.CANDIDATE), make_user(session, Role.INSTITUTION_ADMIN),
                 make_user(session, Role.CENTRE_ADMIN), make_user(session, Role.PROCTOR, institution=cand.institution))
    for outsider in outsiders:
        with pytest.raises(PermissionDenied):
            set_photo(session, outsider, store, cand.person, jpeg())


def test_a_bad_photo_changes_nothing(session, tmp_path):
    cand = make_user(session, Role.CANDIDATE)
    store = PhotoStore(tmp_path)
    with pytest.raises(ValidationError):
        set_photo(session, cand, store, cand.person, jpeg(100, 100))
    assert cand.person.photo_sha256 is None and not any(tmp_path.iterdir())


def test_a_missing_file_reads_as_no_photo(session, tmp_path):
    cand = make_user(session, Role.CANDIDATE)
    store = PhotoStore(tmp_path)
    set_photo(session, cand, store, cand.person, jpeg())
    store.path(cand.person.photo_sha256).unlink()
    assert photos.photo_of(store, cand.person) is None


# ------------------------------------------------------------------------------ the zip import


def zip_of(files: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return out.getvalue()


def test_a_zip_is_imported_row_by_row(session, tmp_path):
    inst = make_institution(session)
    admin = make_user(session, Role.INSTITUTION_ADMIN, institution=inst)
    a, b, c = (make_user(session, Role.CANDIDATE, institution=inst) for _ in range(3))
    stranger = make_user(session, Role.CANDIDATE)
    store = PhotoStore(tmp_path)
    before = session.scalar(select(func.count()).select_from(AuditEntry))
    rows = import_photo_zip(session, admin, store, zip_of({
        f"照片/{a.id_number}.jpg": jpeg(),
        f"{b.id_number.lower()}.PNG": png(),  # case and extension do not matter
        f"{c.id_number}.jpg": b"not a picture",
        f"{stranger.id_number}.jpg": jpeg(),
        f"照片/{a.id_number}.png": png(),
        "说明.txt": b"hello",
        "__MACOSX/._x.jpg": b"junk",
    }))
    assert [(r.ok, r.name) for r in rows] == [(True, a.name), (True, b.name), (False, c.name), (False, ""),
                                              (False, a.name), (False, "")]
    assert "JPEG 或 PNG" in rows[2].message and "本机构没有" in rows[3].message and "同一考生" in rows[4].message
    assert a.person.photo_sha256 and b.person.photo_sha256
    assert c.person.photo_sha256 is None and stranger.person.photo_sha256 is None
    assert session.scalar(select(func.count()).select_from(AuditEntry)) == before + 1


@pytest.mark.parametrize("data, message", [(b"PK\x03\x04broken", "无法读取"), (zip_of({}), "没有照片"),
                                           (b"plain text", "无法读取")])
def test_an_unreadable_or_empty_archive_is_refused_whole(session, tmp_path, data, message):
    admin = make_user(session, Role.INSTITUTION_ADMIN)
    with pytest.raises(ValidationError, match=message):
        import_photo_zip(session, admin, PhotoStore(tmp_path), data)


def test_only_an_institution_admin_imports(session, tmp_path):
    with pytest.raises(PermissionDenied):
        import_photo_zip(session, make_user(session, Role.CENTRE_ADMIN), PhotoStore(tmp_path), zip_of({"a.jpg": b""}))
