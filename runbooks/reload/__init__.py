"""`runbook.reload`: replace a llama-server with new settings without losing a request (seed 002).

`runbook.build(platform, options)` is what `runbooks.cli.launch("reload.runbook", ...)` calls; the phases are in
`compose_steps.py` (Docker) and `k8s_steps.py` (Kubernetes); docs/runbooks/reload.md explains
how traffic moves.
"""
