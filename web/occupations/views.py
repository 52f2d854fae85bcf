"""Views of this area."""
from web.occupations import bp  # noqa: F401
