"""Seed 003's EKS troubleshooting as runbooks: `runbook.gpu-oom`, `runbook.model-loading`,
`runbook.karpenter-diagnose`, `runbook.network` (docs/runbooks/<name>.md).

Each reads what an operator would read (reader.py → evidence.py), classifies the cause with a pure
function (classify/), and proposes the seed's fix as a stack-config change (fixes.py) that only
`--yes` writes (runbook.py). The package imports nothing, so `invoke --list` stays fast.
"""
