"""The checks of `runbook.daily-check` (seed 004's 일일 운영 체크리스트 and seed 003's daily checks).

Each module reads one thing (containers, logs, disk, GPU, Kubernetes, Prometheus) and returns
`Finding`s with a verdict; `runbooks/daily_check/runbook.py` runs them as read-only steps.
"""
