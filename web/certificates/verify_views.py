"""Public verification (证书查询), no login: ``/verify`` by number plus name or ID number (a GET
form, so ``/verify?number=…&name=…`` is a link), or by a QR statement (``/verify?s=…``); the
centre's public key at ``/verify/key`` (page) and ``/verify/key.pem``. Rate-limited per address
(``VERIFY_RATE_LIMIT``). Answers never show a photo or a full ID number, and a wrong name looks
exactly like an unknown number."""

from __future__ import annotations

from flask import current_app, render_template, request
from werkzeug.wrappers import Response

from grading.certificates.signing import key_id, public_pem
from grading.certificates.verification import check_statement, lookup
from web.access import public
from web.certificates import signing_key, verify_bp
from web.downloads import download
from web.extensions import db, limiter

MAX_FIELD = 64


def _limit() -> str:
    return str(current_app.config["VERIFY_RATE_LIMIT"])


@verify_bp.get("", strict_slashes=False)
@public
@limiter.limit(_limit)
def verify() -> str:
    args = request.args
    number = args.get("number", "").strip()[:MAX_FIELD]
    name = args.get("name", "").strip()[:MAX_FIELD]
    id_number = args.get("id_number", "").strip()[:MAX_FIELD]
    token = args.get("s", "").strip()
    context: dict[str, object] = {"number": number, "name": name, "id_number": id_number}
    if token:
        context["check"] = check_statement(db.session, token, signing_key().public_key())
    elif number or name or id_number:
        if not number or not (name or id_number):
            context["error"] = "请填写证书编号，以及持证人姓名或证件号码（二选一）。"
        else:
            context["searched"] = True
            context["answer"] = lookup(db.session, number, name=name, id_number=id_number)
    return render_template("certificates/verify.html", **context)


@verify_bp.get("/key")
@public
def key() -> str:
    k = signing_key()
    return render_template("certificates/key.html", pem=public_pem(k), key_id=key_id(k))


@verify_bp.get("/key.pem")
@public
def key_pem() -> Response:
    return download(public_pem(signing_key()).encode(), "centre-certificate-public-key.pem",
                    "application/x-pem-file")
