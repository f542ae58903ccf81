"""Seed 004's 의존성 버전 확인 and seed 003's 보안 패치 (이미지 스캔 → 취약점 패치), the part that is
measurable everywhere: what each service runs against the stack's pin, and newer releases of the pin.

Running vs pin: the image reference the container (or the workload) was created from against
the service table's image, and (Docker) the image id it runs against what the pinned tag points
at now (a tag re-pushed or rebuilt since the container started). Newer releases: the tags the
operator's registry (`inferops:weeklyCheck.registry_url`, Docker Registry HTTP API v2) lists for
the pinned repository, newer than the pin in the same tag scheme (`v3.7.3` -> `v3.8.0`,
`server-cuda-b7100` -> `server-cuda-b7200`); n/a offline, without a registry, or for images built
here (no release line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from infra.spec.model import Platform, Service
from runbooks.daily.findings import Finding, Verdict
from runbooks.targets.base import Target, TargetError

__all__ = ["ImageRef", "newer_tags", "parse_ref", "pins", "releases"]

_TAG = re.compile(r"^(?P<pre>.*?)(?P<num>\d+(?:\.\d+)*)(?P<post>\D.*)?$")
HOW_PIN = "the container's Config.Image and image id against the service table's pin (docker inspect)"
HOW_REGISTRY = "GET <registry>/v2/<repository>/tags/list, tags newer than the pin in its own scheme"


@dataclass(frozen=True)
class ImageRef:
    registry: str  # "" for Docker Hub
    repository: str  # "prom/prometheus"
    tag: str  # "v3.7.3"


def parse_ref(ref: str) -> ImageRef:
    """`ghcr.io/ggml-org/llama.cpp:server-cuda-b7100` -> (ghcr.io, ggml-org/llama.cpp, server-cuda-b7100)."""
    name, _, digest = ref.partition("@")
    head, _, last = name.rpartition("/")
    tag = "latest"
    if ":" in last:
        last, tag = last.split(":", 1)
    name = f"{head}/{last}" if head else last
    first = name.split("/", 1)[0]
    if "/" in name and ("." in first or ":" in first or first == "localhost"):
        registry, repository = name.split("/", 1)
    else:
        registry, repository = "", name if "/" in name else f"library/{name}"
    return ImageRef(registry, repository, digest or tag)


def _version(tag: str) -> tuple[str, tuple[int, ...], str] | None:
    m = _TAG.match(tag)
    if m is None:
        return None
    return m["pre"], tuple(int(x) for x in m["num"].split(".")), m["post"] or ""


def newer_tags(pin: str, tags: list[str]) -> list[str]:
    """Tags in the pin's scheme (same prefix, suffix and number of parts) above it, newest first."""
    mine = _version(pin)
    if mine is None:
        return []
    found = []
    for tag in tags:
        v = _version(tag)
        if v and v[0] == mine[0] and v[2] == mine[2] and len(v[1]) == len(mine[1]) and v[1] > mine[1]:
            found.append((v[1], tag))
    return [t for _, t in sorted(found, reverse=True)]


def _running_ref(platform: Platform, attrs: dict[str, Any]) -> str | None:
    if platform.target == "eks":
        containers = ((attrs.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []
        return containers[0].get("image") if containers else None
    return (attrs.get("Config") or {}).get("Image")


def _pinned_id(target: Target, ref: str) -> str | None:
    try:
        return target.client.images.get(ref).id  # type: ignore[attr-defined]
    except Exception:  # not pulled or built here: the id comparison does not apply
        return None


def pin_finding(platform: Platform, target: Target, svc: Service) -> Finding:
    normal = "the stack's pin (service table)"
    try:
        attrs = target.inspect(svc.name)
    except TargetError as err:
        return Finding("images", svc.name, "n/a", f"nothing running: {err}", {}, HOW_PIN, normal)
    ref = _running_ref(platform, attrs)
    data = {"pin": svc.image, "running": ref}
    if ref != svc.image:
        detail = f"runs {ref}, the stack pins {svc.image}: drift (converge with stack.up)"
        return Finding("images", svc.name, "fail", detail, data, HOW_PIN, normal)
    if platform.target != "eks":
        pinned, running = _pinned_id(target, svc.image), attrs.get("Image")
        data |= {"running_id": running, "pinned_id": pinned}
        if pinned and running and pinned != running:
            detail = f"{ref}, an older build: the tag is {pinned[:19]} now, the container runs {running[:19]}"
            return Finding("images", svc.name, "warn", detail, data, HOW_PIN, normal)
    return Finding("images", svc.name, "ok", f"runs the pin {ref}", data, HOW_PIN, normal)


def pins(platform: Platform, target: Target, services: list[Service]) -> list[Finding]:
    try:
        target.ping()
    except TargetError as err:
        return [Finding("images", "-", "fail", str(err), {}, HOW_PIN)]
    return [pin_finding(platform, target, svc) for svc in services]


def _tags(client: httpx.Client, registry: str, repository: str) -> list[str]:
    resp = client.get(f"{registry.rstrip('/')}/v2/{repository}/tags/list", params={"n": 1000})
    resp.raise_for_status()
    return list(resp.json().get("tags") or [])


def releases(platform: Platform, services: list[Service]) -> list[Finding]:
    """Newer tags of each distinct pin in the operator's registry; n/a offline or unconfigured."""
    cfg = platform.weekly_check
    normal = "no newer release than the pin"
    if not cfg.registry_url:
        why = "no registry configured (inferops:weeklyCheck.registry_url): newer releases not looked up"
        return [Finding("releases", "-", "n/a", why, {}, HOW_REGISTRY, normal)]
    out = []
    with httpx.Client(timeout=cfg.registry_timeout_s) as client:
        for pin in sorted({s.image for s in services}):
            ref = parse_ref(pin)
            if _version(ref.tag) is None:
                why = f"tag {ref.tag!r} has no version: an image built here, no release line"
                out.append(Finding("releases", pin, "n/a", why, {}, HOW_REGISTRY, normal))
                continue
            try:
                tags = _tags(client, cfg.registry_url, ref.repository)
            except (httpx.HTTPError, ValueError) as err:
                why = f"registry {cfg.registry_url} gave no tags of {ref.repository} ({type(err).__name__}): offline?"
                out.append(Finding("releases", pin, "n/a", why, {}, HOW_REGISTRY, normal))
                continue
            newer = newer_tags(ref.tag, tags)
            verdict: Verdict = "warn" if newer else "ok"
            detail = f"newer: {', '.join(newer[:3])}; review and bump the pin" if newer else f"{ref.tag} is the newest"
            data = {"newer": newer, "tags_seen": len(tags)}
            out.append(Finding("releases", pin, verdict, detail, data, HOW_REGISTRY, normal))
    return out
