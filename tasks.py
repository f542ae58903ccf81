"""invoke entry point: `invoke --list` shows every task; `invoke runbook.<name>` runs a runbook."""

from invoke import Collection

from infra.cli import stack

ns = Collection()
ns.add_collection(Collection.from_module(stack, name="stack"))
