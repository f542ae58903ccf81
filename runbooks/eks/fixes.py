"""Seed 003's fixes as stack-config values, and the edit that writes them (the gpu-layers path).

The helpers compute a new value from the stack's current one (more zones, a raised limit, half
the batch size); `prepare` turns a diagnosis' changes into a validated StackConfigEdit (the same
runbooks/framework/stackedit.py the gpu-layers and reload runbooks write through), so a fix that
would make the stack invalid is reported before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from infra.spec.eks import GPU_FAMILIES, instance_family
from infra.spec.model import Platform

__all__ = [
    "SEED_INSTANCE_TYPES",
    "SEED_MEMORY_GIB",
    "SEED_REQUEST_TIMEOUT_S",
    "added",
    "halved",
    "prepare",
    "preview_note",
    "raised_limit",
]

# Seed 003 "Karpenter 노드 프로비저닝 실패" fix 1: several instance types.
SEED_INSTANCE_TYPES = ("p4d.24xlarge", "p4de.24xlarge", "p5.48xlarge")
# Seed 003 "모델 로딩 실패" fix 3: requests 32Gi, limits 64Gi while loading.
SEED_MEMORY_GIB = (32, 64)
# Seed 003 "네트워크 지연 문제" fix 3: REQUEST_TIMEOUT 300 s.
SEED_REQUEST_TIMEOUT_S = 300
GPU_LIMIT_STEP = 8  # GPUs per p4d/p5 node: limits are raised in whole nodes


def added(current: Iterable[str], extra: Iterable[str]) -> list[str]:
    """`current` with `extra` appended where missing (order kept: first is preferred)."""
    out = list(current)
    out += [v for v in extra if v not in out]
    return out


def halved(current: int, floor: int = 1) -> int:
    return max(floor, current // 2)


def raised_limit(limit: float, used: float, wanted: float, step: int = GPU_LIMIT_STEP) -> int:
    """A limit that fits what is provisioned plus what pending pods want, in whole `step`s."""
    need = used + wanted
    raised = max(limit + step, -(-need // step) * step)
    return int(raised)


def gpu_types_for(families_or_types: Iterable[str]) -> list[str]:
    """The seed's instance types the GPU pool does not list yet (all are known GPU families)."""
    have = set(families_or_types)
    return [t for t in SEED_INSTANCE_TYPES if t not in have and instance_family(t) in GPU_FAMILIES]


def prepare(platform: Platform, changes: list[tuple[str, Any]]) -> Any:
    """A validated StackConfigEdit of `changes` on the stack's file; BadInput when the stack
    would be invalid (the message names the key), nothing written."""
    from infra.spec.errors import ConfigError
    from runbooks.framework.errors import BadInput
    from runbooks.framework.stackedit import StackConfigEdit

    edit = StackConfigEdit(platform.stack)
    for key, value in changes:
        edit.set(key, _like(edit.get(key), value))
    try:
        edit.validate()
    except ConfigError as err:
        raise BadInput(f"the proposed fix would make stack {platform.stack!r} invalid: {err}") from None
    return edit


def _like(old: Any, value: Any) -> Any:
    """A list value written the way the file writes the old one (`[a, b]` stays a flow list)."""
    if not isinstance(value, list | tuple):
        return value
    from ruamel.yaml.comments import CommentedSeq

    seq = CommentedSeq(value)
    if old is None or (getattr(old, "fa", None) is not None and old.fa.flow_style()):
        seq.fa.set_flow_style()
    return seq


def preview_note() -> str | None:
    """None when the engine tools are built (a `pulumi preview` can run), else why not."""
    from infra.engine.tools import TOOLS

    missing = [t.name for t in TOOLS if not t.binary().is_file()]
    if not missing:
        return None
    return (
        f"`pulumi preview` not shown: the engine tools are not built here ({', '.join(missing)} missing "
        "in .tools/bin; the first `invoke engine.*`/`stack.preview` builds them, docs/engine.md)"
    )
