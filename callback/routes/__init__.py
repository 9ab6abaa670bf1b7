"""HTTP routes, thin over :class:`callback.service.AnalysisService`."""

from __future__ import annotations

from flask import current_app

from ..service import AnalysisService


def service() -> AnalysisService:
    return current_app.extensions["emoclassify"]
