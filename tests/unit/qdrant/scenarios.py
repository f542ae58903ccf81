"""Scenario helpers shared by the double tests and the live switch: run the runbooks, read results."""

from __future__ import annotations

from typing import Any

from infra.spec.model import Platform
from runbooks.framework import Options, execute
from runbooks.framework.display import Display
from runbooks.framework.record import RunRecord
from runbooks.qdrant import backup_runbook, restore_runbook
from runbooks.qdrant.store import LocalStore


def run_backup(platform: Platform, *collections: str, **opts: Any) -> RunRecord:
    options = Options(stack=platform.stack, json=True, extra={"collection": list(collections)}, **opts)
    return execute(backup_runbook.build(platform, options), options, platform, display=Display(quiet=True))


def run_restore(platform: Platform, target: Any, collection: str, **extra: Any) -> RunRecord:
    dry_run = extra.pop("dry_run", False)
    options = Options(stack=platform.stack, yes=True, json=True, dry_run=dry_run,
                      extra={"collection": collection, **extra})  # fmt: skip
    runbook = restore_runbook.build(platform, options, target=target)
    return execute(runbook, options, platform, display=Display(quiet=True))


def store(platform: Platform) -> LocalStore:
    return LocalStore.for_platform(platform)


def step(record: RunRecord, name: str) -> Any:
    return next(s for s in record.steps if s.name == name)
