"""The service's HTTP edge: health, documentation, the error format, access control, headers, and refusals of
bad submissions, which must leave nothing on disk. No analysis runs here (the runner is never reached)."""

from __future__ import annotations

import io

import pytest

from callback import create_app
from callback.config import hash_key, load_config
from tests.media_factory import make_video, truncated_copy

KEY = "secret-key-1"


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "api"


@pytest.fixture
def client(data_dir):
    return create_app({"data_dir": data_dir, "TESTING": True}).test_client()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("media"), seconds=0.5, size=(64, 48))


def leftover_files(data_dir):
    return sorted(
        str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file() and "jobs.sqlite3" not in p.name
    )


def post(client, content: bytes, filename: str = "clip.mp4", field: str = "file", **form):
    return client.post("/api/v1/analyses", data={field: (io.BytesIO(content), filename), **form})


def error_code(response):
    return response.get_json()["error"]["code"]


def test_healthz_says_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"


def test_readyz_reports_the_store_and_the_face_model(client):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.get_json()["checks"] == {"store": "ok", "face_model": "ok"}


def test_models_lists_the_shipped_cnn_and_its_state(client):
    body = client.get("/api/v1/models").get_json()
    assert "cnn-v2" in body["shipped_cnn"] and body["face_models"]["cnn"] == "loaded"


def test_openapi_document_lists_every_route(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/analyses", "/api/v1/analyses/{job_id}", "/api/v1/analyses/{job_id}/result",
            "/api/v1/analyses/{job_id}/artifacts/{name}", "/api/v1/analyze", "/readyz"} <= set(paths)  # fmt: skip


def test_openapi_documents_every_analysis_option_as_a_form_field(client):
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert {"file", "make_graph", "double_check", "echo_mean", "sample_fps", "callback_url"} <= set(
        schemas["Submit"]["properties"]
    )


def test_swagger_ui_is_served_without_a_cdn(client):
    page = client.get("/api/docs").get_data(as_text=True)
    assert "/api/docs/static/swagger-ui-bundle.js" in page and "https://" not in page
    assert client.get("/api/docs/static/swagger-ui-bundle.js").status_code == 200


def test_unknown_routes_answer_a_json_error(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and error_code(response) == "not_found"


def test_unknown_job_is_a_404_with_its_code(client):
    response = client.get("/api/v1/analyses/0123456789abcdef")
    assert response.status_code == 404 and error_code(response) == "job_not_found"


def test_json_answers_carry_security_headers(client):
    headers = client.get("/healthz").headers
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_cors_allows_only_configured_origins(data_dir):
    client = create_app({"data_dir": data_dir, "cors_origins": "https://ui.example"}).test_client()
    allowed = client.get("/healthz", headers={"Origin": "https://ui.example"}).headers
    other = client.get("/healthz", headers={"Origin": "https://evil.example"}).headers
    assert allowed["Access-Control-Allow-Origin"] == "https://ui.example"
    assert "Access-Control-Allow-Origin" not in other


def test_api_keys_are_kept_hashed():
    assert load_config({"api_keys": f"{KEY}, other"}).api_keys == (hash_key(KEY), hash_key("other"))


def test_with_api_keys_a_request_without_a_key_is_401(data_dir):
    client = create_app({"data_dir": data_dir, "api_keys": KEY}).test_client()
    response = client.get("/api/v1/analyses")
    assert response.status_code == 401 and error_code(response) == "unauthorized"


def test_with_api_keys_a_valid_key_is_let_in_and_health_stays_open(data_dir):
    client = create_app({"data_dir": data_dir, "api_keys": KEY}).test_client()
    assert client.get("/api/v1/analyses", headers={"X-API-Key": KEY}).status_code == 200
    assert client.get("/healthz").status_code == 200 and client.get("/api/v1/openapi.json").status_code == 200


def test_empty_file_is_refused_and_removed(client, data_dir):
    response = post(client, b"")
    assert (response.status_code, error_code(response)) == (415, "empty_file")
    assert leftover_files(data_dir) == []


def test_text_named_mp4_is_refused_by_content(client, data_dir):
    response = post(client, b"just some text, not a video\n" * 50)
    assert (response.status_code, error_code(response)) == (415, "not_media")
    assert leftover_files(data_dir) == []


def test_truncated_mp4_is_corrupt_media(client, data_dir, clip):
    broken = truncated_copy(clip, "cut.mp4", fraction=0.3)
    response = post(client, broken.read_bytes())
    assert (response.status_code, error_code(response)) == (415, "corrupt_media")
    assert leftover_files(data_dir) == []


def test_file_in_a_wrongly_named_field_is_missing_file(client, data_dir, clip):
    response = post(client, clip.read_bytes(), field="upload")
    assert (response.status_code, error_code(response)) == (400, "missing_file")
    assert leftover_files(data_dir) == []


def test_json_body_instead_of_multipart_is_415(client):
    response = client.post("/api/v1/analyses", json={"file": "clip.mp4"})
    assert (response.status_code, error_code(response)) == (415, "multipart_required")


def test_unknown_option_name_is_refused(client, data_dir, clip):
    response = post(client, clip.read_bytes(), make_grpah="true")
    assert (response.status_code, error_code(response)) == (422, "unknown_option")
    assert "make_grpah" in response.get_json()["error"]["details"]["unknown"]
    assert leftover_files(data_dir) == []


BAD_VALUES = [("sample_fps", "fast"), ("sample_fps", "500"), ("make_graph", "maybe"), ("face_model", "gpt"),
              ("face_model", "/tmp/model.pt"), ("voice_model", "legacy:/etc/passwd"), ("voice_model", "/tmp/model"),
              ("voice_model", "../../../tmp/model"), ("voice_model", "models/x"), ("speakers", "0"), ("speakers", "11"),
              ("speakers", "x"), ("speakers", "2.5"), ("speakers", "")]  # fmt: skip


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_bad_option_value_is_invalid_option(client, data_dir, clip, name, value):
    response = post(client, clip.read_bytes(), **{name: value})
    assert (response.status_code, error_code(response)) == (422, "invalid_option")
    assert leftover_files(data_dir) == []


def test_options_as_a_json_part_are_validated_too(client, clip):
    response = post(client, clip.read_bytes(), options='{"echo_mean": true, "colour": "blue"}')
    assert (response.status_code, error_code(response)) == (422, "unknown_option")


def test_declared_size_over_the_limit_is_413_before_reading(data_dir):
    client = create_app({"data_dir": data_dir, "max_upload_bytes": 1000}).test_client()
    response = client.post("/api/v1/analyses", data=b"x" * 10, content_type="multipart/form-data; boundary=b",
                           environ_overrides={"CONTENT_LENGTH": str(10**12)})  # fmt: skip
    assert (response.status_code, error_code(response)) == (413, "too_large")


def test_upload_over_the_limit_is_413_and_removed(data_dir, clip):
    app = create_app({"data_dir": data_dir, "max_upload_bytes": 4096})
    response = post(app.test_client(), clip.read_bytes() + b"\0" * 8192)
    assert (response.status_code, error_code(response)) == (413, "too_large")
    assert leftover_files(data_dir) == []


def test_media_longer_than_the_limit_is_too_long(data_dir, clip):
    client = create_app({"data_dir": data_dir, "max_duration": 0.1}).test_client()
    response = post(client, clip.read_bytes())
    assert (response.status_code, error_code(response)) == (422, "too_long")
    assert leftover_files(data_dir) == []


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "http://127.0.0.1:9/hook", "http://10.1.2.3/hook",
                                 "http://[::1]/hook", "http://169.254.169.254/latest"])  # fmt: skip
def test_webhook_to_a_private_or_non_http_target_is_refused(data_dir, clip, url):
    client = create_app({"data_dir": data_dir, "webhook_secret": "s"}).test_client()
    response = post(client, clip.read_bytes(), callback_url=url)
    assert (response.status_code, error_code(response)) == (422, "invalid_callback_url")
    assert leftover_files(data_dir) == []


def test_webhook_without_a_configured_secret_is_refused(client, clip):
    response = post(client, clip.read_bytes(), callback_url="https://example.com/hook")
    assert (response.status_code, error_code(response)) == (422, "webhooks_disabled")


def test_a_whisper_model_given_as_a_server_path_is_refused(client, tmp_path):
    from media_factory import make_audio

    tone = make_audio(tmp_path, "tone.wav", seconds=1.0)
    with tone.open("rb") as handle:
        response = client.post("/api/v1/analyses", data={"file": (handle, "tone.wav"), "asr_model": "whisper:/etc"},
                               content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "invalid_option"


def test_a_whisper_hub_id_that_is_also_a_server_folder_is_refused(client, clip, tmp_path, monkeypatch):
    """faster-whisper loads a folder of that name before looking in the hub cache: a client must not pick one."""
    (tmp_path / "models" / "whisper").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    response = post(client, clip.read_bytes(), transcribe="true", asr_model="whisper:models/whisper")
    assert (response.status_code, error_code(response)) == (422, "invalid_option")
