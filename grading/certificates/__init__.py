"""Certificates (职业技能等级证书): numbering, issuance, corrections, revocation, the signed
statement carried by the QR code and public verification. Never imports Flask.

Modules, each importing only those before it:

* :mod:`.models` — ``certificate_counter``, ``certificate``, ``certificate_version``,
  ``certificate_revocation``;
* :mod:`.numbers` — the 22-character number and the atomic per (institution, year) serial;
* :mod:`.eligibility` — ``issuance_problems(session, registration)``: the one precondition of
  issuance, including the confirmed decision, the publicity and the centre's approval
  (:mod:`grading.publicity`);
* :mod:`.signing` — the centre's Ed25519 key pair and signed statements (``verify_statement``
  is also a command: ``python -m grading.certificates.verify_statement``);
* :mod:`.issuance` — issue in batches, correct (same number, new version), revoke (institution
  requests, centre approves);
* :mod:`.verification` — the public answer for a number plus a name or an ID number, and for a
  statement;
* :mod:`.register` — 证书发放登记表 (Excel).

See ``docs/certificates.md``.
"""
