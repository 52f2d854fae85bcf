"""Institution and centre pages of certificates, and the candidate's 我的证书."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response

from examroom.models import Batch, BatchStatus
from foundation.accounts import User
from foundation.db import immediate_transactions
from foundation.people import ID_TYPE_LABELS
from foundation.roles import Role
from grading.certificates import issuance
from grading.certificates.models import Certificate, CertificateRevocation
from grading.certificates.register import register_xlsx
from grading.certificates.signing import sign_statement, statement_fields
from web.access import actor, roles_required
from web.actions import found, perform
from web.certificates import bp, lookup_lines, signing_key, verify_link
from web.certificates.pdf import certificate_pdf
from web.downloads import download
from web.extensions import db
from web.params import form_int
from web.photos import photo_path_of

C, IA, CA = Role.CENTRE_ADMIN, Role.INSTITUTION_ADMIN, Role.CANDIDATE


class PostForm(FlaskForm):
    """CSRF only; the fields are read from ``request.form``."""


def _pdf_response(cert: Certificate) -> Response:
    version = cert.current
    token = sign_statement(signing_key(), statement_fields(cert.number, version))
    data = certificate_pdf(cert, photo=photo_path_of(cert.person_id),
                           qr_payload=verify_link(token), lookup=lookup_lines())
    return download(data, f"职业技能等级证书-{cert.number}.pdf", "application/pdf")


@bp.get("/")
@roles_required(C, IA)
def index() -> str:
    me = actor()
    q = request.args.get("q", "").strip()[:64]
    page = db.paginate(issuance.certificates_query(me, q), per_page=current_app.config["PAGE_SIZE"],
                       error_out=False)
    batches = select(Batch).where(Batch.status == BatchStatus.ACKNOWLEDGED.value).order_by(Batch.id.desc())
    if me.role != C:
        batches = batches.where(Batch.institution_id == me.institution_id)
    pending = issuance.pending_revocations(db.session, me) if me.role == C else []
    return render_template("certificates/index.html", page=page, q=q,
                           batches=db.session.scalars(batches.limit(50)).all(), pending=pending)


@bp.get("/batches/<int:batch_id>")
@roles_required(C, IA)
def batch(batch_id: int) -> str:
    the_batch = found(lambda: issuance.get_batch(db.session, actor(), batch_id))
    rows = found(lambda: issuance.issuance_list(db.session, actor(), batch_id))
    return render_template("certificates/batch.html", batch=the_batch, rows=rows, form=PostForm(),
                           eligible=sum(r.eligible for r in rows))


@bp.post("/batches/<int:batch_id>/issue")
@roles_required(IA)
def issue(batch_id: int) -> Response:
    form = PostForm()
    if not form.validate_on_submit():
        abort(400)
    found(lambda: issuance.get_batch(db.session, actor(), batch_id))  # another institution's: 404 before anything
    chosen: list[int] | None = None
    if request.form.get("all") != "1":
        chosen = [form_int(value) for value in request.form.getlist("registration")]  # type: ignore[misc]
        if not chosen or None in chosen:
            flash("请选择要发证的人员。", "danger")
            return redirect(url_for("certificates.batch", batch_id=batch_id))
    me_id = actor().id
    # The serial counter is taken with the write lock held from the transaction's start
    # (SQLite would refuse a transaction that read first); end the request's read first.
    db.session.commit()

    def issue_all() -> list[str]:
        with immediate_transactions(db.session):  # the transaction begins here; perform commits it
            return [c.number for c in issuance.issue_certificates(db.session, db.session.get_one(User, me_id),
                                                                   batch_id, chosen)]

    numbers = perform(issue_all, back=url_for("certificates.batch", batch_id=batch_id))
    flash(f"已颁发 {len(numbers)} 本证书：{numbers[0]}" + (f" 至 {numbers[-1]}。" if len(numbers) > 1 else "。"),
          "success")
    return redirect(url_for("certificates.batch", batch_id=batch_id))


@bp.get("/batches/<int:batch_id>/register.xlsx")
@roles_required(C, IA)
def register(batch_id: int) -> Response:
    the_batch = found(lambda: issuance.get_batch(db.session, actor(), batch_id))
    certs = db.session.scalars(select(Certificate).where(Certificate.batch_id == batch_id)).all()
    return download(register_xlsx(the_batch, certs), f"证书发放登记表-{the_batch.name}.xlsx",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _certificate(certificate_id: int) -> Certificate:
    cert = found(lambda: issuance.get_certificate(db.session, actor(), certificate_id))
    if actor().role == CA:
        abort(404)  # candidates use 我的证书
    return cert


@bp.get("/<int:certificate_id>")
@roles_required(C, IA)
def detail(certificate_id: int) -> str:
    cert = _certificate(certificate_id)
    revocations = db.session.scalars(select(CertificateRevocation).where(
        CertificateRevocation.certificate_id == cert.id).order_by(CertificateRevocation.id)).all()
    return render_template("certificates/detail.html", cert=cert, form=PostForm(), revocations=revocations,
                           pending=issuance.pending_revocation(db.session, cert.id), id_types=ID_TYPE_LABELS)


@bp.get("/<int:certificate_id>.pdf")
@roles_required(C, IA)
def pdf(certificate_id: int) -> Response:
    return _pdf_response(_certificate(certificate_id))


@bp.post("/<int:certificate_id>/correct")
@roles_required(IA)
def correct(certificate_id: int) -> Response:
    if not PostForm().validate_on_submit():
        abort(400)
    back = url_for("certificates.detail", certificate_id=certificate_id)
    perform(lambda: issuance.correct_certificate(db.session, actor(), certificate_id, name=request.form.get("name", ""),
                                                 id_type=request.form.get("id_type", ""),
                                                 id_number=request.form.get("id_number", ""),
                                                 reason=request.form.get("reason", "")), back=back)
    flash("证书已更正：证书编号不变，已生成新版本，原版本作废。", "success")
    return redirect(back)


@bp.post("/<int:certificate_id>/revoke")
@roles_required(IA)
def request_revocation(certificate_id: int) -> Response:
    if not PostForm().validate_on_submit():
        abort(400)
    back = url_for("certificates.detail", certificate_id=certificate_id)
    perform(lambda: issuance.request_revocation(db.session, actor(), certificate_id, request.form.get("reason", "")),
            back=back)
    flash("注销申请已提交省中心审核；审核通过前证书仍然有效。", "success")
    return redirect(back)


@bp.post("/revocations/<int:request_id>")
@roles_required(C)
def decide_revocation(request_id: int) -> Response:
    if not PostForm().validate_on_submit():
        abort(400)
    approve = request.form.get("decision") == "approve"
    req = perform(lambda: issuance.decide_revocation(db.session, actor(), request_id, approve=approve,
                                                     note=request.form.get("note", "")),
                  back=url_for("certificates.index"))
    flash(f"证书 {req.certificate.number} " + ("已注销。" if approve else "的注销申请未获批准。"), "success")
    return redirect(url_for("certificates.index"))


@bp.get("/mine")
@roles_required(CA)
def mine() -> str:
    return render_template("certificates/mine.html", certificates=issuance.own_certificates(db.session, actor()))


@bp.get("/mine/<int:certificate_id>.pdf")
@roles_required(CA)
def my_pdf(certificate_id: int) -> Response:
    cert = db.session.get(Certificate, certificate_id)
    me = actor()
    if cert is None or me.person_id is None or cert.person_id != me.person_id:
        abort(404)  # only their own; another's is not acknowledged to exist
    return _pdf_response(cert)
