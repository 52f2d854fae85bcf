"""Config layering: defaults, instance/config.py, FLASK_* environment, then overrides."""

from __future__ import annotations

import pytest

from web import create_app
from web.config import database_url


def test_layers_in_order(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text("SECRET_KEY = 'from-instance'\nPAGE_SIZE = 7\nLOGIN_RATE_LIMIT = '1 per day'\n")
    monkeypatch.setenv("FLASK_PAGE_SIZE", "9")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    from flask import Flask

    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path))
    app = create_app({"LOGIN_RATE_LIMIT": "5 per minute"})
    assert app.config["SECRET_KEY"] == "from-instance"  # instance file over defaults
    assert app.config["PAGE_SIZE"] == 9  # environment over instance file
    assert app.config["LOGIN_RATE_LIMIT"] == "5 per minute"  # overrides over everything
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'skilleval.db'}"
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SECURE"]


def test_missing_secret_key_is_a_clear_error(tmp_path, monkeypatch):
    from flask import Flask

    monkeypatch.delenv("FLASK_SECRET_KEY", raising=False)
    monkeypatch.setattr(Flask, "auto_find_instance_path", lambda self: str(tmp_path))
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_database_url_precedence_and_driver(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    assert database_url("/x", None, None) == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert database_url("/x", "sqlite:///o.db", None) == "sqlite:///o.db"
    monkeypatch.delenv("DATABASE_URL")
    assert database_url("/x", None, "postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("/x", None, None) == "sqlite:////x/skilleval.db"
