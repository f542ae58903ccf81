"""A platform rebuilt from its JSON dump is the same platform and renders the same files: the
durable undos (gpu-layers' recreate, reload's handover) carry the old platform that way, and a
guard that re-exported a different compose file would leave a config hash that the next
`stack.up` takes for a change (found by the live tier's check on .state/)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from infra.spec import load_platform
from infra.spec.model import Platform
from infra.targets.compose_export import write_compose


def test_a_platform_survives_its_json_dump_byte_for_byte(stack_name: str, tmp_path: Path) -> None:
    platform = load_platform(stack_name)
    again = Platform.model_validate(platform.model_dump(mode="json"))
    assert again == platform
    if platform.target != "compose":
        return
    write_compose(platform, tmp_path / "a", lambda key: "secret")
    write_compose(again, tmp_path / "b", lambda key: "secret")
    diff = subprocess.run(["diff", "-r", str(tmp_path / "a"), str(tmp_path / "b")], capture_output=True, text=True)
    assert diff.returncode == 0, diff.stdout[:2000]
