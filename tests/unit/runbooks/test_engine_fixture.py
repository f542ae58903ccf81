"""The Docker fixture skips only when there is no engine to connect to; any other error fails."""

from __future__ import annotations

import docker
import docker.errors
import pytest

from tests.unit.runbooks.dockerfix import docker_or_skip


def test_no_engine_at_the_socket_skips(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/docker.sock")
    with pytest.raises(pytest.skip.Exception, match="no Docker engine answers"):
        docker_or_skip()


def test_an_engine_that_answers_with_an_error_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def from_env(**_: object) -> object:
        raise docker.errors.APIError("500 Server Error: Internal Server Error")

    monkeypatch.setattr(docker, "from_env", from_env)
    with pytest.raises(docker.errors.APIError):
        docker_or_skip()


def test_a_client_that_cannot_be_set_up_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "nosuchscheme://engine")
    with pytest.raises(docker.errors.DockerException):
        docker_or_skip()
