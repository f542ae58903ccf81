"""runbook.qdrant-restore: restore a collection from a backup, or reindex it through RAG (`--reindex`).

Replaces seed 004 scenario 2's "데이터 손상 시 복구" (`down qdrant`, `rm -rf` the data, `up`, `POST
/index?collection=default`), which deletes the data before any copy exists. Order here: health;
hold the writers (rag: `Target.hold`, docker pause / Kubernetes scale to 0); a verified pre-restore
copy of whatever Qdrant still holds; recover with `priority=snapshot` and the checksum; wait green;
verify against the manifest; release the writers; rag /health. Any failure or Ctrl-C after the
copy rolls back to it, then releases the writers.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from infra.spec.model import Platform
from runbooks.drill import scoped_silence, silence_plan
from runbooks.framework import BadInput, Options, Run, Runbook, RunbookError, Step
from runbooks.qdrant.state import QdrantRun, client, store
from runbooks.targets import Target

if TYPE_CHECKING:
    from runbooks.qdrant.manifest import Manifest
    from runbooks.qdrant.store import Store

WRITER = "rag"  # the service that writes into Qdrant (seed 004: rag indexes documents)


def _collection(platform: Platform, options: Options) -> str:
    """`--collection`, else the only collection in the backup location (reindex: seed's `default`)."""
    from runbooks.qdrant.errors import QdrantError
    from runbooks.qdrant.store import open_store

    name = options.extra.get("collection")
    if name:
        return str(name)
    if options.extra.get("reindex"):
        return "default"
    try:
        store = open_store(platform)
        try:
            found = store.collections()
        finally:
            store.close()
    except QdrantError as err:
        raise BadInput(str(err)) from None
    if len(found) == 1:
        return found[0]
    listed = ", ".join(found) if found else "none"
    raise BadInput(f"--collection is needed: collections with backups in {platform.backup.location}: {listed}")


def build(platform: Platform, options: Options, target: Target | None = None) -> Runbook:
    """`target` is how the writers are held (tests pass a double); default: the stack's target."""
    name = _collection(platform, options)
    reindex = bool(options.extra.get("reindex"))
    snapshot = str(options.extra.get("snapshot") or "latest")
    has_writer = WRITER in {s.name for s in platform.enabled()}
    cfg = platform.backup
    hold_deadline_s = cfg.green_timeout_s * 3 + 300  # the guard releases the writer by then

    def writers(run: Run) -> Target:
        if target is not None:
            run.target = target  # the test's double
        return run.target

    def health(run: Run) -> dict[str, Any]:
        from runbooks.qdrant import ops

        return ops.health(client(run))

    def choose(run: Run) -> dict[str, Any]:
        from runbooks.qdrant import ops
        from runbooks.qdrant.store import open_store

        opened = open_store(platform)
        run.cleanup("close the backup location", opened.close)  # after the rollbacks that use its copies
        run.state_as(QdrantRun).store = opened
        if reindex:
            return _reindex_config(run, opened, name)
        manifest, path = opened.find(name, snapshot)
        ops.check_file(manifest, path)
        run.state_as(QdrantRun).backup = (manifest, path)
        return {
            "snapshot": opened.uri(name, manifest.snapshot) if snapshot == "latest" else snapshot,
            "points_count": manifest.points_count,
            "taken": manifest.created_at,
        }

    def hold(run: Run) -> dict[str, Any]:
        if not has_writer:
            return {"writers": f"{WRITER} is not enabled in stack {platform.stack!r}: nothing to hold"}
        from runbooks.targets import TargetError

        # A restore can hold rag for longer than the `for:` of the alerts a down rag fires: they
        # are silenced (that service, those alerts, until the hold's deadline), anything else pages.
        scoped_silence(run, [WRITER], hold_deadline_s)
        # Registered first: Ctrl-C in the middle of a hold (scaled to 0, pods still going) releases too.
        # Durable: if the runner dies while the writer is held, its guard (or runbook.recover) releases it.
        undo = run.on_rollback(
            f"release {WRITER}",
            lambda: writers(run).release(WRITER),
            durable=("release", {"service": WRITER}),
            deadline_s=hold_deadline_s,
        )
        try:
            writers(run).hold(WRITER)
        except TargetError as err:
            undo.discharge()  # a hold that fails leaves the service as it was (Target.hold)
            raise RunbookError(f"cannot hold the writer {WRITER!r}: {err}; nothing was changed") from None
        run.state_as(QdrantRun).hold_undo = undo
        return {"held": WRITER, "where": writers(run).where}

    def copy(run: Run) -> dict[str, Any]:
        from runbooks.qdrant.restore import pre_restore_copy, recover_and_verify

        q, location = client(run), store(run)
        pre = pre_restore_copy(q, location, name, cfg.probe_limit)
        if pre is None:
            run.log(f"[yellow]collection {name!r} does not exist: no pre-restore copy, nothing to roll back to[/]")
            return {"pre_restore": None}
        run.on_rollback(
            f"recover {name!r} from the pre-restore copy",
            lambda: recover_and_verify(q, location, name, pre, cfg.green_timeout_s),
        )
        run.measure("points_before", pre.manifest.points_count)
        return {"pre_restore": pre.where, "points_count": pre.manifest.points_count}

    def recover(run: Run) -> dict[str, Any]:
        from runbooks.qdrant import ops

        q = client(run)
        manifest, path = _chosen(run)
        # Qdrant carries on with a recover whose client is gone: roll back only once it has answered.
        with run.uninterruptible(f"Qdrant's recover of {name!r}"):
            ops.upload_recover(q, name, path, manifest.sha256)
        return {"green_after_s": ops.wait_green(q, name, cfg.green_timeout_s)}

    def verify(run: Run) -> dict[str, Any]:
        from runbooks.qdrant import ops

        manifest, _ = _chosen(run)
        result = ops.verify(client(run), name, manifest)
        run.measure("points_after", result["points_count"])
        return result

    def release(run: Run) -> dict[str, Any]:
        undo = run.state_as(QdrantRun).hold_undo
        if undo is None:
            return {"writers": "none held"}
        writers(run).release(WRITER)
        undo.discharge()
        return {"released": WRITER}

    def rag_health(run: Run) -> dict[str, Any]:
        if not has_writer:
            return {"rag": "not enabled in this stack"}
        from runbooks.qdrant.connection import rag_address
        from runbooks.qdrant.reindex import rag_healthy

        return {
            "rag_healthy_after_s": rag_healthy(rag_address(platform), platform.service(WRITER).health.ready_within_s)
        }

    def rebuild(run: Run) -> dict[str, Any]:
        from runbooks.qdrant.reindex import recreate

        config = run.state_as(QdrantRun).config
        if config is None:
            raise RunbookError(f"no vectors config for {name!r}: the config step has not run")
        recreate(client(run), name, config)
        return {"recreated": name}

    def index(run: Run) -> dict[str, Any]:
        from runbooks.qdrant import ops
        from runbooks.qdrant.connection import rag_address
        from runbooks.qdrant.errors import VerificationFailed
        from runbooks.qdrant.reindex import index as rag_index

        answer = rag_index(rag_address(platform), name, cfg.index_timeout_s)
        after = ops.describe(client(run), name).points_count
        run.measure("points_after", after)
        if after == 0:
            raise VerificationFailed(f"rag indexed nothing into {name!r} (0 points after POST /index)")
        return {**answer, "points_after": after}

    health_step = Step("qdrant health", health, probe=True, summary="/readyz and /collections answer")
    if reindex:
        steps: tuple[Step, ...] = (
            health_step,
            Step("collection config", choose, probe=True, summary="vectors config from the last manifest or Qdrant"),
            Step("pre-restore copy", copy, summary=f"snapshot {name!r} as it is now, download and verify it"),
            Step("recreate", rebuild, destructive=True, summary=f"drop and recreate {name!r} empty"),
            Step("reindex", index, summary=f"rag POST /index?collection={name}; points before/after"),
            Step("rag health", rag_health, probe=True, summary="rag /health answers 200"),
        )
    else:
        steps = (
            health_step,
            Step("choose backup", choose, probe=True, summary=f"{snapshot} backup of {name!r}; sha256 of the file"),
            Step(
                "hold writers",
                hold,
                destructive=True,
                summary=f"hold {WRITER}: docker pause / k8s scale to 0; {silence_plan(platform, [WRITER])}",
            ),
            Step("pre-restore copy", copy, summary=f"snapshot {name!r} as it is now, download and verify it"),
            Step("recover", recover, destructive=True, summary="upload with priority=snapshot + checksum; wait green"),
            Step("verify", verify, probe=True, summary="points count, vectors config and probe ids vs the manifest"),
            Step("release writers", release, summary=f"release {WRITER}: unpause / scale back"),
            Step("rag health", rag_health, probe=True, summary="rag /health answers 200"),
        )
    what = "reindex through RAG" if reindex else f"restore from the {snapshot} backup"
    return Runbook(
        name="qdrant-restore",
        title=f"{what}: collection {name!r}",
        seed="seed 004 scenario 2 'Qdrant 연결 실패' (rm -rf + reindex), seed 003 weekly '복구 테스트'",
        steps=steps,
        state=QdrantRun,
    )


def _chosen(run: Run) -> tuple[Manifest, Path]:
    chosen = run.state_as(QdrantRun).backup
    if chosen is None:
        raise RunbookError("no backup is chosen: the step that chooses it has not run")
    return chosen


def _reindex_config(run: Run, location: Store, name: str) -> dict[str, Any]:
    """The config to recreate with: the newest manifest's, else the collection's current one."""
    from runbooks.qdrant import ops

    manifests = location.manifests(name)
    if manifests:
        run.state_as(QdrantRun).config = manifests[-1].config
        source = f"manifest {manifests[-1].snapshot}"
    elif ops.exists(client(run), name):
        state = ops.describe(client(run), name)
        run.state_as(QdrantRun).config = state.config
        source = f"collection {name!r} as it is"
        run.measure("points_before", state.points_count)
    else:
        from runbooks.qdrant.errors import NoSnapshot

        raise NoSnapshot(f"no manifest and no collection {name!r}: its vectors config is unknown, cannot recreate it")
    return {"config_from": source}
