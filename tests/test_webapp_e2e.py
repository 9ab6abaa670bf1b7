"""End to end in a real browser: the API (gunicorn) and the web app (Streamlit) run as subprocesses on 127.0.0.1,
headless Chromium (Debian's ``chromium`` package, driven by Playwright) uploads a clip, waits for the result and
checks the summary, the chart and a download.

Screenshots go to ``$EMOCLASSIFY_SCREENSHOTS`` when set (``docs/img`` to refresh the docs'), else to the
test's temporary folder.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect
from servers import free_port, gunicorn_command, stop_process

from backend.config import get_settings
from tests.media_factory import long_video, video_from_image

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("EMOCLASSIFY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
CREMA_CLIP = Path("video") / "1001_DFA_HAP_XX.mp4"
RESULT_TIMEOUT_MS = 300_000

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.timeout(600),
]


def _wait_until_up(url: str, process: subprocess.Popen, log: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds} s:\n{log.read_text()[-3000:]}")


def _start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    with log.open("wb") as handle:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """(API URL, web app URL): gunicorn serving ``callback:create_app()`` and ``streamlit run webapp.py``."""
    folder = tmp_path_factory.mktemp("e2e")
    api_port, web_port = free_port(), free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    env = os.environ | {"EMOCLASSIFY_DATA_DIR": str(folder / "api-data"), "OMP_NUM_THREADS": "1",
                        "EMOCLASSIFY_API_URL": api_url, "HF_HUB_OFFLINE": "1", "KERAS_BACKEND": "torch"}  # fmt: skip
    env.pop("EMOCLASSIFY_API_KEY", None)
    env.pop("EMOCLASSIFY_API_KEYS", None)
    api = _start(gunicorn_command(api_port), env, folder / "api.log")
    web = _start([sys.executable, "-m", "streamlit", "run", "webapp.py", "--server.headless", "true",
                  "--server.port", str(web_port), "--server.address", "127.0.0.1",
                  "--browser.gatherUsageStats", "false"], env, folder / "web.log")  # fmt: skip
    try:
        _wait_until_up(f"{api_url}/healthz", api, folder / "api.log")
        _wait_until_up(f"http://127.0.0.1:{web_port}/_stcore/health", web, folder / "web.log")
        yield api_url, f"http://127.0.0.1:{web_port}"
    finally:
        stop_process(web)
        stop_process(api)


NGINX_WRAPPER = """daemon off; user {user}; pid {d}/nginx.pid; error_log {d}/error.log; worker_processes 1;
events {{ worker_connections 256; }}
http {{ access_log off; client_body_temp_path {d}/body; proxy_temp_path {d}/proxy; fastcgi_temp_path {d}/fastcgi;
       uwsgi_temp_path {d}/uwsgi; scgi_temp_path {d}/scgi; include {d}/webapp.conf; }}
"""


@pytest.fixture(scope="module")
def proxied(servers, tmp_path_factory):
    """The web app's URL behind nginx with the compose file's configuration (Docker/nginx/webapp.conf.template,
    rendered as the nginx image renders it: only the variables it names are replaced)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("no nginx (apt-get install nginx)")
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port()
    template = (ROOT / "Docker" / "nginx" / "webapp.conf.template").read_text()
    upstream = servers[1].removeprefix("http://")
    (folder / "webapp.conf").write_text(template.replace("${PROXY_PORT}", f"127.0.0.1:{port}")
                                        .replace("${WEBAPP_UPSTREAM}", upstream))  # fmt: skip
    # its workers run as this user (not nginx's default "nobody") so they can write uploads into the test's folder
    (folder / "nginx.conf").write_text(NGINX_WRAPPER.format(d=folder, user=getpass.getuser()))
    proxy = _start([nginx, "-p", str(folder), "-c", str(folder / "nginx.conf")], dict(os.environ), folder / "out.log")
    try:
        _wait_until_up(f"http://127.0.0.1:{port}/_stcore/health", proxy, folder / "error.log", seconds=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proxy)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options, with Debian's Chromium instead of a downloaded browser."""
    return browser_type_launch_args | {"executable_path": str(CHROMIUM), "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return browser_context_args | {"viewport": {"width": 1280, "height": 900}, "accept_downloads": True}


@pytest.fixture
def clip(tmp_path, astronaut) -> Path:
    """A labelled CREMA-D clip (a happy sentence) from the shared data, else a generated 2 s video of a face."""
    shared = get_settings().data_dir / CREMA_CLIP
    if shared.exists():
        return shared
    return video_from_image(tmp_path, astronaut, seconds=2.0, fps=5, name="astronaut.mp4")


@pytest.fixture
def photo(tmp_path, astronaut) -> Path:
    """A JPEG photo with one face."""
    from PIL import Image

    path = tmp_path / "astronaut.jpg"
    Image.fromarray(astronaut).save(path, quality=90)
    return path


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = Path(os.environ.get("EMOCLASSIFY_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _open_and_upload(page, web_url: str, path: Path) -> None:
    """Open the web app, wait until it is connected to the API, and drop ``path`` on the upload box."""
    page.goto(web_url)
    page.get_by_text("API connected").wait_for(timeout=60_000)
    page.get_by_text("Accepted files").wait_for()
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_text(path.name).first.wait_for(timeout=60_000)


def _wait_idle(page) -> None:
    """Streamlit has finished its rerun (no running-status widget)."""
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=30_000)


def test_upload_analyse_and_download_in_a_browser(page, servers, clip, screenshots, tmp_path):
    _, web_url = servers
    _open_and_upload(page, web_url, clip)
    page.get_by_text("Annotated video (faces boxed and labelled)").click()
    page.get_by_text("Report", exact=True).click()
    expect(page.get_by_role("radio", name="PDF")).to_be_enabled(timeout=30_000)  # the rerun after the click is done
    analyse = page.get_by_role("button", name="Analyse", exact=True)
    analyse.wait_for()
    _wait_idle(page)
    page.screenshot(path=str(screenshots / "webapp-upload.png"))
    analyse.click()

    page.get_by_text("Summary", exact=True).wait_for(timeout=RESULT_TIMEOUT_MS)
    assert re.search(r"[?&]job=[0-9a-f]{32}", page.url), page.url  # a reload comes back to this analysis
    assert page.get_by_text(clip.name).first.is_visible()
    page.locator("[data-testid=stVegaLiteChart]").first.wait_for(timeout=60_000)
    chart = page.locator("[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg").first
    chart.wait_for(timeout=60_000)
    assert chart.bounding_box()["height"] > 50
    assert page.locator("[data-testid=stMetric]").count() >= 1
    page.get_by_text("Annotated video", exact=True).wait_for(timeout=60_000)
    page.locator("[data-testid=stVideo]").wait_for(timeout=60_000)
    assert page.get_by_role("button", name=re.compile(r"Download report \(PDF\)")).count() == 1

    with page.expect_download(timeout=60_000) as download_info:
        page.get_by_role("button", name=re.compile(r"Download result \(JSON\)")).click()
    saved = tmp_path / "downloaded.json"
    download_info.value.save_as(saved)
    result = json.loads(saved.read_text())
    assert result["schema_version"] == "1.4" and result["input"]["kind"] == "video"

    page.get_by_text("Downloads", exact=True).wait_for()
    page.mouse.move(0, 0)  # no hover toolbar in the screenshot
    page.wait_for_timeout(1000)  # let the chart finish drawing
    page.set_viewport_size({"width": 1280, "height": _page_height(page)})
    page.wait_for_timeout(1000)
    page.screenshot(path=str(screenshots / "webapp-result.png"), full_page=True)

    page.reload()  # the job id in the URL brings the same result back
    page.get_by_text("Summary", exact=True).wait_for(timeout=60_000)


def _page_height(page) -> int:
    """The height of Streamlit's scrolling main area, so a screenshot holds the whole result."""
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], [data-testid=stAppViewContainer]')]"
        ".map(e => e.scrollHeight), document.body.scrollHeight)"
    )
    return int(min(max(height + 40, 900), 4000))


def test_analyse_pressed_right_after_the_file_appears_is_not_lost(page, servers, photo):
    """No wait for Streamlit's rerun of the upload: the click lands while it runs, and still starts the analysis."""
    _, web_url = servers
    _open_and_upload(page, web_url, photo)
    page.get_by_role("button", name="Analyse", exact=True).click()
    page.get_by_text("Faces in the photo", exact=True).wait_for(timeout=RESULT_TIMEOUT_MS)


def test_a_photo_gets_the_single_result_view(page, servers, photo, screenshots):
    _, web_url = servers
    _open_and_upload(page, web_url, photo)
    _wait_idle(page)
    page.get_by_role("button", name="Analyse", exact=True).click()

    page.get_by_text("Faces in the photo", exact=True).wait_for(timeout=RESULT_TIMEOUT_MS)
    page.mouse.move(0, 0)  # no hover toolbar in the screenshot
    page.wait_for_timeout(1000)
    page.set_viewport_size({"width": 1280, "height": _page_height(page)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshots / "webapp-photo.png"), full_page=True)
    assert page.get_by_text("1 face found").first.is_visible()
    page.locator("[data-testid=stImage] img").first.wait_for(timeout=30_000)  # the thumbnail, cut from the upload
    assert page.locator("[data-testid=stVegaLiteChart]").count() >= 1
    assert page.get_by_text("Timeline", exact=True).count() == 0  # one moment: no timeline


@pytest.mark.shared_data
def test_a_two_person_video_gets_a_card_per_person(page, servers, shared_data, tmp_path, screenshots):
    """Two talking heads side by side taking turns (tests/two_person.py), analysed with two people speaking."""
    from two_person import make_talking_heads, person

    clips = shared_data / "video"
    cast = [person("left", [clips / "grid_lwbsza.mpg"]), person("right", sorted(clips.glob("1001_DFA_*_XX.mp4")))]
    video = make_talking_heads(tmp_path / "two-people.mp4", cast, script=[0, 1, 0, 1, 1, 0])
    _, web_url = servers
    _open_and_upload(page, web_url, video.path)
    _wait_idle(page)
    page.get_by_role("combobox", name="People speaking").click()
    page.get_by_role("option", name="2", exact=True).click()
    _wait_idle(page)
    page.get_by_role("button", name="Analyse", exact=True).click()

    page.get_by_text("Summary", exact=True).wait_for(timeout=RESULT_TIMEOUT_MS)
    for person_id in ("P1", "P2"):
        page.get_by_text(person_id, exact=True).first.wait_for(timeout=60_000)
    page.get_by_text("Downloads", exact=True).wait_for(timeout=60_000)
    page.mouse.move(0, 0)
    page.set_viewport_size({"width": 1280, "height": _page_height(page)})
    page.wait_for_timeout(2000)  # let the charts and pictures finish drawing
    page.screenshot(path=str(screenshots / "webapp-two-people.png"), full_page=True)


def test_progress_and_cancel(page, servers, astronaut, tmp_path, screenshots):
    """A longer analysis shows its progress and stage and can be cancelled from the page."""
    clip = long_video(tmp_path)
    _, web_url = servers
    _open_and_upload(page, web_url, clip)
    _wait_idle(page)
    slider = page.get_by_role("slider", name=re.compile("Sampling rate"))
    slider.focus()
    slider.press("End")  # every frame: the slowest analysis
    page.get_by_role("button", name="Analyse", exact=True).click()

    cancel = page.get_by_role("button", name="Cancel the analysis")
    cancel.wait_for(timeout=60_000)
    page.locator("[data-testid=stProgress]").wait_for(timeout=30_000)
    page.get_by_text(re.compile(r"· \d+ %")).first.wait_for(timeout=30_000)  # the stage in words and the percent
    page.screenshot(path=str(screenshots / "webapp-progress.png"))
    cancel.click()
    outcome = page.get_by_text("This analysis was cancelled.").or_(page.get_by_text("Summary", exact=True))
    outcome.first.wait_for(timeout=60_000)
    if page.get_by_text("Summary", exact=True).count():
        pytest.skip("the analysis ended before the cancel arrived (a fast machine); progress was shown")


def test_behind_the_proxy_the_page_has_security_headers_and_works_within_its_policy(page, proxied, photo):
    """Streamlit cannot set headers, so deployments put nginx in front (docker-compose's ``proxy``): the page
    comes with the headers, and the whole round trip (WebSocket, upload, charts, the thumbnail) works without
    a single Content-Security-Policy violation."""
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    response = page.goto(proxied)
    headers = response.headers
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    _open_and_upload(page, proxied, photo)
    _wait_idle(page)
    page.get_by_role("button", name="Analyse", exact=True).click()
    page.get_by_text("Faces in the photo", exact=True).wait_for(timeout=RESULT_TIMEOUT_MS)
    page.locator("[data-testid=stImage] img").first.wait_for(timeout=30_000)
    page.locator("[data-testid=stVegaLiteChart] canvas, [data-testid=stVegaLiteChart] svg").first.wait_for()
    assert not [text for text in console if "Content Security Policy" in text]
