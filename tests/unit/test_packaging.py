"""The package: what the base install carries, its extras, its licence."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import governor

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ("typer", "rich", "pygments")
CONSOLE_PARTS = ("governor.cli", "governor.demo")  # the console, and the demo it runs


def project() -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return data["project"]  # type: ignore[no-any-return]  # TOML is untyped


def names(requirements: list[str]) -> set[str]:
    return {r.split(";")[0].split("[")[0].split(">")[0].split("=")[0].strip()
            for r in requirements}


def test_the_console_packages_come_with_the_console_extra_which_demo_includes() -> None:
    meta = project()
    extras = meta["optional-dependencies"]
    assert not names(meta["dependencies"]) & set(CONSOLE)
    assert names(extras["console"]) == {"typer", "rich"}
    assert "quota-governor[console]" in extras["demo"]
    assert meta["scripts"] == {"governor": "governor.cli:main"}


def test_the_library_imports_without_the_console_packages() -> None:
    modules = [m.name for m in pkgutil.walk_packages(governor.__path__, "governor.")
               if not m.name.startswith(CONSOLE_PARTS) and not m.name.endswith(".__main__")]
    blocked = "".join(f"sys.modules[{n!r}] = None\n" for n in CONSOLE)  # import raises
    code = f"import importlib, sys\n{blocked}for m in {modules!r}:\n    importlib.import_module(m)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False, timeout=120)
    assert result.returncode == 0, result.stderr


def test_the_licence_file_is_the_one_pyproject_names() -> None:
    assert project()["license"] == "MIT"
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "the governor authors" in text
