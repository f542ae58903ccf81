"""What the live tests share: the stack under test and how to reach its tasks."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INVOKE = str(Path(sys.executable).with_name("invoke"))
STACK = os.environ.get("INFEROPS_LIVE_STACK", "local")
