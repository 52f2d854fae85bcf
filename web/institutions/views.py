"""Views of this area."""
from web.institutions import bp  # noqa: F401
