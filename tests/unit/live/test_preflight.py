"""Preflight: missing images and taken ports are reported, with the fix, before anything changes."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import docker.errors
import pytest

from infra.live.preflight import PreflightFailed, build_hint, missing_images, port_taken, preflight, taken_ports
from infra.spec import Platform, load_platform
from infra.spec.stackconfig import platform_from_config, read_stack_config


class EngineDouble:
    """A Docker client double: knows a fixed set of images and runs no containers."""

    def __init__(self, images: set[str]) -> None:
        outer = self

        class Images:
            def get(self, ref: str) -> str:
                if ref not in outer.known:
                    raise docker.errors.ImageNotFound(ref)
                return ref

        class Containers:
            def list(self, filters: dict[str, str]) -> list[object]:
                return []

        self.known = images
        self.images = Images()
        self.containers = Containers()


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _local_with_port(service: str, port: int) -> Platform:
    raw = read_stack_config("local")
    services = dict(raw["services"])
    services[service] = {**services.get(service, {}), "host_port": port}
    return platform_from_config("local", {**raw, "services": services}, source="test")


def test_port_taken_sees_a_listener(listener: int) -> None:
    assert port_taken("127.0.0.1", listener)


def test_port_taken_false_for_a_free_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        free = sock.getsockname()[1]
    assert not port_taken("127.0.0.1", free)


def test_taken_port_names_service_port_and_key(listener: int) -> None:
    platform = _local_with_port("alert-sink", listener)
    problems = [p for p in taken_ports(platform, EngineDouble(set())) if f":{listener} " in p.message]
    assert [p.service for p in problems] == ["alert-sink"]
    assert "inferops:services.alert-sink.host_port" in problems[0].message


def test_missing_image_names_the_build_command() -> None:
    platform = load_platform("local")
    present = {s.image for s in platform.enabled()} - {"inferops/litellm:local"}
    problems = missing_images(platform, EngineDouble(present))
    assert [p.service for p in problems] == ["api-gateway"]
    assert "invoke images.build --only litellm" in problems[0].message


def test_build_hint_for_foreign_images() -> None:
    assert "docker pull qdrant/qdrant:v1" in build_hint("qdrant/qdrant:v1")
    assert "--only alert-sink" in build_hint("inferops/alert-sink:local")


def test_preflight_reports_every_problem_at_once(listener: int) -> None:
    platform = _local_with_port("alert-sink", listener)
    with pytest.raises(PreflightFailed) as err:
        preflight(platform, EngineDouble(set()))
    text = str(err.value)
    assert "nothing was changed" in text
    assert all(svc.name in text for svc in platform.enabled())
