"""Liveness, readiness and the models this server can use."""

from __future__ import annotations

from flask_smorest import Blueprint

from backend import __version__
from backend.faces.classifiers import available_classifiers

from ..schemas import ErrorSchema, HealthSchema, ModelsSchema, ReadySchema
from . import service

blp = Blueprint("health", __name__, description="Health and models")


@blp.route("/healthz")
@blp.response(200, HealthSchema)
def healthz():
    """Alive: the process answers."""
    return {"status": "ok", "version": __version__}


@blp.route("/readyz")
@blp.response(200, ReadySchema)
@blp.alt_response(503, schema=ReadySchema, description="not ready: see checks")
def readyz():
    """Ready: the job store answers and the default face model is loaded."""
    checks = service().readiness()
    ready = all(value == "ok" for value in checks.values())
    return {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503


@blp.route("/api/v1/models")
@blp.response(200, ModelsSchema)
@blp.alt_response(401, schema=ErrorSchema)
def models():
    """Face classifiers (loaded, available or why not), shipped model versions, the default."""
    settings = service().settings

    def shipped(folder):
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))

    return {
        "face_models": available_classifiers(settings),
        "shipped_cnn": [
            name
            for name in shipped(settings.face_model_dir)
            if (settings.face_model_dir / name / "model.json").exists()
        ],  # fmt: skip
        "voice_models": shipped(settings.voice_model_dir),
        "default_face_model": service().default_options.face_model,
    }
