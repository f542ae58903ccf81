"""Pulumi entry point (`main: infra/` in Pulumi.yaml)."""

import sys
from pathlib import Path

# The language host runs this directory as a script; make the `infra` package importable.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.program import main

main()
