"""Views of this area."""
from web.audit import bp  # noqa: F401
