"""Named errors of `runbook.gpu-layers`: each names the option, the bad value and the fix.

They are raised before anything is read from Docker or written to stack config, so a bad
invocation changes nothing.
"""

from __future__ import annotations

from infra.errors import BadInput, Failed


class GpuLayersError(BadInput, ValueError):
    """Base of the runbook's input errors; `option` is the command-line option at fault."""

    def __init__(self, option: str, value: object, fix: str) -> None:
        self.option = option
        self.value = value
        self.fix = fix
        super().__init__(f"{option} = {value!r}: {fix}")


class UnknownServiceError(GpuLayersError):
    """The service is not in the stack's table (or is disabled)."""


class NotLlamaServiceError(GpuLayersError):
    """The service exists but is not a llama-server (it has no GPU layers)."""


class InvalidLayersError(GpuLayersError):
    """`--layers` is not a non-negative integer."""


class InvalidVramError(GpuLayersError):
    """`--vram-mib` is not a positive number of MiB."""


class ModelFileError(Failed, RuntimeError):
    """The GGUF file cannot be read; the planner falls back to the seed's fixed steps."""


class MemoryReadingError(Failed, ValueError):
    """nvidia-smi or DCGM output that cannot be read as GPU memory figures."""
