"""The domain imports only the standard library and itself (beside import-linter's contracts)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import yadori.domain

DOMAIN = Path(yadori.domain.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_domain_imports_only_stdlib_and_itself() -> None:
    """Every import in domain/ is a standard-library module or yadori (its own package)."""
    allowed = set(sys.stdlib_module_names) | {"yadori", "__future__"}
    offenders = {
        str(path.relative_to(DOMAIN)): sorted(_imports(path) - allowed)
        for path in DOMAIN.rglob("*.py")
        if _imports(path) - allowed
    }
    assert offenders == {}


def test_domain_imports_no_other_yadori_package() -> None:
    """Within yadori, the domain imports only yadori.domain."""
    for path in DOMAIN.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.startswith("yadori")
            ):
                assert node.module.startswith("yadori.domain"), (path.name, node.module)
