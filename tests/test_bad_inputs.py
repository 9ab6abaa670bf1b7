"""Every file of the bad-input corpus (tests/bad_inputs.py), through the CLI and through the API: the documented
error code or a correct result, the process alive, nothing half-written left behind. The outcomes are written to
docs/RELIABILITY.md by this test run."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from bad_inputs import CORPUS

from backend.__main__ import EXIT_USER_ERROR, main
from callback import create_app

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "RELIABILITY.md"
outcomes: dict[str, dict[str, str]] = {}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    return {name: make(folder) for name, _, make in CORPUS}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    app = create_app({"data_dir": tmp_path_factory.mktemp("api"), "TESTING": True, "jobs_per_key": 1000})
    yield app, app.test_client()
    _write_report()


def _write_report() -> None:
    rows = []
    for name, expected, _ in CORPUS:
        seen = outcomes.get(name, {})
        rows.append(f"| {name} | `{expected}` | {seen.get('cli', '—')} | {seen.get('api', '—')} |")
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(
        "# Reliability: the bad-input corpus\n\n"
        "Written by `tests/test_bad_inputs.py` on every test run (files made by `tests/bad_inputs.py`). Expected:\n"
        "an error code of the documented list, or `ok` (analysed normally). CLI: exit status and error code.\n"
        "API: the immediate answer to the upload, or the job's final state. In every case the process stays up\n"
        "and no partial output or upload is left on disk.\n\n"
        "| input | expected | CLI | API |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )


def _cli_error_code(stderr: str) -> str | None:
    for line in stderr.splitlines():
        if line.startswith("error ["):
            return line[len("error [") : line.index("]")]
    return None


@pytest.mark.parametrize(("name", "expected"), [(name, expected) for name, expected, _ in CORPUS])
def test_cli_answers_with_the_documented_outcome(name, expected, corpus, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["analyze", str(corpus[name]), "-q", "-o", str(out)])
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" not in err, err
    if expected == "ok":
        assert code == 0, err
        assert (out / "result.json").is_file()
        outcomes.setdefault(name, {})["cli"] = "exit 0, result.json"
    else:
        assert code == EXIT_USER_ERROR and _cli_error_code(err) == expected, err
        outcomes.setdefault(name, {})["cli"] = f"exit 2, `{expected}`"
    assert not [p for p in out.glob(".partial-*")] if out.exists() else True
    if expected != "ok":
        assert not out.exists() or not any(out.iterdir())


def _wait(client, job_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/analyses/{job_id}").get_json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end")


@pytest.mark.parametrize(("name", "expected"), [(name, expected) for name, expected, _ in CORPUS])
def test_api_answers_with_the_documented_outcome(name, expected, corpus, api):
    app, client = api
    path = corpus[name]
    with path.open("rb") as handle:
        response = client.post("/api/v1/analyses", data={"file": (handle, path.name)})
    body = response.get_json()
    if response.status_code == 202:
        job = _wait(client, body["id"])
        got = "ok" if job["status"] == "succeeded" else (job.get("error") or {}).get("code")
        outcome = f"202, job {job['status']}" + ("" if got == "ok" else f" `{got}`")
    else:
        got = body["error"]["code"]
        outcome = f"{response.status_code} `{got}`"
    assert got == expected, outcome
    assert response.status_code < 500
    outcomes.setdefault(name, {})["api"] = outcome
    assert not any(app.extensions["emoclassify"].paths.incoming.iterdir())  # no upload left behind
