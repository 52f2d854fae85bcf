"""Views of this area."""
from web.public import bp  # noqa: F401
