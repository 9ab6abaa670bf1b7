"""EmoClassify web app (Streamlit): upload a video, audio file or photo, follow its analysis and explore the result.

It talks to the REST API over HTTP only (``webui.client.EmoClient``), so it can run on another machine than the
analyses. The job id is kept in the URL (``?job=...``), so a reload or a shared link shows the same analysis.
Run it with ``make run`` (API + web app), or ``streamlit run webapp.py`` with ``EMOCLASSIFY_API_URL`` set.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import streamlit as st

from webui import api, form, results
from webui.client import FINISHED, EmoApiError, EmoClient

STAGES = {
    None: "Waiting for a free worker",
    "": "Waiting for a free worker",
    "queued": "Waiting for a free worker",
    "probing": "Reading the file",
    "loading models": "Loading the models",
    "faces": "Finding faces and reading their emotions",
    "voice": "Listening to the voice",
    "writing": "Writing graph, video and report",
    "done": "Finishing",
}
POLL_SECONDS = 1.0


def _state() -> dict:
    """This browser session's memory: recent jobs (id -> name, status) and the bytes it uploaded (id -> bytes)."""
    st.session_state.setdefault("recent", {})
    st.session_state.setdefault("originals", {})
    return st.session_state


def _remember(job: dict) -> None:
    _state()["recent"][job["id"]] = {"name": job.get("filename") or job["id"], "status": job["status"]}


def _open_job(job_id: str | None) -> None:
    if job_id:
        st.query_params["job"] = job_id
    else:
        st.query_params.pop("job", None)


@st.cache_data(ttl=300, show_spinner=False)
def _face_models(url: str, key: str) -> dict[str, str] | None:
    """The server's face models and their state, or None when it does not answer quickly."""
    try:
        return EmoClient(url, key or None, timeout=5).models().get("face_models")
    except EmoApiError:
        return None


@st.cache_data(ttl=300, show_spinner=False)
def _cached_option_schemas(url: str) -> dict[str, dict]:
    return EmoClient(url, timeout=5).option_schemas()  # an error is raised, so not cached: the next run asks again


def _option_schemas(url: str) -> dict[str, dict] | None:
    """Each option's schema with the server's default and limits (its OpenAPI document, public and quick), or
    None when the server does not answer."""
    try:
        return _cached_option_schemas(url)
    except EmoApiError:
        return None


def sidebar() -> tuple[EmoClient, str, dict | None]:
    st.sidebar.header("Connection")
    url = st.sidebar.text_input(
        "API URL", value=api.default_url(), key="api_url", help="Where the EmoClassify API runs (EMOCLASSIFY_API_URL)."
    )
    key = st.sidebar.text_input(
        "API key",
        value=api.default_key(),
        type="password",
        key="api_key",
        help="Only needed when the API asks for one (EMOCLASSIFY_API_KEY).",
    )
    client = api.make_client(url, key)
    try:
        health = client.health()
        st.sidebar.success(f"API connected (version {health.get('version', '?')})")
    except EmoApiError as exc:
        health = None
        st.sidebar.error(api.explain(exc, url))
    return client, url, health


def recent_jobs(current: str | None) -> None:
    recent = _state()["recent"]
    if not recent:
        return
    st.sidebar.header("Recent analyses")
    for job_id, item in reversed(list(recent.items())):
        label = f"{item['name']} — {item['status']}"
        if st.sidebar.button(
            label, key=f"recent_{job_id}", disabled=job_id == current, width="stretch", help=f"Show analysis {job_id}"
        ):
            _open_job(job_id)
            st.rerun()


def _safe_name(name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name).strip("._") or "upload"
    return stem[-120:]


def upload_page(client: EmoClient, url: str, healthy: bool) -> None:
    st.caption("How people feel in a video, an audio file or a photo: faces and voice, over time, side by side.")
    if not healthy:
        st.error(
            f"The EmoClassify API at {url} cannot be reached, so nothing can be analysed right now. Start it "
            "with `make run`, or correct the API URL in the sidebar."
        )
    face_models = _face_models(url, st.session_state.get("api_key", "")) if healthy else None
    request = form.upload_form(face_models, _option_schemas(url) if healthy else None)
    if request is None:
        return
    with tempfile.TemporaryDirectory(prefix="emoclassify-upload-") as folder:
        path = Path(folder) / _safe_name(request.name)
        path.write_bytes(request.data)
        try:
            with st.spinner("Uploading…"):
                job, dropped = api.submit(client, path, request.options)
        except EmoApiError as exc:
            st.error(api.explain(exc, url))
            return
    if dropped:
        st.session_state["dropped"] = dropped
    _state()["originals"] = {job["id"]: request.data}  # only the latest upload is kept in memory
    _remember(job)
    _open_job(job["id"])
    st.rerun()


@st.fragment(run_every=POLL_SECONDS)
def progress_panel(client: EmoClient, job_id: str) -> None:
    """Polls the job every second: progress bar, stage in words and a cancel button; a full rerun once it ends."""
    try:
        job = client.status(job_id)
    except EmoApiError as exc:
        st.error(api.explain(exc))
        return
    _remember(job)
    if job["status"] in FINISHED:
        st.rerun()
    stage = STAGES.get(job.get("stage"), str(job.get("stage") or "Working"))
    st.progress(min(1.0, max(0.0, job["progress"] / 100)), text=f"{stage} · {job['progress']:.0f} %")
    if st.button("Cancel the analysis", key="cancel", help="Stop this analysis and delete its files."):
        try:
            client.cancel(job_id)
        except EmoApiError as exc:
            st.error(api.explain(exc))
            return
        st.rerun()


def job_page(client: EmoClient, url: str, job_id: str) -> None:
    if st.button("← Analyse another file", key="new"):
        _open_job(None)
        st.rerun()
    try:
        job = client.status(job_id)
    except EmoApiError as exc:
        st.error(api.explain(exc, url))
        return
    _remember(job)
    st.header(f"Analysis of {job.get('filename') or 'your file'}")
    st.caption(f"Job {job['id']} · submitted {job.get('created_at') or '?'}")
    for name in st.session_state.pop("dropped", []):
        st.warning(f"This server does not offer the option '{name}' yet; the analysis ran without it.")
    status = job["status"]
    if status in ("queued", "running"):
        progress_panel(client, job_id)
    elif status == "failed":
        error = job.get("error") or {}
        st.error(f"The analysis failed: {error.get('message') or 'no reason given'} ({error.get('code', 'error')}).")
    elif status == "cancelled":
        st.warning("This analysis was cancelled.")
    else:
        result, artifacts = client.result(job_id), client.artifacts(job_id)
        results.show(client, job, result, artifacts, _state()["originals"].get(job_id))


def main() -> None:
    st.set_page_config(page_title="EmoClassify", page_icon="🎭", layout="wide")
    st.title("EmoClassify")
    client, url, health = sidebar()
    job_id = st.query_params.get("job")
    try:
        if job_id:
            job_page(client, url, job_id)
        else:
            upload_page(client, url, health is not None)
    except EmoApiError as exc:
        st.error(api.explain(exc, url))
    except Exception as exc:  # noqa: BLE001 - the user sees a sentence, never a traceback
        st.error(f"Something went wrong while showing this page: {exc}")
    recent_jobs(job_id)


main()
