"""Runs of the benchmark suite for its smoke tests: ``python -m bench --quick``."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def quick_run(*options: str) -> str:
    """The output of ``python -m bench --quick *options``, which must succeed."""
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout
