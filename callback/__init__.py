"""The EmoClassify REST service (Flask). This version serves health and model information; the analysis
job endpoints (``/api/v1/analyses``) are the subject of the API issue and are not here yet."""

from __future__ import annotations

from flask import Flask, jsonify

from backend import __version__
from backend.config import get_settings


def create_app(config: dict | None = None) -> Flask:
    """Application factory, as gunicorn and the tests call it: ``create_app()`` or ``create_app({...})``."""
    app = Flask(__name__)
    app.config.update(config or {})

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok", "version": __version__})

    @app.get("/api/v1/models")
    def models():
        settings = get_settings()
        shipped = sorted(p.name for p in settings.face_model_dir.iterdir() if (p / "model.json").exists())
        return jsonify({"face_models": {"cnn": shipped, "vit": settings.vit_model}, "default": settings.face_model})

    @app.errorhandler(404)
    def not_found(_error):
        return jsonify({"error": {"code": "not_found", "message": "no such endpoint", "details": {}}}), 404

    return app
