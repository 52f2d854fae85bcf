"""Domain errors. Their message is user-facing Simplified Chinese, shown as is."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused the request; nothing was written."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ValidationError(DomainError):
    """Input does not satisfy the rules."""


class PermissionDenied(DomainError):
    """The acting user may not do this."""

    status = 403


class NotFound(DomainError):
    status = 404


class RowErrors(ValidationError):
    """An import failed; ``errors`` lists (row number, column, message) and nothing was saved."""

    def __init__(self, errors: list[tuple[int, str, str]]) -> None:
        super().__init__(f"导入失败：共 {len(errors)} 处错误，未导入任何数据。")
        self.errors = errors
