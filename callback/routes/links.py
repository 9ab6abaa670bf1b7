"""OpenAPI links between the analysis operations: which value of one answer feeds which later request (the new
job's ``id`` into its status, result, artifacts and cancel; an artifact's ``name`` into its download). They tell
a client generator the flow of the API, and let schemathesis's stateful tests chain real calls instead of
guessing ids. Used as ``@blp.doc(**links.on(status, links.TO_JOB(...)))``; flask-smorest merges it into the
documented response."""

from __future__ import annotations

JOB_PATH = "/api/v1/analyses/{job_id}"


def _operation_ref(path: str, method: str) -> str:
    """A JSON pointer to an operation of this document (``~`` and ``/`` escaped as RFC 6901 says)."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def _link(path: str, method: str, description: str, **parameters: str) -> dict:
    return {"operationRef": _operation_ref(path, method), "parameters": parameters, "description": description}


def to_job(job_id: str) -> dict[str, dict]:
    """Links to the operations on one job, whose id is the runtime expression ``job_id``."""
    return {
        "GetAnalysis": _link(JOB_PATH, "get", "the job's status and progress", job_id=job_id),
        "GetResult": _link(f"{JOB_PATH}/result", "get", "its result, once it succeeded", job_id=job_id),
        "ListArtifacts": _link(f"{JOB_PATH}/artifacts", "get", "its files, once it succeeded", job_id=job_id),
        "CancelAnalysis": _link(JOB_PATH, "delete", "cancel it, or delete it once finished", job_id=job_id),
    }


NEW_JOB = to_job("$response.body#/id")  # an answer that is a job
SAME_JOB = to_job("$request.path.job_id")  # another operation on the job of the request's path
FIRST_LISTED_JOB = to_job("$response.body#/items/0/id")  # a page of jobs
FIRST_ARTIFACT = {
    "GetArtifact": _link(f"{JOB_PATH}/artifacts/{{name}}", "get", "download the first listed file",
                         job_id="$request.path.job_id", name="$response.body#/items/0/name"),
}  # fmt: skip


def on(status: int, links: dict[str, dict]) -> dict:
    """Keyword arguments of ``blp.doc`` adding ``links`` to the documented answer with ``status``."""
    return {"responses": {status: {"links": links}}}  # an int, as flask-smorest keys the answers it documents
