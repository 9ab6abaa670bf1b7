"""The API's options come from the same declarations and settings as the CLI's: the OpenAPI document gives each
option its type and limits, so a client generated from it sends only values the server accepts; the server's
defaults follow the environment; and the API and the CLI give the same result for the same file and environment."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from media_factory import video_from_image

from backend.__main__ import main
from backend.config import get_settings
from backend.errors import InputError
from backend.options import AnalysisOptions
from callback import create_app
from callback.config import load_config
from callback.options import parse_options

SAMPLING = ("sample_fps", "frame_step", "max_frames", "fuse")
VOLATILE = {"timings", "created_at", "artifacts"}


@pytest.fixture
def app(tmp_path):
    app = create_app({"data_dir": tmp_path / "api", "TESTING": True})
    yield app
    app.extensions["emoclassify"].stop()


@pytest.fixture
def two_fps(monkeypatch):
    """The environment of the issue's bug: EMOCLASSIFY_SAMPLE_FPS=2, read afresh by whatever starts next."""
    monkeypatch.setenv("EMOCLASSIFY_SAMPLE_FPS", "2")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def face_video(tmp_path_factory, astronaut):
    return video_from_image(tmp_path_factory.mktemp("options"), astronaut, seconds=1.0, fps=10, name="face.mp4")


def option_schemas(app) -> dict[str, dict]:
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    return document["components"]["schemas"]["Submit"]["properties"]


def allowed_values(schema: dict) -> st.SearchStrategy:
    """Every value the property's schema allows, as a generated client would send it."""
    if schema["type"] == "boolean":
        values = st.booleans()
    elif schema["type"] == "integer":
        values = st.integers(schema["minimum"], schema["maximum"])
    else:
        values = st.floats(schema["minimum"], schema["maximum"], exclude_min=schema.get("exclusiveMinimum", False))
    return values | st.none() if schema.get("nullable") else values


@pytest.mark.parametrize("name", SAMPLING)
def test_the_openapi_document_gives_a_sampling_option_a_type(app, name):
    assert option_schemas(app)[name]["type"] in ("number", "integer", "boolean")


@pytest.mark.parametrize("name", ["sample_fps", "frame_step", "max_frames"])
def test_the_openapi_document_gives_a_sampling_option_limits(app, name):
    schema = option_schemas(app)[name]
    assert schema["minimum"] < schema["maximum"]


def test_the_openapi_document_says_the_sampling_rate_must_be_above_zero(app):
    schema = option_schemas(app)["sample_fps"]
    assert (schema["minimum"], schema["exclusiveMinimum"], schema["maximum"]) == (0, True, 60)


@pytest.mark.parametrize("name", SAMPLING)
def test_every_value_the_document_allows_is_accepted(app, name):
    schema = option_schemas(app)[name]
    defaults = app.extensions["emoclassify"].default_options

    @given(allowed_values(schema))
    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def accepted(value):
        parse_options({name: value}, defaults)  # as a JSON options part
        parse_options({name: "null" if value is None else str(value)}, defaults)  # as a form field

    accepted()


@pytest.mark.parametrize(("name", "value"), [("sample_fps", 0), ("sample_fps", 60.5), ("frame_step", 0),
                                             ("max_frames", 2**31)])  # fmt: skip
def test_a_value_just_outside_the_documents_limits_is_refused(app, name, value):
    response = app.test_client().post("/api/v1/analyses", data={"file": (io.BytesIO(b"x"), "a.mp4"), name: str(value)},
                                      content_type="multipart/form-data")  # fmt: skip
    assert (response.status_code, response.get_json()["error"]["code"]) == (422, "invalid_option")


def test_the_document_gives_the_servers_default_from_the_environment(two_fps, tmp_path):
    app = create_app({"data_dir": tmp_path / "api"})
    try:
        assert option_schemas(app)["sample_fps"]["default"] == 2
    finally:
        app.extensions["emoclassify"].stop()


def test_the_default_face_model_reported_is_the_one_jobs_use(monkeypatch, tmp_path):
    monkeypatch.setenv("EMOCLASSIFY_FACE_MODEL", "auto")
    get_settings.cache_clear()
    app = create_app({"data_dir": tmp_path / "api"})
    try:
        assert app.test_client().get("/api/v1/models").get_json()["default_face_model"] == "auto"
        assert parse_options({}, app.extensions["emoclassify"].default_options).face_model == "auto"
    finally:
        app.extensions["emoclassify"].stop()
        get_settings.cache_clear()


def comparable(result: dict) -> dict:
    """The result less what differs between two runs of one analysis: when, how long, where the file was, and
    the artifacts' links."""
    return {**{key: value for key, value in result.items() if key not in VOLATILE},
            "input": {key: value for key, value in result["input"].items() if key != "path"}}  # fmt: skip


def test_the_api_and_the_cli_give_the_same_result_under_the_same_environment(two_fps, face_video, tmp_path, capsys):
    """With EMOCLASSIFY_SAMPLE_FPS=2 both sample 2 frames a second (the server's frame cap given to the CLI too)."""
    cap = load_config().max_frames
    assert main(["analyze", str(face_video), "--max-frames", str(cap), "--json", "-q", "-o", str(tmp_path)]) == 0
    by_cli = json.loads(capsys.readouterr().out)
    app = create_app({"data_dir": tmp_path / "api", "sync_wait": 24 * 3600})  # answers when done, however slow
    try:
        with face_video.open("rb") as handle:
            response = app.test_client().post("/api/v1/analyze", data={"file": (handle, face_video.name)},
                                              content_type="multipart/form-data")  # fmt: skip
    finally:
        app.extensions["emoclassify"].stop()
    assert response.status_code == 200, response.get_json()
    by_api = response.get_json()
    assert by_cli["options"]["sample_fps"] == 2 and by_cli["frames_analysed"] == 2
    assert comparable(by_api) == comparable(by_cli)


@pytest.mark.parametrize(("given", "taken"), [("1", 1), (10, 10), ("auto", "auto"), ("AUTO", "auto")])
def test_speakers_takes_a_whole_number_from_1_to_10_or_auto(given, taken):
    assert parse_options({"speakers": given}, AnalysisOptions()).speakers == taken


@pytest.mark.parametrize("given", [None, 2.5, True, 0, 11, "x"])
def test_speakers_outside_a_whole_number_from_1_to_10_or_auto_is_refused_from_python_too(given):
    with pytest.raises(InputError) as refused:
        AnalysisOptions(speakers=given)
    assert refused.value.code == "invalid_option"


def test_the_openapi_document_gives_speakers_as_a_number_or_auto(app):
    schema = option_schemas(app)["speakers"]
    assert schema["anyOf"] == [{"type": "integer", "minimum": 1, "maximum": 10}, {"type": "string", "enum": ["auto"]}]
