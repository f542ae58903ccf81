"""llama-server command-line flags from the spec."""

from __future__ import annotations

from infra.spec.model import Service


def llama_args(svc: Service) -> tuple[str, ...]:
    """Flags for llama-server; `--port` is pinned because its default changed between versions."""
    llama = svc.llama
    if llama is None:
        raise ValueError(f"{svc.name} is not a llama-server service")
    args = [
        "--host", "0.0.0.0",
        "--port", str(svc.port),
        "-m", llama.model,
        "-ngl", str(llama.n_gpu_layers),
        "--parallel", str(llama.parallel),
        "-b", str(llama.batch_size),
        "-c", str(llama.ctx_size),
    ]  # fmt: skip
    if llama.metrics:
        args.append("--metrics")
    if llama.embeddings:
        args.append("--embeddings")
    args.extend(llama.extra_args)
    return tuple(args)


def flag_value(args: tuple[str, ...] | list[str], flag: str) -> str | None:
    """The value following `flag` in an argument list (used by checks on running processes)."""
    items = list(args)
    for i, arg in enumerate(items[:-1]):
        if arg == flag:
            return items[i + 1]
    return None
