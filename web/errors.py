"""Error pages in Chinese; domain errors show their own message."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from foundation.errors import DomainError
from web.access import is_json_path

MESSAGES = {
    400: "请求无效。",
    401: "请先登录。",
    403: "您没有访问此页面的权限。",
    404: "页面不存在。",
    405: "不支持该请求方式。",
    413: "上传的文件过大。",
    429: "操作过于频繁，请稍后再试。",
    500: "服务器内部错误，请稍后再试。",
}


def _wants_json() -> bool:
    return is_json_path(request.path) or request.accept_mimetypes.best == "application/json"


def _render(status: int, message: str) -> tuple[object, int]:
    if _wants_json():
        return {"error": message, "status": status}, status
    return render_template("error.html", status=status, message=message), status


def _size(n: int) -> str:
    return f"{n / 2**20:.3g} MB" if n >= 2**20 else f"{n / 2**10:.3g} KB"


def install_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> tuple[object, int]:
        return _render(400, "表单已过期或来源无效，请刷新页面后重试。")

    @app.errorhandler(DomainError)
    def _domain(exc: DomainError) -> tuple[object, int]:
        from web.extensions import db

        db.session.rollback()
        return _render(exc.status, exc.message)

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge) -> tuple[object, int]:
        limit = request.max_content_length
        shown = f"（本页最大 {_size(limit)}）" if limit else ""
        return _render(413, f"上传的文件过大{shown}，请拆分文件后再上传。")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> tuple[object, int]:
        status = exc.code or 500
        return _render(status, MESSAGES.get(status, exc.description or "请求出错。"))
