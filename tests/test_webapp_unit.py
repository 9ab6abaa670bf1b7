"""The web app's widget logic with Streamlit's AppTest (no browser), against the real API served from a thread.

The API runs in this process (``create_app`` behind werkzeug's threaded server on a free port) so the app's HTTP
calls go through the real routes, job runner and result files, as in production.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest  # noqa: E402
from result_factory import angry_on_average_neutral_in_most_frames  # noqa: E402
from servers import free_port, serving
from streamlit.testing.v1 import AppTest  # noqa: E402

from backend.options import load_default_options  # noqa: E402
from tests.media_factory import make_audio  # noqa: E402
from webui import api, charts, results  # noqa: E402
from webui.client import EmoClient  # noqa: E402

WEBAPP = str(Path(__file__).resolve().parents[1] / "webapp.py")
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def api_url(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("api-data")) as url:
        yield url


@pytest.fixture(scope="module")
def finished_audio_job(api_url, tmp_path_factory) -> dict:
    """A short audio analysis that has succeeded (voice only: the cheapest real analysis)."""
    clip = make_audio(tmp_path_factory.mktemp("media"), "tone.wav", seconds=2.0)
    client = EmoClient(api_url)
    job = client.submit(clip, echo_mean=True, make_graph=True, csv=True)
    job = client.wait(job["id"], poll=0.5, timeout=240)
    assert job["status"] == "succeeded", job
    return job


def _app(monkeypatch, url: str) -> AppTest:
    monkeypatch.setenv("EMOCLASSIFY_API_URL", url)
    monkeypatch.delenv("EMOCLASSIFY_API_KEY", raising=False)
    return AppTest.from_file(WEBAPP, default_timeout=60)


def _texts(at: AppTest) -> str:
    parts = [element.value for kind in ("markdown", "caption", "subheader", "header", "error", "warning", "info",
                                        "success") for element in getattr(at, kind)]  # fmt: skip
    return "\n".join(str(part) for part in parts)


def test_api_down_gives_a_readable_error(monkeypatch):
    at = _app(monkeypatch, f"http://127.0.0.1:{free_port()}").run()
    assert not at.exception
    errors = [error.value for error in at.error]
    assert any("cannot be reached" in error for error in errors), errors
    assert not any("Traceback" in error for error in errors)


def test_analyse_pressed_before_a_file_is_chosen_is_kept_until_one_is(monkeypatch, api_url):
    at = _app(monkeypatch, api_url).run()
    at.button(key="analyse").click().run()
    assert not at.exception
    assert "starts as soon as it is uploaded" in _texts(at) and at.session_state["analyse_pending"]


def test_upload_page_shows_types_limit_and_labelled_options(monkeypatch, api_url):
    at = _app(monkeypatch, api_url).run()
    assert not at.exception
    assert not at.error
    text = _texts(at)
    assert "Accepted files" in text and "MB" in text and "mp4" in text and "wav" in text and "jpg" in text
    labels = {widget.label for widget in at.checkbox}
    assert "Report" in labels and any("Double check" in label for label in labels)
    assert at.slider(key="opt_fps").label.startswith("Sampling rate")
    assert at.selectbox(key="opt_model").label == "Face model"
    assert at.radio(key="opt_report_format").disabled  # until a report is asked for
    assert at.sidebar.text_input(key="api_url").value == api_url
    assert any("API connected" in success.value for success in at.sidebar.success)


def test_the_sampling_slider_has_the_servers_range_and_default(monkeypatch, api_url):
    """From the server's OpenAPI document, not the web app's own numbers (it once stopped at 30 of 60)."""
    slider = _app(monkeypatch, api_url).run().slider(key="opt_fps")
    assert (slider.max, slider.value) == (60.0, load_default_options().sample_fps)


def test_an_older_servers_document_without_choices_or_range_leaves_those_options_to_the_server():
    """A server whose OpenAPI document gives the face model no enum and the sampling rate no range: the form sends
    neither (the server's defaults apply) instead of failing to draw."""
    from webui import form

    assert form._face_model_select({"type": "string", "default": "cnn"}, None, False) is None
    assert form._sampling_slider({"type": "number", "default": 5.0}, False) is None
    assert form._speakers_select(None, False) is None  # a server from before people


def test_the_people_speaking_choice_offers_the_servers_numbers_and_auto(monkeypatch, api_url):
    choice = _app(monkeypatch, api_url).run().selectbox(key="opt_speakers")
    assert choice.options == ["1 (one voice)", *map(str, range(2, 11)), "find out (experimental)"]
    assert choice.value == load_default_options().speakers


def test_finished_job_in_the_query_shows_the_summary(monkeypatch, api_url, finished_audio_job):
    at = _app(monkeypatch, api_url)
    at.query_params["job"] = finished_audio_job["id"]
    at.run()
    assert not at.exception
    assert not at.error, [error.value for error in at.error]
    text = _texts(at)
    assert "Summary" in text and "tone.wav" in text and "audio" in text
    assert "Voice windows" in text  # the voice-only view of an audio file
    assert any(metric.label == "Voice" for metric in at.metric)
    assert finished_audio_job["id"] in text
    assert at.sidebar.button(key=f"recent_{finished_audio_job['id']}")  # listed among the session's analyses


def test_failed_job_shows_why_it_failed(monkeypatch, api_url, tmp_path):
    clip = make_audio(tmp_path, "voice-only.wav", seconds=1.0)
    client = EmoClient(api_url)
    job = client.wait(client.submit(clip, modalities="face")["id"], poll=0.5, timeout=120)  # no picture to read
    assert job["status"] == "failed", job
    at = _app(monkeypatch, api_url)
    at.query_params["job"] = job["id"]
    at.run()
    assert not at.exception
    errors = [error.value for error in at.error]
    assert len(errors) == 1 and errors[0].startswith("The analysis failed: "), errors
    assert job["error"]["message"] in errors[0]


def test_unknown_job_in_the_query_is_a_readable_error(monkeypatch, api_url):
    at = _app(monkeypatch, api_url)
    at.query_params["job"] = "0" * 32
    at.run()
    assert not at.exception
    assert any("does not exist" in error.value for error in at.error)


def test_new_analysis_button_clears_the_job_from_the_url(monkeypatch, api_url, finished_audio_job):
    at = _app(monkeypatch, api_url)
    at.query_params["job"] = finished_audio_job["id"]
    at.run()
    at.button(key="new").click().run()
    assert "job" not in at.query_params
    assert at.button(key="analyse")  # back on the upload page


def test_submit_drops_options_the_server_does_not_know(api_url, tmp_path):
    clip = make_audio(tmp_path, "short.wav", seconds=1.0)
    client = EmoClient(api_url)
    job, dropped = api.submit(client, clip, {"echo_mean": True, "no_such_option": True})
    assert dropped == ["no_such_option"]
    client.cancel(job["id"])


def test_bad_file_is_explained_without_a_traceback(api_url, tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("this is not a video")
    with pytest.raises(Exception) as caught:
        api.submit(EmoClient(api_url), bad, {})
    message = api.explain(caught.value, api_url)
    assert message.startswith("The file or the options were refused")


def test_a_full_server_is_explained_as_no_room_for_the_file(tmp_path):
    clip = make_audio(tmp_path, "tone.wav", seconds=2.0)
    with serving(tmp_path / "data", disk_quota_bytes=1000) as url, pytest.raises(Exception) as caught:
        api.submit(EmoClient(url), clip, {})
    assert api.explain(caught.value, url).startswith("The server has no room left for this file")


def test_too_many_requests_is_explained_as_wait_and_try_again(tmp_path):
    refused = tmp_path / "notes.mp4"  # refused at once (so no analysis runs), but counted all the same
    refused.write_text("this is not a video")
    with serving(tmp_path / "data", rate_limit_submit="1/minute") as url:
        with pytest.raises(Exception) as first:
            api.submit(EmoClient(url), refused, {})
        with pytest.raises(Exception) as caught:
            api.submit(EmoClient(url), refused, {})
    assert first.value.status == 415
    message = api.explain(caught.value, url)
    assert message.startswith("The server is receiving too many requests") and "try again in" in message


def test_timeline_chart_uses_the_project_colours(finished_audio_job, api_url):
    from backend.emotions import EMOTION_COLOURS, EMOTIONS

    result = EmoClient(api_url).result(finished_audio_job["id"])
    fake = {"timeline": [{"start": 0.0, "end": 1.0, "source": "face", "face_id": 0, "label": "happy",
                          "confidence": 0.7, "probabilities": {name: 1 / 7 for name in EMOTIONS}, "n": 3}]}  # fmt: skip
    spec = charts.timeline_chart(fake).to_dict()
    colour = spec["spec"]["encoding"]["color"]["scale"]
    assert colour["domain"] == list(EMOTIONS) and colour["range"] == [EMOTION_COLOURS[n] for n in EMOTIONS]
    assert charts.timeline_frame(fake)["lane"].unique().tolist() == ["face 0"]
    assert "tone.wav" in results.summary_sentence(result, "tone.wav")
    assert "no speech" in results.summary_sentence(result)


def test_the_time_axis_ends_at_the_end_of_the_media():
    from backend.emotions import EMOTIONS

    entry = {"source": "face", "face_id": 0, "label": "happy", "confidence": 0.7, "n": 3,
             "probabilities": {name: 1 / 7 for name in EMOTIONS}}  # fmt: skip
    clip = {"input": {"kind": "video", "duration": 2.27},
            "timeline": [entry | {"start": 0.0, "end": 1.0}, entry | {"start": 1.0, "end": 2.0}]}  # fmt: skip
    scale = charts.timeline_chart(clip).to_dict()["spec"]["encoding"]["x"]["scale"]
    assert scale == {"domain": [0, 2.27], "nice": False}


def test_an_artifact_listed_by_an_older_api_as_content_type_keeps_its_media_type():
    assert results.media_type({"name": "annotated.mp4", "media_type": "video/mp4"}) == "video/mp4"
    assert results.media_type({"name": "annotated.mp4", "content_type": "video/mp4"}) == "video/mp4"


def test_the_summary_names_the_figure_each_dominant_emotion_was_chosen_by():
    result = json.loads(angry_on_average_neutral_in_most_frames().to_json())
    assert "1 face found: face 0 **angry** (highest mean probability, 59%)" in results.summary_sentence(result)


def _result_page_of(result: dict) -> None:
    """The web app's result page of a finished job whose result is ``result`` (no artifacts: nothing to fetch)."""
    from webui import results

    results.show(None, {"id": "job-1", "filename": "mixed.mp4"}, result, [])


def _without(value, *names: str):
    """``value`` (a result's JSON) with every key in ``names`` taken out, at any depth."""
    if isinstance(value, dict):
        return {key: _without(item, *names) for key, item in value.items() if key not in names}
    return [_without(item, *names) for item in value] if isinstance(value, list) else value


def test_two_people_get_a_card_each():
    result = json.loads(angry_on_average_neutral_in_most_frames().to_json())
    heard = {"dominant_emotion": "sad", "confidence": 0.5, "probabilities": {}, "seconds": 2.0}
    result["people"] = [
        {"person_id": "P1", "face_ids": [0], "speaker_id": "S2", "on_screen_seconds": 1.4, "speech_seconds": 0.0,
         "face": None, "voice": None, "fused": None},
        {"person_id": "P2", "face_ids": [], "speaker_id": "S1", "on_screen_seconds": 0.0, "speech_seconds": 2.0,
         "face": None, "voice": heard, "fused": None},
    ]  # fmt: skip
    at = AppTest.from_function(_result_page_of, args=(result,), default_timeout=60)
    at.run()
    assert not at.exception and not at.error
    text = _texts(at)
    assert "People" in text and "face 0, voice S2" in text and "no face, voice S1" in text and "voice sad (50%)" in text


def test_a_result_of_the_previous_schema_version_is_still_shown():
    """Schema 1.3 had no people and no speaker ids."""
    current = json.loads(angry_on_average_neutral_in_most_frames().to_json())
    older = _without(current, "people", "speaker_id") | {"schema_version": "1.3"}
    at = AppTest.from_function(_result_page_of, args=(older,), default_timeout=60)
    at.run()
    assert not at.exception and not at.error
    assert "face 0 **angry**" in _texts(at)


def _result_page(monkeypatch, api_url: str, path, **options) -> AppTest:
    """The web app showing the finished analysis of ``path`` (run through the real API with ``options``)."""
    client = EmoClient(api_url)
    job = client.wait(client.submit(path, **options)["id"], poll=0.5, timeout=240)
    assert job["status"] == "succeeded", job
    at = _app(monkeypatch, api_url)
    at.query_params["job"] = job["id"]
    at.run()
    assert not at.exception and not at.error
    return at


def test_a_transcript_is_shown_word_by_word_in_emotion_colours(monkeypatch, api_url, shared_data):
    clip = sorted((shared_data / "speech" / "ravdess" / "Actor_01").glob("03-01-05-02-*.flac"))[0]  # angry, strong
    at = _result_page(monkeypatch, api_url, clip, transcribe_focus=True)
    text = _texts(at)
    assert "Transcript" in text
    assert '<span style="color:' in text  # words coloured by the voice's emotion


def test_a_video_result_shows_a_thumbnail_per_face(monkeypatch, api_url, tmp_path):
    from media_factory import video_from_image
    from skimage import data

    clip = video_from_image(tmp_path, data.astronaut(), seconds=1.0, fps=5, name="face.mp4")
    at = _result_page(monkeypatch, api_url, clip, face_thumbnails=True)
    assert "Faces" in _texts(at)
    images = at.get("image")
    assert any("face 0: " in str(image.proto) and "(highest mean probability, " in str(image.proto) for image in images)


def test_downloads_call_a_face_picture_a_picture_and_the_timeline_graph_a_graph():
    assert results.artifact_label("face-0.png") == "face 0 picture (PNG)"
    assert results.artifact_label("timeline.png") == "graph (PNG)"
    assert results.artifact_label("report.pdf") == "report (PDF)"
