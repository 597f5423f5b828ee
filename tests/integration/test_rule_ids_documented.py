"""docs/events.md lists exactly the rule ids the domain raises."""

from __future__ import annotations

import re
from pathlib import Path


def test_every_rule_id_is_documented_and_every_documented_id_exists() -> None:
    root = Path(__file__).resolve().parents[2]
    code = (root / "incidents" / "domain" / "rules.py").read_text()
    raised = set(re.findall(r'RuleBreak\(\s*"([a-z-]+)"', code))
    raised |= set(re.findall(r'RuleViolation\(\s*\w+,\s*"([a-z-]+)"', code))
    docs = (root / "docs" / "events.md").read_text()
    rules_section = docs.split("## Rules", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z-]+)` \|", rules_section, flags=re.MULTILINE))
    assert raised == documented
