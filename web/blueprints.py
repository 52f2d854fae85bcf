"""Every blueprint of the web layer, in registration order."""

from __future__ import annotations

from web.analysis import bp as analysis_bp
from web.api import bp as api_bp
from web.audit import bp as audit_bp
from web.auth import bp as auth_bp
from web.bank import bp as bank_bp
from web.batches import bp as batches_bp
from web.calendar import bp as calendar_bp
from web.certificates import bp as certificates_bp
from web.certificates import verify_bp
from web.competitions import bp as competitions_bp
from web.exam import bp as exam_bp
from web.institutions import bp as institutions_bp
from web.jobs import bp as jobs_bp
from web.main import bp as main_bp
from web.occupations import bp as occupations_bp
from web.photos import bp as photos_bp
from web.proctor import bp as proctor_bp
from web.proctor import oversight_bp, supervise_bp
from web.public import bp as public_bp
from web.publicity import bp as publicity_bp
from web.results import bp as results_bp
from web.reviews import bp as reviews_bp
from web.rules import bp as rules_bp
from web.schemes import bp as schemes_bp
from web.skill import bp as skill_bp
from web.theory import holds_bp, marking_bp
from web.users import bp as users_bp

BLUEPRINTS = (
    main_bp,
    auth_bp,
    users_bp,
    institutions_bp,
    occupations_bp,
    calendar_bp,
    rules_bp,
    schemes_bp,
    audit_bp,
    public_bp,
    jobs_bp,
    bank_bp,
    api_bp,
    analysis_bp,
    batches_bp,
    skill_bp,
    exam_bp,
    proctor_bp,
    supervise_bp,
    oversight_bp,
    holds_bp,
    marking_bp,
    photos_bp,
    certificates_bp,
    verify_bp,
    publicity_bp,
    reviews_bp,
    competitions_bp,
    results_bp,
)
