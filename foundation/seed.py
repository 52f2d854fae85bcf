"""Reference data every installation needs: occupation catalogue, holiday calendar, rules."""

from __future__ import annotations

from sqlalchemy.orm import Session

from foundation.calendar import seed_calendar
from foundation.occupations import seed_catalogue


def seed_reference(session: Session) -> dict[str, int]:
    """Idempotent: existing rows are left as the centre edited them."""

    return {"职业": seed_catalogue(session), "日历条目": seed_calendar(session)}
