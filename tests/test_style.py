"""The code style is part of the build: ruff's lint rules and formatter (configured in pyproject.toml), and the
layering: the runtime never imports the training packages, no module imports itself in a circle, and the web front
end imports nothing of the engine or the service, so that its image carries neither."""

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("backend", "callback", "webui", "face_model", "voice_model", "fusion_model", "speaker_model")
TRAINING_PACKAGES = {"face_model", "voice_model", "fusion_model", "speaker_model"}
WEB_FRONT_END = [ROOT / "webapp.py", *sorted((ROOT / "webui").glob("*.py"))]
WEB_REQUIREMENTS = ROOT / "requirements" / "webapp.in"


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_lint_rules_pass():
    done = ruff("check", ".")
    assert done.returncode == 0, done.stdout


def test_code_is_formatted():
    done = ruff("format", "--check", ".")
    assert done.returncode == 0, done.stdout


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    folder = ROOT.joinpath(*name.split("."))
    return folder.with_suffix(".py").is_file() or (folder / "__init__.py").is_file()


def executed_nodes(tree: ast.AST):
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:``, which only a type checker reads."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            yield from (n for child in node.orelse for n in [child, *executed_nodes(child)])
            continue
        yield node
        yield from executed_nodes(node)


def imported_names(path: Path) -> list[str]:
    """Every module ``path`` imports when it runs, at its top or inside a function, as absolute dotted names:
    ``from a import b`` gives ``a.b`` where that is a module, else ``a``."""
    own = module_name(path).split(".")
    package = own if path.name == "__init__.py" else own[:-1]
    names = []
    for node in executed_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names += [f"{module}.{a.name}" if is_module(f"{module}.{a.name}") else module for a in node.names]
    return names


def test_the_runtime_the_service_and_the_web_front_end_import_no_training_package():
    reached = []
    for path in [*(ROOT / "backend").rglob("*.py"), *(ROOT / "callback").rglob("*.py"), *WEB_FRONT_END]:
        for name in imported_names(path):
            if name.split(".")[0] in TRAINING_PACKAGES:
                reached.append(f"{path.relative_to(ROOT)}: {name}")
    assert reached == []


def modules_in_circles() -> set[str]:
    """The project's modules that import themselves through others (function-level imports included)."""
    modules = {module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")}
    graph = {name: {dep for dep in imported_names(path) if dep in modules and dep != name}
             for name, path in modules.items()}  # fmt: skip
    circles = set()
    for start in graph:
        seen, frontier = set(), list(graph[start])
        while frontier:
            name = frontier.pop()
            if name not in seen:
                seen.add(name)
                frontier += graph[name]
        if start in seen:
            circles.add(start)
    return circles


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_imports_itself_through_others(package):
    """A circle of imports (function-level ones included) means two modules are one job split wrongly."""
    assert sorted(name for name in modules_in_circles() if name.split(".")[0] == package) == []


def test_the_web_front_end_imports_nothing_of_the_service():
    """``webapp.py`` and ``webui`` talk to the service over HTTP only."""
    reached = [f"{path.name}: {name}" for path in WEB_FRONT_END for name in imported_names(path)
               if name.split(".")[0] == "callback"]  # fmt: skip
    assert reached == []


ENGINE = ("backend.pipeline", "backend.media", "backend.faces", "backend.voice", "backend.fusion", "backend.transcribe",
          "backend.render")  # fmt: skip
HEAVY = {"torch", "flask", "callback", "keras", "onnxruntime", "cv2", "av", "transformers", "faster_whisper"}


def test_importing_the_web_app_loads_neither_torch_nor_flask_nor_the_engine():
    """Every module of ``webui`` imported in a fresh interpreter (``webapp.py`` itself draws the page when imported;
    it imports only ``webui``, see above)."""
    modules = [module_name(path) for path in WEB_FRONT_END if path.name != "webapp.py"]
    script = "import importlib, json, sys\n" + "".join(f"importlib.import_module({name!r})\n" for name in modules)
    script += "print(json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert [name for name in loaded if name.split(".")[0] in HEAVY or name.startswith(ENGINE)] == []


def web_app_sources() -> list[Path]:
    """``webapp.py``, ``webui`` and every module of the project they reach by imports, and those modules' packages."""
    sources, frontier = set(), list(WEB_FRONT_END)
    while frontier:
        path = frontier.pop()
        if path in sources:
            continue
        sources.add(path)
        for name in imported_names(path):
            parts = name.split(".")
            if parts[0] in PACKAGES:
                for depth in range(1, len(parts) + 1):
                    folder = ROOT.joinpath(*parts[:depth])
                    frontier += [p for p in (folder / "__init__.py", folder.with_suffix(".py")) if p.is_file()]
    return sorted(sources)


def test_every_package_the_web_app_imports_is_pinned_in_its_requirements():
    """The web image installs ``requirements/webapp.in``'s packages only: whatever the web app's code imports must be
    one of them."""
    pinned = {re.split(r"[=<>\[ ]", line)[0].lower() for line in WEB_REQUIREMENTS.read_text().splitlines()
              if line.strip() and not line.startswith("#")}  # fmt: skip
    distributions = importlib.metadata.packages_distributions()
    third_party = {name.split(".")[0] for path in web_app_sources() for name in imported_names(path)}
    third_party -= set(PACKAGES) | set(sys.stdlib_module_names) | {"__future__"}
    missing = {top: distributions.get(top) for top in third_party
               if not {d.lower() for d in distributions.get(top, [])} & pinned}  # fmt: skip
    assert missing == {}
