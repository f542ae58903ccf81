"""The platform spec: one typed service table that every target, runbook and check reads."""

from infra.spec.errors import ConfigError
from infra.spec.model import HealthCheck, LlamaServer, Platform, Service
from infra.spec.stackconfig import load_platform, platform_from_config

__all__ = [
    "ConfigError",
    "HealthCheck",
    "LlamaServer",
    "Platform",
    "Service",
    "load_platform",
    "platform_from_config",
]
