"""The code style is part of the build: ruff's lint rules and formatter (configured in pyproject.toml), and the
layering: the runtime never imports the training packages."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_lint_rules_pass():
    done = ruff("check", ".")
    assert done.returncode == 0, done.stdout


def test_code_is_formatted():
    done = ruff("format", "--check", ".")
    assert done.returncode == 0, done.stdout


TRAINING_PACKAGES = {"face_model", "voice_model", "fusion_model"}


def test_the_runtime_and_the_service_import_no_training_package():
    reached = []
    for path in [*(ROOT / "backend").rglob("*.py"), *(ROOT / "callback").rglob("*.py"), ROOT / "webapp.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            reached += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] in TRAINING_PACKAGES]
    assert reached == []
