"""Schemathesis against the served OpenAPI document, on the served process.

``st run --checks all`` through every phase (examples, coverage, fuzzing and the stateful
one): no 5xx, every error problem+json, valid requests accepted and invalid ones refused, and
every response as the document declares it (status, headers, schema). What a document cannot
say (a schema-valid event may break a domain rule: 422) is in ``schemathesis.toml`` beside
this file. ``FUZZ_EXAMPLES`` sets the examples per operation. ``make test`` runs a short
smoke of the examples, fuzzing and stateful phases; ``make fuzz`` (which sets
``FUZZ_EXAMPLES``) adds the coverage phase, whose thousands of boundary cases
``--max-examples`` does not bound.
``FUZZ_PHASES`` picks the phases by hand.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

DEEP = "FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
PHASES = os.environ.get(
    "FUZZ_PHASES", "examples,coverage,fuzzing,stateful" if DEEP else "examples,fuzzing,stateful"
)
CONFIG = Path(__file__).with_name("schemathesis.toml")
ST = Path(sys.executable).with_name("st")


def test_schemathesis_finds_nothing_in_any_phase(
    served: str, served_headers: dict[str, str]
) -> None:
    # With an admin token: every operation is reached, not stopped at 401.
    headers = [
        part for name, value in served_headers.items() for part in ("-H", f"{name}: {value}")
    ]
    command = [
        str(ST),
        "--config-file",
        str(CONFIG),
        "run",
        f"{served}/schema/openapi.json",
        "--checks",
        "all",
        "--phases",
        PHASES,
        "--max-examples",
        str(EXAMPLES),
        "--seed",
        os.environ.get("FUZZ_SEED", "20261207"),
        "--no-color",
        *headers,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
    report = result.stdout[-20_000:] + result.stderr[-5_000:]
    assert result.returncode == 0, " ".join(command) + "\n" + report
    assert "Stateful" in result.stdout, report
