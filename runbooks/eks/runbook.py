"""The shape every EKS diagnosis shares: read (probe) → report (probe) → apply fix (destructive, `--yes`).

`read` connects with the stack's kubeconfig context (KubernetesTarget) and gathers Evidence;
`report` classifies it and prints what was looked at, what was found, the evidence line and what
to do, then the fix as stack-config keys (old → new) and the file's diff; `apply fix` writes exactly
those keys through StackConfigEdit (validated, recorded in the run record, restored on rollback)
and shows `pulumi preview` when the engine tools are built. Without `--yes` the runbook has no
destructive step: it reads and reports, and says how to apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from infra.spec.model import Platform
from runbooks.eks.diagnosis import Diagnosis
from runbooks.eks.evidence import Evidence
from runbooks.framework import BadInput, Options, Run, Runbook, RunbookError, Step

if TYPE_CHECKING:  # imported by the fix step only: a read-only run never loads the stack-config editor
    from runbooks.framework.stackedit import StackConfigEdit

__all__ = ["SEED", "build_diagnosis", "report"]

SEED = "seed 003 트러블슈팅 가이드"

Read = Callable[[Any, Platform, Options], Evidence]  # (Reader, platform, options) -> Evidence
Classify = Callable[[Evidence, Platform, Options], Diagnosis]


@dataclass
class Diagnose:
    """What the steps share: the evidence read, then the stack-config fix shown (None: no fix)."""

    evidence: Evidence | None = None
    edit: StackConfigEdit | None = None


def report(run: Run, diagnosis: Diagnosis) -> None:
    """What it looked at, what it found, the evidence, what to do (stderr; `--json` has it all)."""
    from infra.fitted_table import fitted

    run.log("[bold]looked at[/]")
    for item in diagnosis.looked_at:
        run.log(f"  {escape(item)}")
    if not diagnosis.findings:
        run.log("[green]found nothing wrong in what it read[/]")
        return
    rows = [[escape(f.cause), escape(f.subject), escape(f.summary)] for f in diagnosis.findings]
    fitted(run.display.console, "found", ("cause", "where", "what"), rows, notes="what")
    for f in diagnosis.findings:
        run.log(f"[bold]{escape(f.cause)}[/] ({escape(f.subject)})")
        for line in f.evidence[:5]:
            run.log(f"  evidence: {escape(line)}")
        if f.advice:
            run.log(f"  what to do: {escape(f.advice)}")
        if f.fix:
            run.log(f"  fix ({escape(f.fix.seed)}): " + ", ".join(f"{k} → {v!r}" for k, v in f.fix.changes))


def _show_fix(run: Run, platform: Platform, changes: list[tuple[str, Any]]) -> StackConfigEdit | None:
    """The edit, old → new per key and the unified diff; None when nothing is proposed."""
    from runbooks.eks.fixes import prepare, preview_note

    if not changes:
        return None
    edit = prepare(platform, changes)
    run.log("[bold]stack config fix[/] (" + escape(str(edit.path.name)) + ")")
    for key, old, new in edit.changes:
        run.log(f"  inferops:{escape(key)}: {escape(repr(old))} → {escape(repr(new))}")
    run.display.console.print(edit.diff(), markup=False, highlight=False)
    note = preview_note()
    if note:
        run.log(f"[dim]{escape(note)}[/]")
    return edit


def build_diagnosis(name: str, title: str, seed: str, read: Read, classify: Classify) -> Callable[..., Runbook]:
    """A `build(platform, options)` for `runbooks.cli.launch` from a reader and a classifier."""

    def build(platform: Platform, options: Options) -> Runbook:
        if platform.target != "eks":
            raise BadInput(
                f"runbook.{name} reads a Kubernetes cluster; stack {platform.stack!r} targets {platform.target}"
            )

        def do_read(run: Run) -> dict[str, Any]:
            from runbooks.eks.reader import Reader

            run.target.ping()  # Kubernetes: the stack's kubeconfig context and inference namespace
            reader = Reader(run.target)
            evidence = run.state_as(Diagnose).evidence = read(reader, platform, options)
            return {"looked_at": list(evidence.looked_at)}

        def do_report(run: Run) -> dict[str, Any]:
            state = run.state_as(Diagnose)
            if state.evidence is None:
                raise RunbookError("nothing to classify: the read step has not run")
            diagnosis = classify(state.evidence, platform, options)
            report(run, diagnosis)
            state.edit = _show_fix(run, platform, diagnosis.changes())
            if state.edit is not None and not options.yes:
                run.log(f"[yellow]read-only: rerun with --yes to write the fix (invoke runbook.{name} --yes)[/]")
            run.measure("diagnosis", diagnosis.to_dict())
            return {"causes": diagnosis.causes, "changes": [k for k, _ in diagnosis.changes()]}

        def apply_fix(run: Run) -> dict[str, Any]:
            edit = run.state_as(Diagnose).edit
            if edit is None:
                run.log("no stack-config fix to apply")
                return {"applied": []}
            edit.apply(run)
            run.log(f"wrote {escape(str(edit.path))}; deploy it with `invoke stack.up --stack {platform.stack}`")
            _preview(run, platform)
            return {"applied": [k for k, _, _ in edit.changes]}

        steps = [
            Step("read", do_read, summary="pods, events, logs and the objects seed 003's commands show", probe=True),
            Step(
                "report", do_report, summary="cause, evidence, what to do; the fix as a stack-config diff", probe=True
            ),
        ]
        if options.yes or options.dry_run:
            steps.append(Step("apply fix", apply_fix, summary="write the fix's keys to stack config", destructive=True))
        return Runbook(name=name, title=title, steps=tuple(steps), seed=seed, exclusive=options.yes, state=Diagnose)

    return build


def _preview(run: Run, platform: Platform) -> None:
    """`pulumi preview` of the written config, only when the engine tools exist (never builds them)."""
    from runbooks.eks.fixes import preview_note

    note = preview_note()
    if note:
        run.log(f"[dim]{escape(note)}[/]")
        return
    from infra.engine.ops import EngineStack
    from infra.engine.ops import run as engine_run
    from infra.errors import InferopsError

    try:
        engine_run("preview", EngineStack(platform.stack), on_output=lambda text: run.log(escape(text.rstrip())))
    except InferopsError as err:
        run.log(f"[yellow]pulumi preview did not run: {escape(str(err))}[/]")
