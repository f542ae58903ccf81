"""invoke tasks `runbook.reload` and `runbook.reload-status` (collected into the `runbook` namespace
by runbooks/tasks.py). Heavy imports stay inside the bodies so `invoke --list` stays fast."""

from __future__ import annotations

from invoke import Context

from infra.cli.guard import task
from runbooks.help import JSON, STACK

COMMON = {
    "stack": STACK,
    "dry-run": "print the plan and the stack config diff, run only the read-only checks, change nothing",
    "yes": "act (start/stop instances, write stack config) without asking",
    "json": JSON,
}


@task(
    iterable=["set_"],
    help={
        **COMMON,
        "service": "the llama-server service to reload (e.g. inference-chat)",
        "set": "key=value to change, repeatable: model, n_gpu_layers, ctx_size, extra_args, or a full "
        "key under inferops: (services.<svc>.<key>, tuning.<KNOB>)",
        "model": "shorthand for --set model=PATH (a path inside the container)",
    },
)
def reload(
    c: Context,
    service: str = "",
    stack: str = "local",
    set_: list[str] | None = None,
    model: str | None = None,
    dry_run: bool = False,
    yes: bool = False,
    json: bool = False,
) -> None:
    """Replace a llama-server with new settings under load, losing no request (seed 002's 5 phases)."""
    from runbooks.cli import launch, options
    from runbooks.reload.runbook import build

    launch(build, options(stack, service or None, dry_run, yes, json, set=list(set_ or []), model=model))


@task(name="reload-status", help={"stack": COMMON["stack"], "json": "print the status as JSON"})
def reload_status(c: Context, stack: str = "local", json: bool = False) -> None:
    """State, percent and step of the latest reload (readable while one runs)."""
    import json as json_

    from rich.console import Console

    from infra.spec.stackconfig import read_stack_config
    from runbooks.reload.status import reload_status as read

    read_stack_config(stack)  # an unknown stack is bad input, not an idle one
    st = read(stack)
    if json:
        print(json_.dumps(st, indent=2, default=str))
        return
    pct = "" if st.get("progress_percent") is None else f" {st['progress_percent']:.0f}%"
    Console().print(f"[bold]{st['state']}[/]{pct}  {st.get('message', '')}")
    for key in ("service", "started_at", "completed_at", "error", "record"):
        if st.get(key):
            Console().print(f"  {key}: {st[key]}")
    for ch in st.get("config_changes") or []:
        Console().print(f"  {ch['key']}: {ch['old']!r} → {ch['new']!r}")
