"""A runbook run as a real process by test_durable.py: it faults one busybox container of a test
stack (stop or pause) with a durable undo, then blocks until it is signalled or killed.

argv: workdir, mode (stop | pause), deadline seconds. The platform is `workdir/platform.json`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from infra.spec.model import Platform
from runbooks.framework import Options, Run, Runbook, Step, execute
from runbooks.framework.display import Display
from runbooks.probes import wait_healthy_sync
from runbooks.targets import target_for

SERVICE = "inference-chat"


def main(workdir: Path, mode: str, deadline_s: float) -> int:
    platform = Platform.model_validate_json((workdir / "platform.json").read_text())
    target = target_for(platform)

    def restore() -> None:
        target.start(SERVICE)
        svc = platform.service(SERVICE)
        wait_healthy_sync(platform, svc, 20, target)

    def fault(run: Run) -> None:
        kind = "unpause" if mode == "pause" else "start"
        run.on_rollback(f"restore {SERVICE}", restore, durable=(kind, {"services": [SERVICE]}), deadline_s=deadline_s)
        target.pause(SERVICE) if mode == "pause" else target.stop(SERVICE, timeout_s=1)
        (workdir / "ready").touch()
        for _ in range(600):  # a step that takes long; a signal or a halt ends it
            time.sleep(0.1)

    book = Runbook("durable-demo", "durable demo", (Step(f"{mode} {SERVICE}", fault, destructive=True),))
    record = execute(book, Options(stack=platform.stack, yes=True), platform, display=Display())
    return record.exit_code or 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])))
