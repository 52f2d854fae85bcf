"""Institution registry (评价机构备案): types and tiers, scopes, the filing workflow and the
13-character institution code (positions 1–13 of a certificate number).

The package owns the third-party evaluation institutions (第三方评价机构) the provincial centre
(省职业技能鉴定中心) files, their evaluation scopes, the filing workflow and the registry's
configurable rules. Its modules, each importing only those listed before it:

* :mod:`.models` — the enums, their label tables and the models Institution, ScopeEntry, FilingStep;
* :mod:`.codes` — the pure checks: unified social credit code, province codes, institution code;
* :mod:`.rules` — the configurable rules (scope caps, filing windows, province code) and their updates;
* :mod:`.filing` — registry queries, registration, detail edits and the filing workflow;
* :mod:`.scope` — scope labels, the caps a filed scope must respect, scope changes, ``check_in_scope``.

Every service takes the session and the acting user, validates before it writes, flushes but
never commits, and appends one audit entry (see :mod:`._common`). Import the public names from
here: ``from foundation.institutions import Institution, advance_filing``.
"""

from __future__ import annotations

from foundation.institutions.codes import (
    CREDIT_CODE_CHARSET,
    PROVINCE_CODES,
    credit_code_check_char,
    credit_code_problem,
    institution_code,
    normalise_credit_code,
)
from foundation.institutions.filing import (
    TRANSITIONS,
    advance_filing,
    allowed_transitions,
    get_institution,
    institution_of,
    public_institution,
    public_institutions_query,
    reason_required,
    register_application,
    registry_query,
    transition_label,
    update_institution_details,
)
from foundation.institutions.models import (
    ALL_KINDS,
    BASIS_LABELS,
    CLOSED,
    GROUND_BASIS,
    KIND_LABELS,
    ONCE_FILED,
    STATUS_LABELS,
    TIER_LABELS,
    FilingStatus,
    FilingStep,
    Institution,
    InstitutionKind,
    ScopeBasis,
    ScopeEntry,
    kind_tier_choices,
    type_label,
)
from foundation.institutions.rules import (
    describe_windows,
    filing_windows,
    in_filing_window,
    next_filing_window,
    province_code,
    scope_caps,
    update_filing_windows,
    update_province_code,
    update_scope_caps,
)
from foundation.institutions.scope import (
    add_scope_entry,
    check_in_scope,
    describe_scope,
    remove_scope_entry,
    scope_by_basis,
    scope_entry_label,
)

__all__ = [
    # models
    "ALL_KINDS",
    "BASIS_LABELS",
    "CLOSED",
    "GROUND_BASIS",
    "KIND_LABELS",
    "ONCE_FILED",
    "STATUS_LABELS",
    "TIER_LABELS",
    "FilingStatus",
    "FilingStep",
    "Institution",
    "InstitutionKind",
    "ScopeBasis",
    "ScopeEntry",
    "kind_tier_choices",
    "type_label",
    # codes
    "CREDIT_CODE_CHARSET",
    "PROVINCE_CODES",
    "credit_code_check_char",
    "credit_code_problem",
    "institution_code",
    "normalise_credit_code",
    # rules
    "describe_windows",
    "filing_windows",
    "in_filing_window",
    "next_filing_window",
    "province_code",
    "scope_caps",
    "update_filing_windows",
    "update_province_code",
    "update_scope_caps",
    # filing
    "TRANSITIONS",
    "advance_filing",
    "allowed_transitions",
    "get_institution",
    "institution_of",
    "public_institution",
    "public_institutions_query",
    "reason_required",
    "register_application",
    "registry_query",
    "transition_label",
    "update_institution_details",
    # scope
    "add_scope_entry",
    "check_in_scope",
    "describe_scope",
    "remove_scope_entry",
    "scope_by_basis",
    "scope_entry_label",
]
