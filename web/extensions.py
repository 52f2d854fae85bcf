"""Extension objects, created unbound; ``create_app`` binds them."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

import web.ratelimit_storage  # noqa: F401 - registers sweptmemory://, the default RATELIMIT_STORAGE_URI
from foundation.db import Base


class BoundedSQLAlchemy(SQLAlchemy):
    """Flask-SQLAlchemy whose ``paginate`` reads ``?page=`` and ``?per_page=`` through
    ``web.params.query_int``: Flask-SQLAlchemy's own parsing takes any int, and
    ``?page=99999999999999999999`` became an OFFSET no database accepts (a 500 on every
    list page). Now it is a 400 naming the parameter."""

    def paginate(self, select: Any, *, page: int | None = None, per_page: int | None = None,
                 **kwargs: Any) -> Any:
        if has_request_context():
            from web.params import query_int

            if page is None:
                page = query_int(request.args, "page") or 1
            if per_page is None:
                per_page = query_int(request.args, "per_page")
        return super().paginate(select, page=page, per_page=per_page, **kwargs)


db = BoundedSQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
socketio = SocketIO()
