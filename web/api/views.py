"""API views."""

from web.api import bp  # noqa: F401
