"""Photo pages: nothing but the person, their institution's admin, the proctors of a room they
sit in and the centre can fetch a photo; the candidate and the admin upload; the zip import's
report; the photo on the admission ticket, the exam page and the proctor's seat detail."""

from __future__ import annotations

import io
import zipfile

import pypdf
import pytest

from examroom.console import room_seats
from foundation.photos import PhotoStore, set_photo
from foundation.roles import Role
from tests.examroom.worlds import Exam
from tests.factories import make_user
from tests.grading.certificate_worlds import jpeg, png
from tests.web.socket_clients import supervisor_of


@pytest.fixture
def store(app):
    return PhotoStore(app.config["PHOTO_DIR"])


@pytest.fixture
def exam(session, store):
    exam = Exam(session)
    for cand in exam.candidates:
        set_photo(session, cand, store, cand.person, jpeg(colour=(cand.id % 255, 100, 100)))
    return exam


def photo_url(person_id: int) -> str:
    return f"/people/{person_id}/photo.jpg"


def test_only_the_person_their_admin_their_proctors_and_the_centre_fetch_a_photo(session, client, login, exam, store):
    cand = exam.candidates[0]
    url = photo_url(cand.person_id)
    expected = store.path(cand.person.photo_sha256).read_bytes()
    allowed = [cand, exam.world.admin, exam.proctor1, exam.world.centre]
    other = Exam(session)
    refused = [exam.candidates[1], exam.proctor2, supervisor_of(session, exam), other.world.admin, other.proctor1,
               other.candidates[0], make_user(session, Role.EXAMINER, institution=exam.world.inst),
               make_user(session, Role.QUESTION_WRITER, institution=exam.world.inst),
               make_user(session, Role.ITEM_REVIEWER)]
    for user in allowed:
        resp = login(user).get(url)
        assert resp.status_code == 200 and resp.data == expected, user.role
        assert resp.mimetype == "image/jpeg" and "no-store" in resp.headers["Cache-Control"]
        assert "sandbox" in resp.headers["Content-Security-Policy"]
    for user in refused:
        assert login(user).get(url).status_code == 404, user.role  # not even acknowledged to exist
    client.post("/logout")
    resp = client.get(url)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_the_photo_store_is_outside_the_web_root(app, client, exam, store):
    path = store.path(exam.candidates[0].person.photo_sha256)
    static = app.static_folder
    assert not str(path).startswith(str(static)) and not str(path).startswith(app.root_path)
    for guess in (f"/static/{path.name}", f"/photos/{path.name}", f"/instance/photos/{path.name}"):
        assert client.get(guess).status_code == 404


def test_the_candidate_uploads_their_own_photo(session, client, login, store):
    cand = make_user(session, Role.CANDIDATE)
    http = login(cand)
    assert "尚未上传照片" in http.get("/me/photo").get_data(as_text=True)
    bad = http.post("/me/photo", data={"photo": (io.BytesIO(b"GIF89a...."), "me.jpg")},
                    content_type="multipart/form-data")
    assert bad.status_code == 400 and "JPEG 或 PNG" in bad.get_data(as_text=True)
    assert cand.person.photo_sha256 is None
    ok = http.post("/me/photo", data={"photo": (io.BytesIO(png()), "me.gif")}, content_type="multipart/form-data")
    assert ok.status_code == 302
    session.refresh(cand.person)
    assert http.get(photo_url(cand.person_id)).data[:2] == b"\xff\xd8"


def test_the_institution_admin_uploads_for_their_candidate_only(session, client, login, store):
    cand = make_user(session, Role.CANDIDATE)
    admin = make_user(session, Role.INSTITUTION_ADMIN, institution=cand.institution)
    http = login(admin)
    page = http.get(f"/users/{cand.id}").get_data(as_text=True)
    assert f"/people/{cand.person_id}/photo?user={cand.id}" in page
    resp = http.post(f"/people/{cand.person_id}/photo?user={cand.id}", data={"photo": (io.BytesIO(jpeg()), "x.jpg")},
                     content_type="multipart/form-data")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/users/{cand.id}")
    session.refresh(cand.person)
    assert cand.person.photo_sha256
    stranger = make_user(session, Role.CANDIDATE)
    resp = http.post(f"/people/{stranger.person_id}/photo", data={"photo": (io.BytesIO(jpeg()), "x.jpg")},
                     content_type="multipart/form-data")
    assert resp.status_code == 404
    session.refresh(stranger.person)
    assert stranger.person.photo_sha256 is None


def test_the_zip_import_runs_as_a_job_and_reports_every_file(session, client, login):
    admin = make_user(session, Role.INSTITUTION_ADMIN)
    a, b = (make_user(session, Role.CANDIDATE, institution=admin.institution) for _ in range(2))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(f"{a.id_number}.jpg", jpeg())
        z.writestr(f"{b.id_number}.jpg", jpeg(100, 100))
    http = login(admin)
    resp = http.post("/photos/import", data={"file": (io.BytesIO(out.getvalue()), "photos.zip")},
                     content_type="multipart/form-data")
    assert resp.status_code == 302 and "/jobs/" in resp.headers["Location"]
    page = http.get(resp.headers["Location"]).get_data(as_text=True)
    assert "导入 1 张，未导入 1 张" in page and "已导入" in page and "照片尺寸为 100×100" in page
    session.refresh(a.person)
    session.refresh(b.person)
    assert a.person.photo_sha256 and b.person.photo_sha256 is None
    refused = http.post("/photos/import", data={"file": (io.BytesIO(b"not a zip"), "photos.zip")},
                        content_type="multipart/form-data")
    assert refused.status_code == 400 and "ZIP" in refused.get_data(as_text=True)


def _images(pdf: bytes) -> int:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return sum(len(page.images) for page in reader.pages)


def test_the_admission_ticket_shows_the_photo(session, client, login, exam):
    cand = exam.candidates[0]
    url = f"/batches/{exam.batch.id}/sessions/{exam.sitting.id}/tickets/{cand.id}.pdf"
    with_photo = login(exam.world.admin).get(url)
    assert with_photo.status_code == 200 and _images(with_photo.data) == 1
    cand.person.photo_sha256 = None
    session.flush()
    assert _images(login(exam.world.admin).get(url).data) == 0


def test_the_exam_page_and_the_seat_detail_show_the_photo(session, client, login, exam):
    cand = exam.candidates[0]
    attempt = exam.attempt(0)
    page = login(cand).get(f"/exam/{attempt.id}").get_data(as_text=True)
    assert photo_url(cand.person_id) in page
    seats = room_seats(session, exam.room1)
    assert {s["person_id"] for s in seats} == {c.person_id for c in exam.candidates}
    console = login(exam.proctor1).get(f"/proctor/rooms/{exam.room1.id}").get_data(as_text=True)
    assert "data-panel-photo" in console
