"""Marshmallow schemas of the API's requests and responses, for the OpenAPI document and the response dumps."""

from __future__ import annotations

import marshmallow as ma
from apispec import APISpec
from flask_smorest.fields import Upload

from backend.options import AnalysisOptions

from .jobs.models import ACTIVE, FINISHED
from .options import options_schema

STATUSES = (*ACTIVE, *FINISHED)


class ErrorDetailSchema(ma.Schema):
    code = ma.fields.String(required=True, metadata={"description": "stable, machine-readable code"})
    message = ma.fields.String(required=True)
    details = ma.fields.Dict(required=True)


class ErrorSchema(ma.Schema):
    error = ma.fields.Nested(ErrorDetailSchema, required=True)


class LinksSchema(ma.Schema):
    self = ma.fields.String()
    result = ma.fields.String()
    artifacts = ma.fields.String()


class JobSchema(ma.Schema):
    id = ma.fields.String(required=True)
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(STATUSES))
    stage = ma.fields.String(allow_none=True)
    progress = ma.fields.Float(required=True, metadata={"description": "0-100"})
    filename = ma.fields.String(metadata={"description": "the client's file name, as metadata only"})
    size = ma.fields.Integer()
    options = ma.fields.Dict()
    media = ma.fields.Dict(allow_none=True)
    error = ma.fields.Nested(ErrorDetailSchema, allow_none=True)
    callback_url = ma.fields.String(allow_none=True)
    webhooks = ma.fields.List(ma.fields.Dict(), metadata={"description": "webhook delivery attempts"})
    created_at = ma.fields.String(allow_none=True)
    started_at = ma.fields.String(allow_none=True)
    finished_at = ma.fields.String(allow_none=True)
    links = ma.fields.Nested(LinksSchema)


class JobListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(JobSchema), required=True)
    total = ma.fields.Integer(required=True)
    limit = ma.fields.Integer(required=True)
    offset = ma.fields.Integer(required=True)


class ListQuerySchema(ma.Schema):
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(1, 100))
    offset = ma.fields.Integer(load_default=0, validate=ma.validate.Range(0, 2**31))
    status = ma.fields.String(validate=ma.validate.OneOf(STATUSES))


class ArtifactSchema(ma.Schema):
    """One file of a finished analysis; ``media_type`` as ``result.json`` names it in its own artifact list."""

    name = ma.fields.String(required=True)
    size = ma.fields.Integer(required=True)
    media_type = ma.fields.String(required=True)
    url = ma.fields.String(required=True)


class ArtifactListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ArtifactSchema), required=True)


class HealthSchema(ma.Schema):
    status = ma.fields.String(required=True)
    version = ma.fields.String(required=True)


class ReadySchema(ma.Schema):
    status = ma.fields.String(required=True)
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String())


class ModelsSchema(ma.Schema):
    face_models = ma.fields.Dict(required=True, metadata={"description": "name -> loaded | available | reason"})
    shipped_cnn = ma.fields.List(ma.fields.String())
    voice_models = ma.fields.List(ma.fields.String())
    default_face_model = ma.fields.String()


def submission_schema(sync: bool, defaults: AnalysisOptions) -> type[ma.Schema]:
    """The multipart body: the file, the options (each a form field, with the server's ``defaults``), a JSON
    ``options`` part, ``callback_url`` and, for the synchronous route, ``wait``."""
    declared = {
        "file": Upload(required=True, metadata={"description": "the video, audio or photo"}),
        "options": ma.fields.String(metadata={"description": "JSON object of options (form fields win)"}),
        "callback_url": ma.fields.String(metadata={"description": "http(s) URL POSTed when the job ends"}),
        **options_schema(defaults)._declared_fields,
    }
    if sync:
        declared["wait"] = ma.fields.Boolean(metadata={"description": "wait for the result (default true)"})
    return ma.Schema.from_dict(declared, name="AnalyzeSchema" if sync else "SubmitSchema")


SUBMISSION_BODIES = {False: "Submit", True: "Analyze"}  # the body's component name, by route (synchronous or not)


def register_submission_bodies(spec: APISpec, defaults: AnalysisOptions) -> None:
    """The two submission bodies as components of this app's document, with this app's option defaults; the
    routes refer to them by name, as the routes are declared before any app (and its settings) exists."""
    for sync, name in SUBMISSION_BODIES.items():
        spec.components.schema(name, schema=submission_schema(sync, defaults))
