"""systemd files that run one watch cycle every `inferops:watch.interval_s` on a GPU host.

`invoke runbook.watch-units --dest DIR` writes them; install with
`cp DIR/inferops-watch.* /etc/systemd/system/ && systemctl enable --now inferops-watch.timer`.
The service is `Type=oneshot` (a cycle that hangs is killed by `TimeoutStartSec`, and a second
start waits for the first: systemd never runs two at once, and the state lock backs that up).
The timer is monotonic (`OnUnitActiveSec`), `Persistent` for the boot case, with no jitter.
"""

from __future__ import annotations

from pathlib import Path

from infra.spec.model import Platform

__all__ = ["UNIT", "unit_files", "write_units"]

UNIT = "inferops-watch"


def unit_files(platform: Platform, checkout: Path, venv: Path, user: str = "inferops") -> dict[str, str]:
    w = platform.watch
    budget = int(w.check_timeout_s + w.explain_timeout_s + 2 * w.notify_timeout_s + 30)
    service = f"""[Unit]
Description=inferops watch: one monitoring cycle of stack {platform.stack} (runbook.watch)
Documentation=file://{checkout}/docs/runbooks/watch.md
After=network-online.target docker.service
Wants=network-online.target

[Service]
Type=oneshot
User={user}
WorkingDirectory={checkout}
Environment=PYTHONUNBUFFERED=1
# Secrets (receiver URLs, the gateway key): INFEROPS_<KEY>=... lines, mode 0600, never in this unit.
EnvironmentFile=-/etc/inferops/watch.env
ExecStart={venv}/bin/invoke runbook.watch --once --stack {platform.stack}
TimeoutStartSec={budget}
Nice=5
"""
    timer = f"""[Unit]
Description=inferops watch every {w.interval_s:g} s (stack {platform.stack})

[Timer]
OnBootSec=60
OnUnitActiveSec={w.interval_s:g}s
AccuracySec=1s
Persistent=true
Unit={UNIT}.service

[Install]
WantedBy=timers.target
"""
    return {f"{UNIT}.service": service, f"{UNIT}.timer": timer}


def write_units(platform: Platform, dest: Path, checkout: Path, venv: Path, user: str) -> list[Path]:
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for name, text in unit_files(platform, checkout, venv, user).items():
        path = dest / name
        path.write_text(text)
        out.append(path)
    return out
