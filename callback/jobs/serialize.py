"""A job as the API shows it (status responses, lists, webhook bodies): one function, so all three agree."""

from __future__ import annotations

from datetime import UTC, datetime

from .models import Job

API_PREFIX = "/api/v1"


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def job_url(job_id: str) -> str:
    return f"{API_PREFIX}/analyses/{job_id}"


def job_to_dict(job: Job, base_url: str = "") -> dict:
    """``base_url`` ("http://host:port") makes the links absolute, as a webhook receiver needs them."""
    url = base_url.rstrip("/") + job_url(job.id)
    error = {key: job.error[key] for key in ("code", "message", "details")} if job.error else None
    return {
        "id": job.id,
        "status": job.status,
        "stage": job.stage,
        "progress": round(job.progress, 1),
        "filename": job.filename,
        "size": job.size,
        "options": job.options,
        "media": job.media,
        "error": error,
        "callback_url": job.callback_url,
        "webhooks": job.webhooks,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "links": {"self": url, "result": f"{url}/result", "artifacts": f"{url}/artifacts"},
    }
