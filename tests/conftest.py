"""What every tier shares: the `--stack` option of the live tiers, skipping them when no stack is
up (unless the live tier itself runs), and a check that no test writes into the checkout's own
stacks/, .state/ or reports/ (the operator's files); check reports go to a temporary directory."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIVE_ENV = "INFEROPS_LIVE_STACK"  # set by scripts/test's live tier: there, a stack that is down fails
# Written while tests run by what the tests drive on purpose, not by the tests: the daemon's own
# log, the docker CLI shim of the testinfra suite.
OWN_WRITERS = (".state/logs/", ".state/bin/")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--stack",
        default=os.environ.get(LIVE_ENV, "local"),
        help="stack whose running services the live tiers check (stacks/Pulumi.<stack>.yaml); default local",
    )


def _stack_is_up(stack: str) -> str | None:
    """None when the stack's gateway answers its health check, else why not."""
    import httpx

    from infra.spec import load_platform
    from runbooks.probes import health_url

    platform = load_platform(stack)
    try:
        httpx.get(health_url(platform, platform.service("api-gateway")), timeout=3).raise_for_status()
    except httpx.HTTPError as err:
        return str(err) or type(err).__name__
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    live = [item for item in items if item.get_closest_marker("live")]
    if not live or os.environ.get(LIVE_ENV):
        return
    stack = config.getoption("--stack")
    why = _stack_is_up(stack)
    if why is None:
        return
    skip = pytest.mark.skip(reason=f"the {stack} stack is not up ({why}): `make up` first (or `make test`)")
    for item in live:
        item.add_marker(skip)


def _watched(config: pytest.Config) -> tuple[Path, ...]:
    """stacks/ always; .state/ too, except in the live tier, which drives the operator's own stack
    (its runbooks keep their state there, as they do for the operator)."""
    if config.getoption("-m", "") == "live":
        return (ROOT / "stacks", ROOT / "reports")
    return (ROOT / "stacks", ROOT / ".state", ROOT / "reports")


def _snapshot(bases: tuple[Path, ...]) -> dict[str, str]:
    """Content hashes of the operator's files under `bases`."""
    found: dict[str, str] = {}
    for base in bases:
        for path in sorted(base.rglob("*")) if base.is_dir() else ():
            rel = str(path.relative_to(ROOT))
            if path.is_file() and not path.is_symlink() and not rel.startswith(OWN_WRITERS):
                found[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(autouse=True)
def reports_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The check reports (runbook.daily-check, weekly-check) go to a temporary directory, never to
    the checkout's reports/ (watched below, as stacks/ is)."""
    path = tmp_path / "reports"
    monkeypatch.setenv("INFEROPS_REPORTS_DIR", str(path))
    return path


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the xdist controller (or a plain run) checks
        session.config.stash[_BEFORE] = _snapshot(_watched(session.config))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_BEFORE, None)
    if before is None:
        return
    after = _snapshot(_watched(session.config))
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if changed:
        session.config.get_terminal_writer().line(
            f"tests wrote into the operator's files: {', '.join(changed)}", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_BEFORE = pytest.StashKey[dict[str, str]]()
