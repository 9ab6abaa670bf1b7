"""Every setting is declared once, with one environment variable, and documented in docs/configuration.md, which
is generated from the declarations; the environment is read by the loaders alone, and a bad value stops the
process with a message that names its variable."""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from backend.config import SettingError, Settings, env_name, load_settings
from backend.options import AnalysisOptions, load_default_options, with_choices
from callback.config import ApiConfig
from webui.settings import WebSettings, load_web_settings

ROOT = Path(__file__).resolve().parents[1]
DECLARATIONS = (Settings, AnalysisOptions, ApiConfig, WebSettings)
PRODUCT = ("backend", "callback", "webui", "webapp.py")
PRODUCTION = [*ROOT.glob("*.py"), *(path for folder in ("backend", "callback", "webui", "face_model", "voice_model",
              "fusion_model", "bench", "scripts") for path in (ROOT / folder).rglob("*.py"))]  # fmt: skip


def declared_variables() -> list[str]:
    return [name for cls in DECLARATIONS for item in dataclasses.fields(cls) if (name := env_name(item))]


def configuration_doc():
    spec = importlib.util.spec_from_file_location("configuration_doc", ROOT / "scripts" / "configuration_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_each_variable_is_declared_once():
    assert [name for name, count in Counter(declared_variables()).items() if count > 1] == []


def test_each_declared_setting_says_what_it_is_for():
    undocumented = [f"{cls.__name__}.{item.name}" for cls in DECLARATIONS for item in dataclasses.fields(cls)
                    if env_name(item) and not item.metadata.get("help")]  # fmt: skip
    assert undocumented == []


def test_each_variable_is_in_the_configuration_page():
    page = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert [name for name in declared_variables() if f"`{name}`" not in page] == []


def test_the_configuration_page_is_generated_from_the_declarations():
    """Regenerate with: .venv/bin/python scripts/configuration_doc.py > docs/configuration.md"""
    assert (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8") == configuration_doc().markdown()


def test_the_code_names_no_undeclared_variable():
    declared = set(declared_variables())
    named = {(path.relative_to(ROOT).as_posix(), name) for path in PRODUCTION
             for name in re.findall(r"EMOCLASSIFY_[A-Z0-9_]*[A-Z0-9]", path.read_text(encoding="utf-8"))}  # fmt: skip
    assert sorted(item for item in named if item[1] not in declared) == []


ENVIRON_READ = re.compile(r"(environ\.get\(|environ\[|getenv\()f?[\"']EMOCLASSIFY_")


def test_only_the_loaders_read_the_environment_for_a_setting():
    """In the product (engine, service, web app), a setting read from os.environ anywhere else would be a second
    definition of it."""
    product = [path for path in PRODUCTION if path.relative_to(ROOT).parts[0] in PRODUCT]
    reads = [path.relative_to(ROOT).as_posix() for path in product if ENVIRON_READ.search(path.read_text("utf-8"))]
    assert reads == []


def test_dead_settings_are_gone():
    names = {item.name for item in dataclasses.fields(Settings)}
    assert names.isdisjoint({"audio_sample_rate", "audio_chunk_seconds", "face_batch_size"})


def test_the_environment_sets_the_defaults_of_an_analysis():
    defaults = load_default_options({"EMOCLASSIFY_SAMPLE_FPS": "2", "EMOCLASSIFY_FACE_MODEL": "auto"})
    assert defaults == AnalysisOptions(sample_fps=2.0, face_model="auto")


def test_a_value_out_of_its_limits_names_its_variable():
    with pytest.raises(SettingError, match="EMOCLASSIFY_SAMPLE_FPS must be above 0 and at most 60"):
        load_default_options({"EMOCLASSIFY_SAMPLE_FPS": "61"})


def test_a_value_that_cannot_be_read_names_its_variable():
    with pytest.raises(SettingError, match="EMOCLASSIFY_FACE_INT8='perhaps' can't be read"):
        load_settings({"EMOCLASSIFY_FACE_INT8": "perhaps"})


def test_a_list_setting_reads_comma_separated_values():
    assert load_settings({"EMOCLASSIFY_MTCNN_THRESHOLDS": "0.5, 0.6,0.8"}).mtcnn_thresholds == (0.5, 0.6, 0.8)


def test_a_frame_step_alone_replaces_the_default_sampling_rate():
    options = with_choices(AnalysisOptions(sample_fps=2.0), {"frame_step": 3})
    assert (options.sample_fps, options.frame_step) == (None, 3)


def test_the_web_app_reads_its_own_variables():
    settings = load_web_settings({"EMOCLASSIFY_API_URL": "http://api:8000", "EMOCLASSIFY_API_KEY": "k"})
    assert settings == WebSettings(api_url="http://api:8000", api_key="k")


@pytest.mark.parametrize("module", ["backend.config", "webui.settings"])
def test_the_settings_modules_need_no_third_party_package(module):
    """So the web app and any tool may read them without the engine's dependencies: they import with the
    standard library alone (``-S``: no site-packages on the path)."""
    done = subprocess.run([sys.executable, "-S", "-c", f"import {module}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
