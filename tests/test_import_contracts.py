"""Imports point one way: the import-linter contracts of pyproject.toml (`[tool.importlinter]`).

grimp, import-linter's engine, walks the directory of `keras_bert` only, and the serving package
lives in `export/` (installed as `keras_bert.export`, see setup.py). So the contracts are checked on
a copy of the Python files laid out as installed, `export/` at `keras_bert/export`, linted in a
subprocess whose first path entry is that copy (this process has imported the real `keras_bert`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "pyproject.toml"
LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(config_filename=sys.argv[1], limit_to_contracts=tuple(sys.argv[2:]), "
    "no_cache=True, no_logo=True))"
)


def _python_files(directory: str, names: list[str]) -> list[str]:
    """copytree's ignore: everything but packages and .py files."""
    return [
        name for name in names
        if name == "__pycache__" or not (name.endswith(".py") or Path(directory, name).is_dir())
    ]


def _installed_layout(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    shutil.copytree(ROOT / "keras_bert", src / "keras_bert", ignore=_python_files)
    shutil.copytree(ROOT / "export", src / "keras_bert" / "export", ignore=_python_files)
    return src


def _lint(src: Path, *contract_ids: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", LINT, str(CONFIG), *contract_ids],
        cwd=src, capture_output=True, text=True, timeout=120,
    )


def test_import_contracts_are_kept(tmp_path):
    result = _lint(_installed_layout(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 4 kept, 0 broken." in result.stdout, result.stdout


@pytest.mark.parametrize(
    "bad_module,source,contract",
    [
        ("layers/_bad.py", "from keras_bert.training import optimizers\n", "layers"),
        ("models/_bad.py", "from keras_bert.convert import load_backbone\n", "models"),
        ("export/_bad.py", "import keras_bert.tasks.common\n", "export"),
        ("tasks/fill_mask/_bad.py", "import keras_bert.commands\n", "direction"),
    ],
    ids=["layers", "models", "export", "direction"],
)
def test_a_wrong_way_import_breaks_its_contract(tmp_path, bad_module, source, contract):
    src = _installed_layout(tmp_path)
    (src / "keras_bert" / bad_module).write_text(source)
    result = _lint(src, contract)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Contracts: 0 kept, 1 broken." in result.stdout, result.stdout
    importer = "keras_bert." + bad_module.removesuffix(".py").replace("/", ".")
    assert re.search(rf"^-\s+{re.escape(importer)} -> ", result.stdout, re.MULTILINE), result.stdout
