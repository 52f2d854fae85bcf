"""Views of this area."""
from web.rules import bp  # noqa: F401
