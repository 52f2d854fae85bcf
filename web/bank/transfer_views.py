"""Views of this sub-area of the item bank."""

from web.bank import bp  # noqa: F401
