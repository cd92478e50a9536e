"""The index of findings (tests/security/__init__.py) names tests that exist."""

import ast
from pathlib import Path

import pytest

from tests.security import FINDINGS

ROOT = Path(__file__).resolve().parents[2]


def named_tests(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }


@pytest.mark.parametrize("finding", sorted(FINDINGS))
def test_every_finding_names_tests_that_exist(finding: str) -> None:
    for reference in FINDINGS[finding]:
        path, _, name = reference.partition("::")
        module = ROOT / path
        assert module.is_file(), reference
        found = named_tests(module)
        assert found, f"{path} holds no test"
        if name:
            assert name in found, reference
