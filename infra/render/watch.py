"""The watch as a service of the stack it watches (the `watch` row of infra/spec/defaults.py).

Rendered once for every target from the row: the command (the `--loop` of runbook.watch for
this stack), the secrets its receivers need (as `INFEROPS_<KEY>` variables, which the watch reads
like any runbook), and the platform it watches as a JSON file, so the container needs no stack
file and no Pulumi: the deployed platform, seen from the stack network, its heartbeat served on
the row's port (which Prometheus scrapes, so WatchStopped fires when the container stops).
"""

from __future__ import annotations

from infra.configfile import ConfigFile
from infra.observability.scrape import GATEWAY_KEY_SECRET
from infra.secrets_local import env_name
from infra.spec.alerting import SECRET_FOR_KIND, Receiver
from infra.spec.defaults import PLATFORM_FILE_ENV, WATCH_SERVICE
from infra.spec.model import Platform, Service

__all__ = ["WATCH_SERVICE", "receiver_secret", "receivers", "watch_command", "watch_files", "watch_secret_env"]

# Only Alertmanager speaks PagerDuty's Events API; the watch leaves those receivers out.
ALERTMANAGER_ONLY_KINDS = ("pagerduty",)


def receivers(platform: Platform) -> tuple[Receiver, ...]:
    """The watch's receivers: its own list, else the alerting default receiver."""
    if platform.watch.receivers is not None:
        return platform.watch.receivers
    return (platform.alerting.receiver(platform.alerting.default_receiver),)


def receiver_secret(rcv: Receiver) -> str | None:
    """The secret holding the URL the watch posts to for `rcv`; None when it needs none.

    Unlike Alertmanager, the watch posts Synology's form field itself (no relay), so a synology
    receiver needs the webhook URL even when Alertmanager's goes through the relay service.
    """
    if rcv.kind == "discard" or rcv.kind in ALERTMANAGER_ONLY_KINDS:
        return None
    if rcv.kind == "webhook" and rcv.service is not None:
        return None
    return SECRET_FOR_KIND[rcv.kind]


def watch_secret_env(platform: Platform) -> dict[str, str]:
    """Environment variable -> secret key: the receivers' URLs, and the gateway key when the watch
    asks the gateway for explanations."""
    keys = [k for k in (receiver_secret(r) for r in receivers(platform)) if k]
    if platform.watch.explain:
        keys.append(GATEWAY_KEY_SECRET)
    return {env_name(k): k for k in dict.fromkeys(keys)}


def watch_command(platform: Platform) -> tuple[str, ...]:
    """The container's arguments to `invoke`: cycles every `watch.interval_s` until stopped."""
    return ("runbook.watch", "--loop", "--stack", platform.stack)


def watched_platform(platform: Platform, svc: Service) -> Platform:
    """The platform as the watch container sees it: every service by name on the stack network,
    its heartbeat on the row's port."""
    watch = platform.watch.model_copy(update={"metrics_port": svc.port})
    return platform.model_copy(update={"vantage": "stack-network", "watch": watch})


def watch_files(platform: Platform) -> list[ConfigFile]:
    """The platform file, at the path the row's environment names."""
    svc = platform.services.get(WATCH_SERVICE)
    if svc is None or not svc.enabled:
        return []
    text = watched_platform(platform, svc).model_dump_json(indent=2) + "\n"
    return [ConfigFile(service=svc.name, path=svc.env[PLATFORM_FILE_ENV], render=lambda _secrets: text)]
