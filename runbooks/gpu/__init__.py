"""`runbook.gpu-layers`: detect a CUDA OOM or high GPU memory, plan n_gpu_layers from the GGUF.

Pure logic only (no Docker, no stack writes): the runbook framework feeds it container state,
log text, memory readings and the model path, and applies the plan it returns.
"""

from runbooks.gpu.detect import ContainerState, Detection, detect
from runbooks.gpu.errors import (
    GpuLayersError,
    InvalidLayersError,
    InvalidVramError,
    MemoryReadingError,
    ModelFileError,
    NotLlamaServiceError,
    UnknownServiceError,
)
from runbooks.gpu.inputs import layer_knob, parse_layers, parse_vram_mib, resolve_service, stack_config_path
from runbooks.gpu.memory import DCGM_QUERY, NVIDIA_SMI_ARGS, GpuMemory, free_mib, parse_dcgm, parse_nvidia_smi_csv
from runbooks.gpu.modelshape import ModelShape, read_model_shape
from runbooks.gpu.planner import LayerPlan, PlanRow, fallback_plan, plan_layers
from runbooks.gpu.service_plan import plan_for_service
from runbooks.gpu.table import plan_table

__all__ = [
    "DCGM_QUERY",
    "NVIDIA_SMI_ARGS",
    "ContainerState",
    "Detection",
    "GpuLayersError",
    "GpuMemory",
    "InvalidLayersError",
    "InvalidVramError",
    "LayerPlan",
    "MemoryReadingError",
    "ModelFileError",
    "ModelShape",
    "NotLlamaServiceError",
    "PlanRow",
    "UnknownServiceError",
    "detect",
    "fallback_plan",
    "free_mib",
    "layer_knob",
    "parse_dcgm",
    "parse_layers",
    "parse_nvidia_smi_csv",
    "parse_vram_mib",
    "plan_for_service",
    "plan_layers",
    "plan_table",
    "read_model_shape",
    "resolve_service",
    "stack_config_path",
]
