"""Write the monitoring files of a stack into a directory, for review, CI checks and diffs.

The content is what the targets mount (same `observability_files`), under short names:
`prometheus.yml`, `rules/*.yml`, `alertmanager.yml`, `dashboards/*.json`, `grafana/...`.
Secret values are never written: credentials in alertmanager.yml are replaced with
`https://redacted.invalid/<key>` markers, and files that hold nothing but a secret are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from infra.configfile import ConfigFile
from infra.observability.alertmanager import redacted
from infra.observability.files import (
    ALERTMANAGER_CONFIG,
    GRAFANA_DASHBOARDS,
    GRAFANA_PROVISIONING,
    PROMETHEUS_CONFIG,
    observability_files,
)
from infra.observability.rules import RULES_DIR
from infra.spec.model import Platform

# Mounted path (or directory) -> exported name (or directory).
EXPORT_NAMES: dict[str, str] = {
    PROMETHEUS_CONFIG: "prometheus.yml",
    ALERTMANAGER_CONFIG: "alertmanager.yml",
    RULES_DIR: "rules",
    GRAFANA_DASHBOARDS: "dashboards",
    GRAFANA_PROVISIONING: "grafana/provisioning",
}


@dataclass(frozen=True)
class Exported:
    written: list[Path]
    skipped: list[str]  # mounted paths holding only a secret


def export_name(f: ConfigFile) -> str | None:
    for mounted, name in EXPORT_NAMES.items():
        if f.path == mounted:
            return name
        if f.path.startswith(mounted + "/"):
            return name + f.path[len(mounted) :]
    return None


def export_files(platform: Platform, out: Path) -> Exported:
    """Write every exportable monitoring file of `platform` into `out`."""
    written: list[Path] = []
    skipped: list[str] = []
    for f in observability_files(platform):
        name = export_name(f)
        if name is None:
            skipped.append(f.path)
            continue
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f.content(redacted(f.secret_keys)))
        written.append(target)
    return Exported(written, skipped)
