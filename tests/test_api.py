"""The Flask service as it stands: alive, and it says which face models ship."""

import pytest

from callback import create_app


@pytest.fixture
def client():
    return create_app({"TESTING": True}).test_client()


def test_healthz_says_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"


def test_models_lists_the_shipped_cnn(client):
    body = client.get("/api/v1/models").get_json()
    assert "cnn-v1" in body["face_models"]["cnn"] and body["default"] == "cnn"


def test_unknown_routes_answer_a_json_error(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
