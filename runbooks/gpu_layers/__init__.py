"""runbook.gpu-layers: after a CUDA OOM, plan n_gpu_layers from the GGUF and free VRAM, apply it.

`runbook.py` builds it, `tasks.py` is its invoke task."""
