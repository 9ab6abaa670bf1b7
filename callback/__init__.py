"""The EmoClassify REST service: asynchronous analysis jobs over HTTP (Flask), with OpenAPI and Swagger UI.

``create_app()`` is what gunicorn serves (``gunicorn 'callback:create_app()'``); tests pass a config dict.
"""

from __future__ import annotations

from flask import Flask, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path

from backend import __version__
from backend.config import Settings

from . import access, headers, logs, uploads
from .config import ApiConfig, load_config
from .errors import register_error_handlers
from .jobs.runner import Runner
from .routes import analyses, health
from .schemas import ErrorSchema, register_submission_bodies
from .service import AnalysisService

SWAGGER_STATIC = "/api/docs/static/"


class _Api(Api):
    ERROR_SCHEMA = ErrorSchema  # so every documented error answer has our shape


def _flask_settings(config: ApiConfig) -> dict:
    return {
        "MAX_CONTENT_LENGTH": config.max_upload_bytes + uploads.FORM_OVERHEAD,
        "API_TITLE": "EmoClassify",
        "API_VERSION": __version__,
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "v1/openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": SWAGGER_STATIC,
        "API_SPEC_OPTIONS": {
            "components": {"securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}}},
            "info": {"description": "Emotions of faces and voice over time, in video, audio and photos."},
        },
    }


def create_app(config: dict | None = None, *, settings: Settings | None = None, runner: Runner | None = None) -> Flask:
    """Application factory. ``config``: API settings by field name (see ``callback.config.ApiConfig``) and any
    Flask setting; ``settings``: the engine's settings (default: from the environment); ``runner``: another job
    runner than the in-process thread pool (default: ``EMOCLASSIFY_RUNNER``: ``thread``, ``process`` or ``celery``)."""
    api_config = load_config(config)
    app = Flask(__name__)
    app.request_class = uploads.UploadRequest
    app.config.update(_flask_settings(api_config))
    app.config.update({key: value for key, value in (config or {}).items() if key.isupper()})
    logs.configure(api_config.log_level)

    if runner is None and api_config.runner == "celery":
        from .jobs.celery_runner import CeleryRunner

        runner = CeleryRunner(api_config)
    elif runner is None and api_config.runner == "process":
        from .jobs.process_runner import ProcessPoolRunner

        runner = ProcessPoolRunner(api_config)
    service = AnalysisService(api_config, settings, runner)
    app.extensions["emoclassify"] = service
    api = _Api(app)
    register_submission_bodies(api.spec, service.default_options)
    api.register_blueprint(health.blp)
    api.register_blueprint(analyses.blp)
    register_error_handlers(app)  # after the Api's own, so ours answer

    app.add_url_rule(f"{SWAGGER_STATIC}<path:name>", "swagger_static",
                     lambda name: send_from_directory(swagger_ui_path, name))  # fmt: skip
    app.before_request(logs.start_request)
    app.before_request(access.check_api_key)
    app.after_request(headers.add_headers)
    app.after_request(logs.log_request)
    app.teardown_request(uploads.remove_leftovers)
    service.start()
    return app
