"""Analysis jobs: submit, status, list, result, artifacts, cancel/delete, and the synchronous ``analyze``."""

from __future__ import annotations

from flask import Response, g, request, send_file, url_for
from flask_smorest import Blueprint

from .. import quota, ratelimit
from ..jobs.models import FAILED, SUCCEEDED
from ..jobs.serialize import job_to_dict
from ..logs import job_context
from ..schemas import (
    SUBMISSION_BODIES,
    ArtifactListSchema,
    ErrorSchema,
    JobListSchema,
    JobSchema,
    ListQuerySchema,
)
from ..submission import read_submission
from . import links, service

blp = Blueprint("analyses", __name__, url_prefix="/api/v1", description="Analysis jobs")
blp.record_once(lambda state: ratelimit.install(state.app, blp))  # per-key request rates (429)
blp.before_request(quota.check_submission)  # disk quota and free space (507, 503), after the API key check
SUBMIT_ERRORS = (400, 401, 413, 415, 422, 429, 503, 507)
READ_ERRORS = (401, 429)


def _multipart(sync: bool) -> dict:
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": SUBMISSION_BODIES[sync]}}}}


def _errors(*statuses: int):
    """Document the JSON error answers of a route."""

    def decorate(view):
        for status in statuses:
            view = blp.alt_response(status, schema=ErrorSchema)(view)
        return view

    return decorate


def _queued(job) -> tuple[dict, int, dict]:
    location = url_for("analyses.status", job_id=job.id)
    return job_to_dict(job), 202, {"Location": location}


@blp.route("/analyses", methods=["POST"], endpoint="submit")
@blp.doc(**_multipart(sync=False))
@blp.doc(**links.on(202, links.NEW_JOB))
@blp.response(202, JobSchema)
@_errors(*SUBMIT_ERRORS)
def submit():
    """Upload a media file and queue its analysis; answers at once with the job and its URL (``Location``)."""
    job = service().submit(read_submission(request, service().default_options), g.owner, request.host_url)
    return _queued(job)


@blp.route("/analyses", methods=["GET"], endpoint="list")
@blp.doc(**links.on(200, links.FIRST_LISTED_JOB))
@blp.arguments(ListQuerySchema, location="query")
@blp.response(200, JobListSchema)
@_errors(*READ_ERRORS, 422)
def list_jobs(query: dict):
    """This key's jobs, newest first, ``limit`` at a time from ``offset``; optionally of one ``status``."""
    jobs, total = service().page(g.owner, query["limit"], query["offset"], query.get("status"))
    return {"items": [job_to_dict(job) for job in jobs], "total": total, **query}


@blp.route("/analyses/<string:job_id>", methods=["GET"], endpoint="status")
@blp.doc(**links.on(200, links.SAME_JOB))
@blp.response(200, JobSchema)
@_errors(*READ_ERRORS, 404)
def status(job_id: str):
    """Status, progress (0-100) and stage, timings and error of one job."""
    return job_to_dict(service().get(job_id, g.owner))


@blp.route("/analyses/<string:job_id>", methods=["DELETE"], endpoint="cancel")
@blp.doc(**links.on(202, links.SAME_JOB))
@blp.response(202, JobSchema, description="cancelled, or asked to stop (it ends 'cancelled' soon)")
@blp.alt_response(204, description="the finished job and its files were deleted")
@_errors(*READ_ERRORS, 404)
def cancel(job_id: str):
    """Cancel a queued or running job (its files are removed), or delete a finished one with its files."""
    with job_context(job_id):
        job = service().cancel_or_delete(job_id, g.owner)
    return Response(status=204) if job is None else (job_to_dict(job), 202)


@blp.route("/analyses/<string:job_id>/result", methods=["GET"], endpoint="result")
@blp.response(200, description="the result JSON, exactly as the CLI writes result.json")
@_errors(*READ_ERRORS, 404, 409)
def result(job_id: str):
    """The result JSON of a job that succeeded."""
    job = service().get(job_id, g.owner)
    with service().files_of(job):
        return send_file(service().result_path(job), mimetype="application/json", conditional=True)


@blp.route("/analyses/<string:job_id>/artifacts", methods=["GET"], endpoint="artifacts")
@blp.doc(**links.on(200, links.FIRST_ARTIFACT))
@blp.response(200, ArtifactListSchema)
@_errors(*READ_ERRORS, 404, 409)
def artifacts(job_id: str):
    """The files a job produced: name, size, content type and download URL."""
    return {"items": service().artifacts(service().get(job_id, g.owner))}


@blp.route("/analyses/<string:job_id>/artifacts/<string:name>", methods=["GET"], endpoint="artifact")
@blp.response(200, description="the file (range requests supported)")
@_errors(*READ_ERRORS, 404, 409)
def artifact(job_id: str, name: str):
    """One artifact by its listed name; ``Range`` requests work (seeking in a video)."""
    job = service().get(job_id, g.owner)
    item = service().artifact(job, name)
    with service().files_of(job):
        return send_file(item["path"], mimetype=item["media_type"], conditional=True, download_name=name)


@blp.route("/analyze", methods=["POST"], endpoint="analyze")
@blp.doc(**_multipart(sync=True))
@blp.doc(**links.on(202, links.NEW_JOB))
@blp.response(200, description="the result JSON, as GET .../result gives it")
@blp.alt_response(202, schema=JobSchema, description="not done within the wait limit: poll the job")
@_errors(*SUBMIT_ERRORS)
def analyze():
    """Synchronous convenience for short files: submit and wait (up to the server's limit) for the result."""
    submission = read_submission(request, service().default_options, allow_wait=True)
    job = service().submit(submission, g.owner, request.host_url)
    if submission.wait:
        job = service().wait(job.id, g.owner, service().config.sync_wait)
    if job.status == SUCCEEDED:
        with service().files_of(job):
            return send_file(service().result_path(job), mimetype="application/json")
    if job.status == FAILED and job.error:
        error = {key: job.error[key] for key in ("code", "message", "details")}
        return {"error": error}, job.error.get("status", 500)
    return _queued(job)
