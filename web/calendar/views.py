"""Views of this area."""
from web.calendar import bp  # noqa: F401
