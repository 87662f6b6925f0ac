"""The SRE alert rules are valid and fire exactly as their unit tests say (promtool)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from streams import metrics
from streams.settings import REPO_ROOT

RULES_DIR = REPO_ROOT / "infra" / "prometheus"


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool not found: `make test` installs Debian's prometheus package")
    return path


def test_alert_rules_pass_promtool_check() -> None:
    done = subprocess.run([_promtool(), "check", "rules", "alerts.yml"], cwd=RULES_DIR,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 8 rules found" in done.stdout


def test_alert_rules_unit_tests_pass() -> None:
    done = subprocess.run([_promtool(), "test", "rules", "alerts.test.yml"], cwd=RULES_DIR,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_alert_rules_use_only_metrics_the_worker_exports() -> None:
    exported = {
        c._name for c in vars(metrics).values() if hasattr(c, "_name")
    }
    rules = (RULES_DIR / "alerts.yml").read_text()
    used = {m.removesuffix("_bucket").removesuffix("_total") for m in re.findall(r"gridwatch_[a-z_]+", rules)}
    exported_bases = {name.removesuffix("_total") for name in exported}
    assert used <= exported_bases, used - exported_bases
