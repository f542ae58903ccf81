"""invoke entry point: `invoke --list` shows every task; `invoke runbook.<name>` runs a runbook."""

from invoke import Collection

from infra.cli import engine, images, kube, observability, stack
from runbooks import tasks as runbook_tasks

ns = Collection()
ns.add_collection(Collection.from_module(stack, name="stack"))
ns.add_collection(Collection.from_module(observability, name="observability"))
ns.add_collection(Collection.from_module(engine, name="engine"))
ns.add_collection(Collection.from_module(images, name="images"))
ns.add_collection(Collection.from_module(kube, name="kube"))
ns.add_collection(runbook_tasks.collection())
