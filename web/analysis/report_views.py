"""Views of this sub-area of psychometric analysis."""

from web.analysis import bp  # noqa: F401
