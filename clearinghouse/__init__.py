"""The clearinghouse Flask application."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask

from clearinghouse import config as settings
from clearinghouse import hardening, logs
from clearinghouse.extensions import csrf, db, limiter, login_manager
from clearinghouse.resources import resource_dir


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings from the environment, then `config` on top (tests)."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
    )
    app.config.from_mapping(settings.from_environment(app.instance_path))
    if config:
        app.config.from_mapping(config)
    configure_logging(app)
    init_extensions(app)
    hardening.init_app(app)
    register_blueprints(app)
    return app


def configure_logging(app: Flask) -> None:
    """JSON lines on stderr (`clearinghouse/logs.py`), unless something else set logging up."""
    if app.debug or app.testing:
        return
    if all(isinstance(handler.formatter, logs.JsonFormatter) for handler in logging.root.handlers):
        logs.configure(app.config["LOG_LEVEL"])


def init_extensions(app: Flask) -> None:
    from clearinghouse import i18n, search
    from clearinghouse.database import configure_sqlite

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine, app.config)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    search.init_app(app)


def register_blueprints(app: Flask) -> None:
    from clearinghouse import api, hsds, public, staff
    from clearinghouse.cli import register_commands

    register_commands(app)
    for blueprint in (public.bp, staff.bp, api.bp, hsds.bp):
        app.register_blueprint(blueprint)
