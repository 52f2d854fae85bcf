"""Publicity (公示), objections (异议), the submission to the centre and its review (issue 14
points 2–4). Models in :mod:`.models`, services in :mod:`.services`, the submission workbook in
:mod:`.workbook`, the chain check that issuance asks in :mod:`.chain`. See ``docs/publicity.md``."""
