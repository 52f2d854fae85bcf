"""Examiner avoidance (考评员回避): an examiner never scores a candidate of their own employer.

What "employer" means, with the data the platform holds:

* an **examiner's employer** is the institution their account belongs to (every examiner
  account belongs to one institution; its filed name, ``Institution.name``);
* a **candidate's employer** is the work unit (工作单位) on their registration
  (``BatchCandidate.work_unit``, as listed for that batch); a registration without one
  conflicts with nobody.

They are the same employer when the two names are equal after normalisation (full-width to
ASCII by NFKC, all white space removed, case folded), or when the work unit starts with the
institution's name (a branch or subsidiary named under it, e.g. 「某集团有限公司长春分公司」 under
「某集团有限公司」).

Since a batch's examiners are drawn from the batch's own institution, this refuses the
evaluating institution's own staff as candidates of its own examiner groups: they must be
evaluated elsewhere (or by a group of examiners of another employer once examiners may come
from outside). Checked when an examiner joins a skill sitting's group, when candidates are
listed for a sitting or given stations, when the plan is filed, and again when a score sheet
is opened; each refuses with the pair named and changes nothing.
"""

from __future__ import annotations

import unicodedata

from examroom.models import BatchCandidate
from foundation.accounts import User


def normalise(name: str | None) -> str:
    text = unicodedata.normalize("NFKC", name or "")
    return "".join(text.split()).casefold()


def employer_of(examiner: User) -> str:
    """The examiner's employer as compared (their institution's name, normalised)."""
    return normalise(examiner.institution.name if examiner.institution is not None else "")


def same_employer(examiner: User, registration: BatchCandidate) -> bool:
    """Whether ``examiner`` must not score ``registration`` (see the module's rule)."""
    theirs = employer_of(examiner)
    unit = normalise(registration.work_unit)
    return bool(theirs) and bool(unit) and (unit == theirs or unit.startswith(theirs))


def conflict_message(examiner: User, registration: BatchCandidate) -> str:
    return (f"考评员「{examiner.name}」与考生「{registration.candidate.name}」（准考证号 {registration.ticket_no}，"
            f"工作单位「{registration.work_unit}」）属同一单位，须回避：考评员不得考评本单位的考生。")


def first_conflict(examiners: list[User], registrations: list[BatchCandidate]
                   ) -> tuple[User, BatchCandidate] | None:
    """The first (examiner, registration) pair of the same employer, or None."""
    for registration in registrations:
        for examiner in examiners:
            if same_employer(examiner, registration):
                return examiner, registration
    return None
