"""Every setting, declared once: its default, its limits, what it is for, and the ``EMOCLASSIFY_*`` environment
variable that changes it.

Three groups are declared with :func:`setting` and read by :func:`load`: the engine's :class:`Settings` (here),
the defaults of an analysis (the fields of ``backend.options.AnalysisOptions`` marked ``env``, read by
``backend.options.load_default_options``) and the API service's ``callback.config.ApiConfig``. The CLI's
arguments, the API's option schema, ``/api/v1/models`` and the web form's controls derive from these
declarations, and so does ``docs/configuration.md`` (``python scripts/configuration_doc.py > docs/configuration.md``).

The environment is read once per process (:func:`get_settings`); a test or the API builds a :class:`Settings` of
its own and passes it down. This module imports only the standard library, so that anything may read it.
"""

import dataclasses
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "EMOCLASSIFY_"
DEFAULT_VOICE_MODEL = "voice-whisper-v1"  # a shipped folder of voice_model/models: the runtime's and evaluate's default
DEFAULT_ASR_MODEL = "whisper-base"  # backend.transcribe: Whisper base from the pinned model-data wheels
DEFAULT_CNN_MODEL = "cnn-v3-r"  # a shipped folder of face_model/models: the runtime's `cnn` face classifier
DEFAULT_CNN_SMALL_FACE_MODEL = "cnn-v3-v"  # the `cnn` classifier's network for faces small in their frame
DEFAULT_FUSION_MODEL = "fusion-v5"  # a shipped folder of fusion_model/models: the face + voice combiner
TRUE_WORDS, FALSE_WORDS, NONE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off"), ("", "null", "none")


class SettingError(ValueError):
    """A value from the environment (or a config dict) that can't be used; the message names the variable."""


def setting(default: Any, help: str, *, env: bool | str = True, minimum: float | None = None,
            maximum: float | None = None, exclusive_minimum: bool = False, choices: tuple[str, ...] | None = None,
            words: tuple[str, ...] = (), **extra: Any) -> Any:  # fmt: skip
    """A dataclass field with what the docs, the CLI and the API need to know of it. ``env``: True for
    ``EMOCLASSIFY_<FIELD NAME>``, a name for ``EMOCLASSIFY_<name>``, False when the environment can't set it.
    ``words``: what a number setting also takes beside its numbers (``speakers``: 1 to 10, or ``auto``)."""
    metadata = {"help": help, "env": env, "minimum": minimum, "maximum": maximum,
                "exclusive_minimum": exclusive_minimum, "choices": choices, "words": words, **extra}  # fmt: skip
    return field(default=default, metadata=metadata)


def env_name(item: dataclasses.Field) -> str | None:
    """The environment variable of a declared field, None when the environment can't set it."""
    env = item.metadata.get("env", False)
    if env is True:
        return ENV_PREFIX + item.name.upper()
    return ENV_PREFIX + env if env else None


def base_type(hint: Any) -> tuple[Any, bool]:
    """(the type, whether None is allowed) of ``X`` or ``X | None``; of a number that also takes words
    (``int | str``), the number's."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        return args[0], type(None) in typing.get_args(hint)
    return hint, False


def field_type(cls: type, item: dataclasses.Field) -> Any:
    """The field's annotation as a type (modules with postponed annotations hold it as a string)."""
    return typing.get_type_hints(cls)[item.name] if isinstance(item.type, str) else item.type


def _parse(hint: Any, raw: object, words: tuple[str, ...] = ()) -> object:
    """A value from the environment (a string) or a config dict, as the field's type (or one of its ``words``)."""
    kind, nullable = base_type(hint)
    text = raw.strip() if isinstance(raw, str) else None
    if text is not None and text.lower() in words:
        return text.lower()
    if nullable and (raw is None or (text is not None and text.lower() in NONE_WORDS)):
        return None
    if typing.get_origin(kind) is tuple:
        items = text.split(",") if text is not None else raw
        return tuple(typing.get_args(kind)[0](item.strip() if isinstance(item, str) else item)
                     for item in items if not isinstance(item, str) or item.strip())  # type: ignore[union-attr]  # fmt: skip
    if kind is bool and text is not None:
        if text.lower() not in TRUE_WORDS + FALSE_WORDS:
            raise ValueError(f"not one of {', '.join(TRUE_WORDS + FALSE_WORDS)}")
        return text.lower() in TRUE_WORDS
    if kind in (int, float, Path):
        return kind(text if text is not None else raw)
    if kind is str or kind is bool:
        return raw if isinstance(raw, kind) else str(raw)
    raise TypeError(f"no reading of {kind}")  # a new kind of setting needs a branch here


def limits_text(item: dataclasses.Field) -> str:
    """The field's limits in words ("above 0 and at most 60", "one of cnn, vit, auto", "at least 1 and at most 10,
    or auto"), "" when it has none."""
    meta = item.metadata
    if meta.get("choices"):
        return f"one of {', '.join(meta['choices'])}"
    parts = []
    if meta.get("minimum") is not None:
        parts.append(f"{'above' if meta.get('exclusive_minimum') else 'at least'} {meta['minimum']:g}")
    if meta.get("maximum") is not None:
        parts.append(f"at most {meta['maximum']:g}")
    return " and ".join(parts) + "".join(f", or {word}" for word in meta.get("words", ()))


def within_limits(item: dataclasses.Field, value: object) -> bool:
    meta = item.metadata
    if value is None:
        return not meta.get("words")
    if meta.get("words"):  # a whole number within the limits, or one of the words (never None, a bool or 2.5)
        if isinstance(value, str):
            return value in meta["words"]
        if isinstance(value, bool) or not isinstance(value, int):
            return False
    if meta.get("choices"):
        return value in meta["choices"]
    low, high = meta.get("minimum"), meta.get("maximum")
    if low is not None and (value <= low if meta.get("exclusive_minimum") else value < low):  # type: ignore[operator]
        return False
    return high is None or value <= high  # type: ignore[operator]


T = typing.TypeVar("T")


def load(cls: type[T], environ: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None) -> T:
    """``cls`` (a dataclass of :func:`setting` fields): its defaults < the environment < ``overrides`` (by field
    name, any case). A value that can't be read, or is out of its limits, raises :class:`SettingError`."""
    environ = os.environ if environ is None else environ
    given = {key.lower(): value for key, value in (overrides or {}).items()}
    values: dict[str, object] = {}
    for item in fields(cls):  # type: ignore[arg-type]
        variable = env_name(item)
        if item.name in given:
            raw, source = given[item.name], item.name
        elif variable and variable in environ:
            raw, source = environ[variable], variable
        else:
            continue
        if not item.metadata.get("help"):  # not a declared setting (e.g. a nested group): taken as given
            values[item.name] = raw
            continue
        try:
            value = _parse(field_type(cls, item), raw, item.metadata.get("words", ()))
        except (TypeError, ValueError) as exc:
            raise SettingError(f"{source}={raw!r} can't be read ({exc})") from None
        if not within_limits(item, value):
            raise SettingError(f"{source} must be {limits_text(item)}, got {raw!r}")
        values[item.name] = value
    return cls(**values)


def shown_path(path: Path) -> str:
    """A path as a result shows it: the project's own files relative to the project (a served result should not
    tell where the server is installed), any other path as given."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


@dataclass(frozen=True)
class Settings:
    """The engine's settings. Paths are absolute; sizes in pixels, times in seconds."""

    data_dir: Path = setting(PROJECT_ROOT.parent / "shared" / "data", "datasets for training, evaluation and the "
                             "tests that need them (not needed to run analyses)", env="DATA")  # fmt: skip
    cache_dir: Path = setting(PROJECT_ROOT / ".cache", "unpacked model weights (Whisper base, its graphs)", env="CACHE")
    runs_dir: Path = setting(Path.home() / ".cache" / "emoclassify", "training checkpoints; outside the checkout, so "
                             "a long run resumes in a later session or clone", env="RUNS")  # fmt: skip
    face_model_dir: Path = setting(PROJECT_ROOT / "face_model" / "models", "shipped face classifiers")
    detector_model_dir: Path = setting(PROJECT_ROOT / "face_model" / "mtcnn", "MTCNN's graphs "
                                       "(python -m face_model mtcnn)")  # fmt: skip
    voice_model_dir: Path = setting(PROJECT_ROOT / "voice_model" / "models", "shipped voice models")
    fusion_model_dir: Path = setting(PROJECT_ROOT / "fusion_model" / "models", "shipped face + voice combiners")
    device: str = setting("cpu", "torch device of the ViT face classifier (cpu, cuda)")
    cnn_model_name: str = setting(DEFAULT_CNN_MODEL, "the `cnn` face classifier: a folder of face_model/models",
                                  env="CNN_MODEL")  # fmt: skip
    cnn_small_face_model: str = setting(DEFAULT_CNN_SMALL_FACE_MODEL, "the `cnn` classifier's network for faces "
                                        "under small_face_model_below_px, trained on faces as video delivers them; "
                                        "empty: every face goes to the main network")  # fmt: skip
    small_face_model_below_px: float = setting(40.0, "short side (px, in the frame) below which a face goes to "
                                               "cnn_small_face_model", minimum=0)  # fmt: skip
    face_int8: bool = setting(True, "run the `cnn` classifier's int8 graph (onnxruntime) where the model ships one")
    voice_model_name: str = setting(DEFAULT_VOICE_MODEL, "the voice model an analysis's `default` means: a folder of "
                                    "voice_model/models", env="VOICE_MODEL")  # fmt: skip
    fusion_model_name: str = setting(DEFAULT_FUSION_MODEL, "the face + voice combiner: a folder of "
                                     "fusion_model/models", env="FUSION_MODEL")  # fmt: skip
    vit_model: str = setting("trpakov/vit-face-expression", "the `vit` face classifier: a local folder or a "
                             "Hugging Face id (from its cache unless downloads are allowed)")  # fmt: skip
    allow_downloads: bool = setting(False, "let optional models come from the Hugging Face hub; the default run "
                                    "needs nothing from the network")  # fmt: skip
    mtcnn_thresholds: tuple[float, ...] = setting((0.6, 0.7, 0.7), "MTCNN's three stage thresholds "
                                                  "(the original project's)")  # fmt: skip
    # at 0.7 MTCNN boxes textures (a patch of the astronaut's suit scores 0.79); real faces in our test media
    # score above 0.95
    min_face_score: float = setting(0.9, "MTCNN's final probability below which a detection is dropped",
                                    minimum=0, maximum=1)  # fmt: skip
    # a fraction, not pixels: the original fixed 200 px finds nothing in 640x360 video
    min_face_fraction: float = setting(0.06, "smallest face searched for, as a fraction of the frame's short side",
                                       minimum=0, maximum=1)  # fmt: skip
    min_face_px: int = setting(20, "smallest face searched for, in pixels", minimum=1)
    detect_max_side: int = setting(640, "frames are searched for faces on a copy whose long side is at most this "
                                   "(px); crops come from the full frame", minimum=32)  # fmt: skip
    small_face_px: int = setting(24, "faces smaller than this (short side, px) are flagged low-confidence", minimum=0)
    max_pixels: int = setting(8192 * 8192, "largest decoded image or frame, in pixels (defends against decompression "
                              "bombs; passed to FFmpeg's decoders): larger is refused `too_large`",
                              minimum=1)  # fmt: skip
    debug: bool = setting(False, "the CLI shows the traceback of an unexpected failure")

    def replace(self, **changes: object) -> "Settings":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The engine's settings from ``environ`` (default: the process environment)."""
    return load(Settings, environ)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment the first time they are asked for."""
    return load_settings()
