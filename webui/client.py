"""A small Python client of the EmoClassify API (requests), used by the web app and the examples::

    client = EmoClient("http://127.0.0.1:8000")
    job = client.submit("clip.mp4", make_graph=True)
    job = client.wait(job["id"], on_progress=lambda job: print(job["stage"], job["progress"]))
    result = client.result(job["id"])
    client.download(job["id"], "timeline.png", "timeline.png")

Every answer that is not a success raises :class:`EmoApiError` with the server's status, code and message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import requests

FINISHED = ("succeeded", "failed", "cancelled")
CHUNK = 1024 * 1024
READ_RETRIES = 3  # a read refused with Retry-After is tried again this many times
MAX_RETRY_WAIT = 60.0  # seconds: a longer Retry-After is cut to this


def _retry_after(response: requests.Response) -> float | None:
    """Seconds to wait before asking again, for a 429 or 503 that says (in seconds) when to; else None."""
    value = response.headers.get("Retry-After", "")
    if response.status_code not in (429, 503) or not value.isdigit():
        return None
    return min(float(value), MAX_RETRY_WAIT)


class EmoApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details or {}


class EmoClient:
    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 60.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = requests.Session()
        if api_key:
            self._session.headers["X-API-Key"] = api_key

    def _request(self, method: str, path: str, **kwargs) -> requests.Response:
        """One request; a read answered 429 or 503 with ``Retry-After`` (rate limit, busy store, low disk) is
        tried again after the wait the server asked for, up to READ_RETRIES times, so that polling rides out
        a busy moment. A submission is never repeated: the caller decides."""
        for attempt in range(READ_RETRIES + 1):
            try:
                response = self._session.request(method, self.base_url + path, timeout=self.timeout, **kwargs)
            except requests.RequestException as exc:
                raise EmoApiError(0, "unreachable", f"cannot reach {self.base_url}: {exc}") from exc
            wait = _retry_after(response) if method == "GET" and attempt < READ_RETRIES else None
            if wait is None:
                break
            response.close()
            time.sleep(wait)
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                error = {"code": f"http_{response.status_code}", "message": response.text[:500]}
            raise EmoApiError(response.status_code, error.get("code", "error"), error.get("message", ""),
                              error.get("details"))  # fmt: skip
        return response

    def health(self) -> dict:
        return self._request("GET", "/healthz").json()

    def models(self) -> dict:
        return self._request("GET", "/api/v1/models").json()

    def option_schemas(self) -> dict[str, dict]:
        """Each analysis option's JSON schema from the OpenAPI document: type, this server's default, limits."""
        document = self._request("GET", "/api/v1/openapi.json").json()
        return document["components"]["schemas"]["Submit"]["properties"]

    def submit(self, path: str | Path, callback_url: str | None = None, **options: object) -> dict:
        """Upload ``path`` (streamed from disk) with analysis options; the queued job."""
        path = Path(path)
        form = {"options": json.dumps(options)}
        if callback_url:
            form["callback_url"] = callback_url
        with path.open("rb") as handle:
            return self._request("POST", "/api/v1/analyses", files={"file": (path.name, handle)}, data=form).json()

    def status(self, job_id: str) -> dict:
        return self._request("GET", f"/api/v1/analyses/{job_id}").json()

    def wait(self, job_id: str, on_progress: Callable[[dict], None] | None = None, poll: float = 1.0,
             timeout: float | None = None) -> dict:  # fmt: skip
        """Poll until the job ends; ``on_progress(job)`` after each poll. TimeoutError after ``timeout`` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.status(job_id)
            if on_progress is not None:
                on_progress(job)
            if job["status"] in FINISHED:
                return job
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job['status']} after {timeout} s")
            time.sleep(poll)

    def result(self, job_id: str) -> dict:
        return self._request("GET", f"/api/v1/analyses/{job_id}/result").json()

    def artifacts(self, job_id: str) -> list[dict]:
        return self._request("GET", f"/api/v1/analyses/{job_id}/artifacts").json()["items"]

    def download(self, job_id: str, name: str, dest: str | Path) -> Path:
        """Stream one artifact to ``dest`` (a file path, or a folder to put it in under its name)."""
        dest = Path(dest)
        target = dest / name if dest.is_dir() else dest
        response = self._request("GET", f"/api/v1/analyses/{job_id}/artifacts/{name}", stream=True)
        with response, target.open("wb") as handle:
            for chunk in response.iter_content(CHUNK):
                handle.write(chunk)
        return target

    def cancel(self, job_id: str) -> dict | None:
        """Cancel a queued or running job (its state after the request), or delete a finished one (None)."""
        response = self._request("DELETE", f"/api/v1/analyses/{job_id}")
        return None if response.status_code == 204 else response.json()

    def list(self, limit: int = 20, offset: int = 0, status: str | None = None) -> dict:
        params = {"limit": limit, "offset": offset} | ({"status": status} if status else {})
        return self._request("GET", "/api/v1/analyses", params=params).json()
