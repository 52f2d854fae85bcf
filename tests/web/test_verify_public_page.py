"""The public /verify page makes nothing per visitor beyond its answer: no CSRF token and so no
session cookie (nothing on it posts), while staff pages keep the token their scripts read."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from grading.certificates import issuance
from tests.grading.certificate_worlds import CertWorld


def test_verify_sets_no_session_cookie_and_carries_no_csrf_token(session, client):
    world = CertWorld(session, n=1, level=3)
    [cert] = issuance.issue_certificates(session, world.admin, world.batch.id, None, today=dt.date(2026, 12, 1))
    for query in ("", "?" + urlencode({"number": cert.number, "name": cert.current.name})):
        resp = client.get("/verify" + query)
        page = resp.get_data(as_text=True)
        assert resp.status_code == 200 and "Set-Cookie" not in resp.headers, query
        assert 'name="csrf-token"' not in page
    assert "查询结果" in page and cert.number in page


def test_other_pages_keep_the_csrf_meta_tag(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'name="csrf-token"' in page
