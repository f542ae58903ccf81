"""runbook.watch: seed 000's 5-minute monitoring agent (rule-first checks, debounce, alert on change).

Modules, one job each: `keys` (stable issue keys), `mute` (mute windows), `machine` (the pure
debounce/flapping/mute state machine), `store` (the persisted state: schema, atomic write, lock),
`baseline` (seed 001's latency EMA), `checks` (the parallel checks), `notify` (receivers and the
outbox), `explain` (the optional LLM explanation), `heartbeat` (the dead-man's switch),
`cycle` (one cycle end to end), `runbook` (framework steps), `tasks` (invoke tasks).
"""

__all__: list[str] = []
