"""The bundled measure plus the three fictional test documents of ``evals/documents/`` in one real index (as
``eval --documents`` and ``index --add`` place them): the ids, and a CLI call against such a home. The index itself is
the session fixture ``documents_home`` in ``conftest.py``, built once for every module that asks several documents."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FUND, DISTRICT, NOTICE = "fund-measures-standin", "nanshan-digital-economy-measures", "application-notice-2023"
PRIMARY = "sz-digital-creative-2022"


def ask_cli(home: Path, question: str, *flags: str) -> dict:
    """``policy-assistant ask --json [flags] question`` against ``home``, parsed."""
    env = {**os.environ, "POLICY_ASSISTANT_HOME": str(home), "PYTHONPATH": str(ROOT)}
    env.pop("POLICY_ASSISTANT_CORPUS", None)
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "ask", "--json", *flags, question],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=300, check=True)
    return json.loads(done.stdout)
