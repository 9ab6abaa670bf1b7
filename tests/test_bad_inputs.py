"""Every file of the bad-input corpus (tests/bad_inputs.py), through the CLI and through the API: the documented
error code or a correct result, the process alive, memory bounded, nothing half-written or temporary left behind.
The outcomes are written to docs/RELIABILITY.md when the whole corpus ran both ways.

The CLI runs in one child process (bad_inputs.py as a script) that goes through the whole corpus, so a crash on
any file shows as the missing outcomes of that file and the ones after it; its temporary folder is a fresh
TMPDIR that must be empty at the end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bad_inputs import CORPUS, Case

from backend.__main__ import EXIT_USER_ERROR
from callback import create_app

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "RELIABILITY.md"
# Peak RSS allowed to the CLI analysing one file: the models take about 1.3 GB; a decoded 16000x16000 frame alone
# would take 0.7-2 GB more.
RSS_BOUND = 2 * 1024**3
outcomes: dict[str, dict[str, str]] = {}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    return {case.name: case.make(folder) for case in CORPUS}


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    if all({"cli", "api"} <= outcomes.get(case.name, {}).keys() for case in CORPUS):
        _write_report()


def _write_report() -> None:
    rows = []
    for case in CORPUS:
        seen = outcomes[case.name]
        expected = f"`{case.expected}`" + ("" if case.api is None else f" (API: `{case.api}`)")
        rows.append(f"| {case.name} | {expected} | {seen['cli']} | {seen['rss']} | {seen['api']} |")
    REPORT.write_text(
        "# Reliability: the bad-input corpus\n\n"
        "Written by `tests/test_bad_inputs.py` (`.venv/bin/python -m pytest tests/test_bad_inputs.py`, part of\n"
        "`make test`) from files made on the fly by `tests/bad_inputs.py`. Expected: an error code of the\n"
        "documented list, or `ok` (analysed normally; where a warning is expected, the result carries it).\n\n"
        "FFmpeg reads far more than media: its demuxers and decoders are on an allowlist (`backend/media.py`), so\n"
        "text it would render (ANSI art, tty), playlists and concat lists that open other files, raw dumps it\n"
        "guesses by extension and codecs outside the list are `not_media`; odd frame sizes, pixel formats, many\n"
        "streams and lying headers are analysed (a frame too small for face detection: with a warning).\n\n"
        "- CLI: `python -m backend analyze FILE -q -o OUT` run on every file in turn by one child process: exit\n"
        "  status and error code, and the peak RSS of that file's analysis (VmHWM reset before each file, models\n"
        f"  included), which must stay under {RSS_BOUND / 1024**3:.0f} GiB. The child must get through the whole\n"
        "  corpus, leave its TMPDIR empty, and leave no output folder (refusals) or partial file (results).\n"
        "- API: the immediate answer to the upload, or the job's final state. After each file the server still\n"
        "  answers `/healthz`, no upload is left in `incoming/`, a refused upload leaves no job folder and no\n"
        "  job has a partial output.\n\n"
        "| input | expected | CLI | CLI peak RSS | API |\n|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )


# ---------------------------------------------------------------------------------------------------------------
# CLI


@pytest.fixture(scope="module")
def cli(corpus, tmp_path_factory) -> dict:
    """Run the corpus through the CLI in one child process; its records by case name, its exit status and TMPDIR."""
    work = tmp_path_factory.mktemp("cli")
    temp = work / "tmp"
    temp.mkdir()
    outputs = {case.name: work / f"out-{i}" for i, case in enumerate(CORPUS)}
    plan = [{"name": case.name, "args": ["analyze", str(corpus[case.name]), "-q", "-o", str(outputs[case.name]),
                                         *case.cli_flags()]} for case in CORPUS]  # fmt: skip
    (work / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
    # torch makes its (empty) per-user compile cache folder in TMPDIR at import: a cache, not a leftover
    env = os.environ | {"TMPDIR": str(temp), "PYTHONPATH": str(ROOT), "TORCHINDUCTOR_CACHE_DIR": str(work / "torch")}
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "bad_inputs.py"), str(work / "plan.json")],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=1200)  # fmt: skip
    records = {record["name"]: record for record in map(json.loads, done.stdout.splitlines())}
    return {"records": records, "outputs": outputs, "returncode": done.returncode, "stderr": done.stderr,
            "temp": temp}  # fmt: skip


def _cli_error_code(stderr: str) -> str | None:
    for line in stderr.splitlines():
        if line.startswith("error ["):
            return line[len("error [") : line.index("]")]
    return None


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_cli_answers_with_the_documented_outcome(case: Case, cli):
    record = cli["records"].get(case.name)
    assert record is not None, f"the CLI process died on or before this file:\n{cli['stderr'][-3000:]}"
    err, out = record["stderr"], cli["outputs"][case.name]
    assert "Traceback" not in err and "internal error" not in err, err
    if case.expected == "ok":
        assert record["exit"] == 0, err
        result = json.loads((out / "result.json").read_text())
        if case.warning:
            assert any(case.warning in warning for warning in result["warnings"]), result["warnings"]
        assert not list(out.glob(".partial-*"))
        outcome = "exit 0, result.json"
    else:
        assert record["exit"] == EXIT_USER_ERROR and _cli_error_code(err) == case.expected, err
        assert not out.exists() or not any(out.iterdir())
        outcome = f"exit 2, `{case.expected}`"
    assert record["peak_rss"] < RSS_BOUND, f"peak RSS {record['peak_rss'] / 1024**2:.0f} MiB"
    outcomes.setdefault(case.name, {}).update(cli=outcome, rss=f"{record['peak_rss'] / 1024**2:.0f} MiB")


def test_cli_process_gets_through_the_whole_corpus_and_leaves_no_temporary_file(cli):
    assert cli["returncode"] == 0, cli["stderr"][-3000:]
    assert len(cli["records"]) == len(CORPUS)
    assert sorted(p.name for p in cli["temp"].iterdir()) == []


# ---------------------------------------------------------------------------------------------------------------
# API


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    # every file from one client in a minute or two: no rate limit (tests/test_api_limits.py checks those)
    app = create_app({"data_dir": tmp_path_factory.mktemp("api"), "TESTING": True, "jobs_per_key": 1000,
                      "rate_limit_submit": "", "rate_limit_read": ""})  # fmt: skip
    return app, app.test_client()


def _wait(client, job_id: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/api/v1/analyses/{job_id}").get_json()
        if job["status"] not in ("queued", "running"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end")


def _leftovers(paths) -> tuple[set[str], list[Path]]:
    """The job folders, and any partial output or upload in the data folder."""
    jobs = {p.name for p in paths.jobs.iterdir()}
    partial = [*paths.jobs.glob("*/**/.partial-*"), *paths.incoming.iterdir()]
    return jobs, partial


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_api_answers_with_the_documented_outcome(case: Case, corpus, api):
    app, client = api
    paths = app.extensions["emoclassify"].paths
    jobs_before, _ = _leftovers(paths)
    path = corpus[case.name]
    with path.open("rb") as handle:
        form = {"file": (handle, case.upload_name or path.name), **case.form_fields()}
        response = client.post("/api/v1/analyses", data=form)
    body = response.get_json()
    assert response.status_code < 500, body
    if response.status_code == 202:
        job = _wait(client, body["id"])
        got = "ok" if job["status"] == "succeeded" else (job.get("error") or {}).get("code")
        outcome = f"202, job {job['status']}" + ("" if got == "ok" else f" `{got}`")
        if got == "ok" and case.warning:
            warnings = client.get(f"/api/v1/analyses/{body['id']}/result").get_json()["warnings"]
            assert any(case.warning in warning for warning in warnings), warnings
    else:
        got = body["error"]["code"]
        outcome = f"{response.status_code} `{got}`"
        assert _leftovers(paths)[0] == jobs_before  # a refused upload leaves no job folder
    assert got == case.api_expected, outcome
    assert client.get("/healthz").status_code == 200
    assert _leftovers(paths)[1] == []
    outcomes.setdefault(case.name, {})["api"] = outcome
