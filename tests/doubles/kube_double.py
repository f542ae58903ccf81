"""KubeApiDouble: a TEST DOUBLE of the Kubernetes API server, bound to the Kubernetes JSON schema.

No API server can run on this machine, so KubernetesTarget is tested with the real client (the
official `kubernetes` package) against this double: a real HTTP server on 127.0.0.1 (random port)
that implements exactly the subset the target uses, with the API server's wire behaviour where it
matters to the target:

- apps/v1 Deployments and StatefulSets: list, get, PATCH (strategic-merge and merge patch, as
  JSON merge: maps merged recursively, null deletes, lists replaced; the target's patches touch no
  lists; JSON patch is answered 415) and PATCH of the /scale subresource (autoscaling/v1 Scale);
- v1 pods: list with an equality labelSelector, delete, read log (`tailLines`, `sinceSeconds`);
- v1 pods/exec (GET): a websocket upgrade (simple_websocket takes the socket over from werkzeug),
  subprotocol: the first the client offers of v5.channel.k8s.io and v4.channel.k8s.io, as a 1.33
  API server picks (v5 adds only a client frame that closes stdin; the target sends none), recorded in
  `exec_protocols`: binary frames led by a channel byte
  (1 stdout, 2 stderr), then on channel 3 the bare v1 Status the API server ends an exec with
  (Success; Failure/NonZeroExitCode with the code in causes[0] as ExitCode; InternalError when the
  executable is not there, as containerd answers: no exit code), then close. The double runs a few
  commands itself: `echo`, `kill -STOP 1` / `kill -CONT 1` (recorded in `paused`; the pod's status is
  unchanged: Kubernetes has no paused state), `sh -c` with `;`-separated `echo [>&2]`, `kill`, `exit N`
  (anything else: `sh: 1: X: not found`, 127); `fail_exec` makes a pod's execs fail; `execs` records
  (pod, command) of every exec that got its websocket;
- errors as v1 Status objects (404 NotFound, 401 Unauthorized without the bearer token, also on
  the exec handshake, 400 for an exec that is not a websocket, 422 Invalid when a patch would store
  an object the schema rejects, 415 for a JSON patch).

It is also a minimal controller: after each change the workload's pods are reconciled (one Running,
Ready pod per replica; Deployment pods `<name>-<template hash>-<suffix>`, StatefulSet pods
`<name>-<ordinal>`; labels from the pod template), a template change rolls every pod, a deleted pod
is replaced, and status (replicas, readyReplicas, availableReplicas, updatedReplicas,
observedGeneration) follows; metadata.generation is bumped on spec changes only, zero counts are
omitted as the API server's `omitempty` does. `linger` keeps a pod that goes away listed (with its
deletionTimestamp) for that many more pod lists, like a pod inside its termination grace period.

Schema binding: every object the double stores or answers (Deployment, StatefulSet, Pod, Scale,
the List kinds, Status) is validated against the Kubernetes JSON schema of `version` (the files
kubernetes_validate ships, strict: unknown fields are errors). Violations are kept in `guard` and
the fixtures fail the test on any; the exec Status of channel 3 is validated as a Status.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import hashlib
import itertools
import json
import logging
import shlex
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule, WebsocketMismatch
from werkzeug.wrappers import Request, Response

from tests.doubles.kube_objects import (
    RESOURCES,
    Resource,
    crd_validator,
    events_create_problems,
    events_view,
    field_selector,
    from_events_view,
)
from tests.doubles.serving import LoopbackServer

TOKEN = "kube-api-double-token"
NS = "inference"
KINDS = {"deployments": "Deployment", "statefulsets": "StatefulSet"}
MERGE_PATCHES = ("application/strategic-merge-patch+json", "application/merge-patch+json")
APPS = "/apis/apps/v1/namespaces/<ns>/<any(deployments, statefulsets):plural>"
ROUTES: list[tuple[str, str, str]] = [
    (APPS, "GET", "list_workloads"),
    (f"{APPS}/<name>", "GET", "read_workload"),
    (f"{APPS}/<name>", "PATCH", "patch_workload"),
    (f"{APPS}/<name>/scale", "PATCH", "patch_scale"),
    ("/api/v1/namespaces/<ns>/pods", "GET", "list_pods"),
    ("/api/v1/namespaces/<ns>/pods/<name>", "DELETE", "delete_pod"),
    ("/api/v1/namespaces/<ns>/pods/<name>/log", "GET", "read_log"),
    ("/api/v1/namespaces/<ns>/pods/<name>/exec", "GET", "exec_pod"),
    ("/api/v1/namespaces/<ns>/pods", "POST", "create_pod"),
    ("/api/v1/namespaces/<ns>/pods/<name>", "GET", "read_pod"),
    ("/api/v1/namespaces/<ns>/pods/<name>/status", "PATCH", "patch_pod_status"),
    ("/api/v1/pods", "GET", "list_all_pods"),
]
EXEC_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")  # the channel protocols the double speaks
STDOUT, STDERR, STATUS = 1, 2, 3  # channel bytes
WEBSOCKETS = {"exec_pod"}  # routes that take a websocket upgrade only (werkzeug matches them on that)
# kubernetes_validate names schema files `<kind>-<group>-<version>`; Status lives in meta/v1.
SCHEMA_FILE_OVERRIDES = {("Status", "v1"): "status-meta-v1"}


class ApiError(Exception):
    """An error the double answers as a v1 Status."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def status(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}  # fmt: skip
    if details:
        body["details"] = details
    return body


@functools.cache
def _validator(kind: str, api_version: str, version: str) -> Any:
    """The Draft 2020-12 validator kubernetes_validate.validate builds, built once per kind: the
    same schema files (`v<version>-local-strict`), loaded once instead of on every call."""
    import re

    import jsonschema
    from kubernetes_validate.utils import all_versions, major_minor, schema_contents
    from referencing import Registry, Resource

    found = [v for v in all_versions() if major_minor(v) <= major_minor(version)][-1]
    name = SCHEMA_FILE_OVERRIDES.get((kind, api_version))
    if name is None:
        name = kind.lower() + "-" + re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{found}-local-strict"
    schema = schema_contents(f"{folder}/{name}.json", version)
    definitions = schema_contents(f"{folder}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


@dataclass
class SchemaGuard:
    """Validates objects against the Kubernetes schema of `version`; keeps the violations."""

    version: str
    violations: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def problems(self, obj: dict[str, Any]) -> list[str]:
        crd = CUSTOM_KINDS.get((obj.get("apiVersion"), obj.get("kind", "").removesuffix("List")))
        if crd is not None:
            items = obj.get("items", []) if obj["kind"].endswith("List") else [obj]
            validator = crd_validator(crd)
            return [_problem(e) for item in items for e in validator.iter_errors(item)]
        if obj.get("kind") == "Event" and obj.get("apiVersion") == "events.k8s.io/v1" and obj.get("eventTime") is None:
            obj = {**obj, "eventTime": "1970-01-01T00:00:00.000000Z"}  # a zero MicroTime is null on the wire
        if obj.get("kind") == "EventList" and obj.get("apiVersion") == "events.k8s.io/v1":
            items = [{**i, "eventTime": i.get("eventTime") or "1970-01-01T00:00:00.000000Z"} for i in obj["items"]]
            obj = {**obj, "items": items}
        validator = _validator(obj["kind"], obj["apiVersion"], self.version)
        return [_problem(e) for e in validator.iter_errors(obj)]

    def check(self, what: str, obj: dict[str, Any]) -> list[str]:
        """Problems of `obj` (and record them as violations)."""
        found = self.problems(obj)
        with self._lock:
            self.violations += [f"{what} {obj['kind']}: {p}" for p in found]
        return found

    def take(self) -> list[str]:
        """The violations so far, cleared (tests that provoke one on purpose consume it)."""
        with self._lock:
            out, self.violations = self.violations, []
        return out


CUSTOM_KINDS = {(r.api_version, r.kind): r.crd for r in RESOURCES.values() if r.crd}


def _problem(e: Any) -> str:
    return f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"


def merge(target: Any, patch: Any) -> Any:
    """JSON merge patch (RFC 7386): maps merged recursively, null deletes a key, anything else
    replaces. Strategic merge differs only for lists with merge keys, which the target never sends."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge(out.get(key), value)
    return out


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _digest(value: Any, n: int = 10) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:n]


def _drop_zeros(counts: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


class KubeApiDouble(LoopbackServer):
    """Test double of the Kubernetes API server (see module docstring). Use as a context manager."""

    thread_name = "kube-api-double"

    def __init__(self, objects: Iterable[dict[str, Any]], token: str = TOKEN, version: str = "1.33") -> None:
        super().__init__()
        self.guard = SchemaGuard(version)
        self.token = token
        self.workloads: dict[tuple[str, str, str], dict[str, Any]] = {}  # (kind, namespace, name) -> object
        self.pods: dict[tuple[str, str], dict[str, Any]] = {}  # (namespace, name) -> pod
        self.logs: dict[tuple[str, str], list[tuple[float, str]]] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path with query)
        self.scales: list[tuple[str, str, int]] = []  # (kind, name, replicas) at every replica change
        self.deleted_pods: list[str] = []
        self.execs: list[tuple[str, list[str]]] = []  # (pod, command) of every exec that got its websocket
        self.exec_protocols: list[str] = []  # the channel protocol each of those execs was answered in
        self.paused: set[str] = set()  # pods whose PID 1 got `kill -STOP 1` (and no `kill -CONT 1` since)
        self._exec_failures: dict[str, tuple[int, str, list[str] | None]] = {}
        self._exec_answers: dict[tuple[str, str], tuple[int, str, str]] = {}
        # (resource key, namespace or "", name) -> object; events kept in their core v1 form
        self.objects: dict[tuple[str, str, str], dict[str, Any]] = {}
        # (namespace, pod, container, previous) -> log lines written with `write_log`
        self.container_logs: dict[tuple[str, str, str, bool], list[tuple[float, str]]] = {}
        self.linger = 0  # pod lists during which a pod that goes away is still listed
        self._terminating: list[list[Any]] = []  # [pod, lists left]
        self._on_replicas: list[Callable[[str, str, int], None]] = []
        self._lock = threading.RLock()
        self._counter = itertools.count(1)
        rules = [Rule(path, methods=[method], endpoint=op, websocket=op in WEBSOCKETS) for path, method, op in ROUTES]
        self._map = Map(rules + _object_rules())
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        seedable = {(r.api_version, r.kind): key for key, r in RESOURCES.items()}
        for obj in objects:
            if obj.get("kind") in KINDS.values():
                self._seed(obj)
            elif (obj.get("apiVersion"), obj.get("kind")) in seedable:
                res = seedable[(obj["apiVersion"], obj["kind"])]
                self._create_object(res, obj.get("metadata", {}).get("namespace", ""), copy.deepcopy(obj))

    # ---- test helpers -----------------------------------------------------------------------
    def on_replicas(self, callback: Callable[[str, str, int], None]) -> None:
        """Call `callback(kind, name, replicas)` whenever a workload's spec.replicas changes."""
        self._on_replicas.append(callback)

    def workload(self, name: str, namespace: str = "inference") -> dict[str, Any]:
        """The stored Deployment or StatefulSet `name` (KeyError when there is none)."""
        for kind in KINDS.values():
            if (kind, namespace, name) in self.workloads:
                return self.workloads[(kind, namespace, name)]
        raise KeyError(f"no workload {namespace}/{name} in the kube API double")

    def pods_of(self, name: str, namespace: str = "inference") -> list[dict[str, Any]]:
        """The pods the controller runs for workload `name` (terminating ones excluded)."""
        return self._owned(self.workload(name, namespace)["metadata"]["uid"])

    def _owned(self, uid: str) -> list[dict[str, Any]]:
        return [p for p in self.pods.values() if _owner_uid(p) == uid]

    def set_replicas(self, name: str, replicas: int, namespace: str = "inference") -> None:
        """What `kubectl scale` would do (a test's starting point)."""
        wl = self.workload(name, namespace)
        self._store(merge(wl, {"spec": {"replicas": replicas}}))

    def remove(self, name: str, namespace: str = "inference") -> None:
        """Delete workload `name` and its pods (a namespace where the program did not deploy it)."""
        wl = self.workload(name, namespace)
        with self._lock:
            for pod in self.pods_of(name, namespace):
                self.pods.pop((namespace, pod["metadata"]["name"]))
            self.workloads.pop((wl["kind"], namespace, name))

    def fail_exec(self, pod: str, code: int, stderr: str, only: list[str] | None = None) -> None:
        """Every later exec in `pod` (or only the command `only`) exits `code` after writing `stderr`."""
        self._exec_failures[pod] = (code, stderr, only)

    def answer_exec(self, pod: str, executable: str, code: int, stdout: str = "", stderr: str = "") -> None:
        """Execs of `executable` in `pod` exit `code` with this output: what a program in the
        container (getent, curl, nvidia-smi) would answer. Only the container can say that, so
        no API call writes it; on a real cluster the image's own tools answer."""
        self._exec_answers[(pod, executable)] = (code, stdout, stderr)

    def write_log(
        self, pod: str, lines: list[str], container: str | None = None, previous: bool = False, namespace: str = NS
    ) -> None:
        """What the kubelet would serve as the log of `container` of `pod` (`previous`: of its
        last terminated instance). Logs are the container runtime's, not API objects: no API call
        writes them (on a KWOK control plane a `Logs` object pointing at a file does)."""
        stored = self.pods.get((namespace, pod))
        if stored is None:
            raise KeyError(f"no pod {namespace}/{pod} in the kube API test double")
        name = container or stored["spec"]["containers"][0]["name"]
        now = time.time()
        self.container_logs[(namespace, pod, name, previous)] = [(now, line) for line in lines]

    # ---- store + controller -----------------------------------------------------------------
    def _seed(self, obj: dict[str, Any]) -> None:
        body = copy.deepcopy(obj)
        body.pop("status", None)
        _text_quantities(body["spec"]["template"]["spec"])
        meta = body["metadata"]
        meta.update(uid=self._uid(), generation=1, creationTimestamp=_now())
        self._store(body)

    def _uid(self) -> str:
        n = next(self._counter)
        return f"00000000-0000-4000-8000-{n:012d}"

    def _store(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Validate, keep, reconcile; a schema violation is raised as 422 Invalid (nothing kept)."""
        meta = obj["metadata"]
        key = (obj["kind"], meta["namespace"], meta["name"])
        with self._lock:
            old = self.workloads.get(key)
            if old is not None and old.get("spec") != obj.get("spec"):
                meta["generation"] = old["metadata"]["generation"] + 1
            meta["resourceVersion"] = str(next(self._counter))
            problems = self.guard.check("patched", {**obj, "status": self._status(obj, [])})
            if problems:
                raise ApiError(422, "Invalid", f'{obj["kind"]}.apps "{meta["name"]}" is invalid: {problems[0]}')
            self.workloads[key] = obj
            self._reconcile(obj)
            before = old["spec"].get("replicas", 1) if old else None
        replicas = obj["spec"].get("replicas", 1)
        if before is not None and before != replicas:
            self.scales.append((obj["kind"], meta["name"], replicas))
            for callback in self._on_replicas:
                callback(obj["kind"], meta["name"], replicas)
        return obj

    def _reconcile(self, wl: dict[str, Any]) -> None:
        """One Running, Ready pod per replica, all of the current template; then the status."""
        meta, spec = wl["metadata"], wl["spec"]
        revision = _digest(spec["template"])
        want = spec.get("replicas", 1)
        mine = sorted(self._owned(meta["uid"]), key=lambda p: p["metadata"]["name"])
        stateful = wl["kind"] == "StatefulSet"
        keep = []
        for pod in mine:
            labels = pod["metadata"]["labels"]
            current = labels.get("pod-template-hash", labels.get("controller-revision-hash", "")).endswith(revision)
            ordinal_ok = not stateful or int(pod["metadata"]["name"].rsplit("-", 1)[1]) < want
            if current and ordinal_ok and len(keep) < want:
                keep.append(pod)
            else:
                self._remove_pod(pod)
        names = {p["metadata"]["name"] for p in keep}
        for i in range(want):
            if len(keep) >= want:
                break
            name = f"{meta['name']}-{i}" if stateful else f"{meta['name']}-{revision}-{self._suffix()}"
            if name not in names:
                keep.append(self._new_pod(wl, name, revision, i))
        wl["status"] = self._status(wl, keep)
        self.guard.check("stored", wl)

    def _suffix(self) -> str:
        return _digest(next(self._counter), 5)

    def _status(self, wl: dict[str, Any], pods: list[dict[str, Any]]) -> dict[str, Any]:
        """The controller's status for `pods` (all Ready, all of the current template)."""
        n = len(pods)
        out: dict[str, Any] = {"observedGeneration": wl["metadata"].get("generation", 1)}
        if wl["kind"] == "Deployment":
            return {**out, **_drop_zeros({"replicas": n, "readyReplicas": n, "availableReplicas": n,
                                          "updatedReplicas": n})}  # fmt: skip
        revision = f"{wl['metadata']['name']}-{_digest(wl['spec']['template'])}"
        # StatefulSetStatus.replicas and availableReplicas have no omitempty
        return {**out, "replicas": n, "availableReplicas": n, "currentRevision": revision, "updateRevision": revision,
                **_drop_zeros({"readyReplicas": n, "currentReplicas": n, "updatedReplicas": n})}  # fmt: skip

    def _new_pod(self, wl: dict[str, Any], name: str, revision: str, ordinal: int) -> dict[str, Any]:
        meta, template = wl["metadata"], wl["spec"]["template"]
        labels = dict(template["metadata"].get("labels", {}))
        if wl["kind"] == "Deployment":
            labels["pod-template-hash"] = revision
            owner = {"kind": "ReplicaSet", "name": f"{meta['name']}-{revision}"}
        else:
            labels["controller-revision-hash"] = f"{meta['name']}-{revision}"
            labels["statefulset.kubernetes.io/pod-name"] = name
            labels["apps.kubernetes.io/pod-index"] = str(ordinal)
            owner = {"kind": "StatefulSet", "name": meta["name"]}
        now = _now()
        containers = template["spec"]["containers"]
        pod_meta: dict[str, Any] = {
            "name": name, "namespace": meta["namespace"], "uid": self._uid(), "labels": labels,
            "resourceVersion": str(next(self._counter)), "creationTimestamp": now,
            # owned by the workload's uid: the double has no ReplicaSets, only their names
            "ownerReferences": [{"apiVersion": "apps/v1", "controller": True, "blockOwnerDeletion": True,
                                 "uid": meta["uid"], **owner}],
        }  # fmt: skip
        if template["metadata"].get("annotations"):
            pod_meta["annotations"] = dict(template["metadata"]["annotations"])
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": pod_meta,
            "spec": {**copy.deepcopy(template["spec"]), "nodeName": "kube-api-double-node"},
            "status": {
                "phase": "Running",
                "podIP": f"10.0.0.{len(self.pods) % 250 + 2}",
                "startTime": now,
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
                "containerStatuses": [
                    {
                        "name": c["name"],
                        "image": c["image"],
                        "imageID": "",
                        "ready": True,
                        "started": True,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": now}},
                    }
                    for c in containers
                ],
            },
        }
        self.guard.check("stored", pod)
        self.pods[(meta["namespace"], name)] = pod
        self.logs[(meta["namespace"], name)] = [(time.time(), f"{now} {name}: started (kube API double)")]
        return pod

    def _remove_pod(self, pod: dict[str, Any], grace: int = 30) -> dict[str, Any]:
        meta = pod["metadata"]
        self.pods.pop((meta["namespace"], meta["name"]), None)
        gone = copy.deepcopy(pod)
        gone["metadata"].update(deletionTimestamp=_now(), deletionGracePeriodSeconds=grace)
        if self.linger > 0:
            self._terminating.append([gone, self.linger])
        return gone

    # ---- WSGI -------------------------------------------------------------------------------
    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append((request.method, request.full_path.rstrip("?")))
        try:
            response = self._answer(request)
        except ApiError as err:
            response = self._json(status(err.code, err.reason, err.message, err.details), err.code)
        return response(environ, start_response)

    def _answer(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            raise ApiError(401, "Unauthorized", "Unauthorized")
        try:
            endpoint, args = self._map.bind_to_environ(request.environ).match()
        except WebsocketMismatch:
            raise ApiError(400, "BadRequest", "Upgrade request required") from None
        except (NotFound, MethodNotAllowed):
            raise ApiError(
                501, "NotImplemented", f"{request.method} {request.path} is not in the kube API test double"
            ) from None
        with self._lock:
            out = getattr(self, f"op_{endpoint}")(request, **args)
        return out if isinstance(out, Response) else self._json(out)

    def _json(self, body: dict[str, Any], code: int = 200) -> Response:
        """Answer `body` if the schema allows it; otherwise record the violation and answer 500."""
        problems = self.guard.check("answered", body)
        if problems:
            body, code = status(500, "InternalError", f"test double answered outside the schema: {problems[0]}"), 500
        return Response(json.dumps(body), status=code, content_type="application/json")

    # ---- apps/v1 ----------------------------------------------------------------------------
    def _get(self, plural: str, ns: str, name: str) -> dict[str, Any]:
        wl = self.workloads.get((KINDS[plural], ns, name))
        if wl is None:
            details = {"name": name, "group": "apps", "kind": plural}
            raise ApiError(404, "NotFound", f'{plural}.apps "{name}" not found', details)
        return wl

    def op_list_workloads(self, request: Request, ns: str, plural: str) -> dict[str, Any]:
        kind = KINDS[plural]
        items = [_item(o) for (k, n, _), o in sorted(self.workloads.items()) if k == kind and n == ns]
        return _list(f"{kind}List", "apps/v1", items, request, str(next(self._counter)))

    def op_read_workload(self, request: Request, ns: str, plural: str, name: str) -> dict[str, Any]:
        return self._get(plural, ns, name)

    def op_patch_workload(self, request: Request, ns: str, plural: str, name: str) -> dict[str, Any]:
        wl = self._get(plural, ns, name)
        patched = merge(wl, _patch_body(request))
        patched.pop("status", None)
        meta = patched["metadata"] = {
            **patched["metadata"],
            "name": name,
            "namespace": ns,
            "uid": wl["metadata"]["uid"],
        }
        for key in ("annotations", "labels"):
            if meta.get(key) == {}:
                del meta[key]  # an empty map is omitted on the wire (omitempty)
        _text_quantities(patched["spec"]["template"]["spec"])
        return self._store(patched)

    def op_patch_scale(self, request: Request, ns: str, plural: str, name: str) -> dict[str, Any]:
        wl = self._get(plural, ns, name)
        patched = merge(_scale(wl), _patch_body(request))
        if self.guard.check("patched", patched):
            raise ApiError(422, "Invalid", f'Scale.autoscaling "{name}" is invalid')
        replicas = patched.get("spec", {}).get("replicas", 0)
        return _scale(self._store(merge(wl, {"spec": {"replicas": replicas}})))

    # ---- v1 pods ----------------------------------------------------------------------------
    def op_list_pods(self, request: Request, ns: str | None = None) -> dict[str, Any]:
        labels = _selector(request.args.get("labelSelector", ""))
        fields = field_selector(request.args.get("fieldSelector", ""), _bad_request)

        def match(pod: dict[str, Any]) -> bool:
            return labels(pod) and fields(pod)

        items = [p for (n, _), p in sorted(self.pods.items()) if ns in (None, n) and match(p)]
        for entry in self._terminating:
            if ns in (None, entry[0]["metadata"]["namespace"]) and match(entry[0]):
                items.append(entry[0])
            entry[1] -= 1
        self._terminating = [e for e in self._terminating if e[1] > 0]
        return _list("PodList", "v1", [_item(p) for p in items], request, str(next(self._counter)))

    def op_delete_pod(self, request: Request, ns: str, name: str) -> dict[str, Any]:
        pod = self.pods.get((ns, name))
        if pod is None:
            raise ApiError(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
        gone = self._remove_pod(pod, int(request.args.get("gracePeriodSeconds", 30)))
        self.deleted_pods.append(name)
        for wl in list(self.workloads.values()):
            if _owner_uid(pod) == wl["metadata"]["uid"]:
                self._reconcile(wl)  # the controller replaces it
        return gone

    def op_read_log(self, request: Request, ns: str, name: str) -> Response:
        """The API server checks the container name, then asks the kubelet: an unscheduled pod
        has an empty log; `previous=true` without a terminated instance is a 400, as the kubelet
        answers; a container that never started says it is waiting."""
        pod = self.pods.get((ns, name))
        if pod is None:
            raise ApiError(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
        container = self._log_container(pod, request.args.get("container"))
        previous = request.args.get("previous", "false").lower() in ("1", "true")
        written = self.container_logs.get((ns, name, container, previous))
        if not pod["spec"].get("nodeName"):
            lines: list[tuple[float, str]] = []
        elif written is not None:
            lines = written
        elif previous:
            raise ApiError(400, "BadRequest", f'previous terminated container "{container}" in pod "{name}" not found')
        elif _waiting_reason(pod, container):
            why = _waiting_reason(pod, container)
            raise ApiError(400, "BadRequest", f'container "{container}" in pod "{name}" is waiting to start: {why}')
        else:
            lines = self.logs.get((ns, name), [])
        if "sinceSeconds" in request.args:
            lines = [line for line in lines if line[0] >= time.time() - int(request.args["sinceSeconds"])]
        if "tailLines" in request.args:
            lines = lines[-int(request.args["tailLines"]) :] if int(request.args["tailLines"]) else []
        return Response("".join(f"{text}\n" for _, text in lines), content_type="text/plain")

    def op_list_all_pods(self, request: Request) -> dict[str, Any]:
        return self.op_list_pods(request, None)

    def op_read_pod(self, request: Request, ns: str, name: str) -> dict[str, Any]:
        pod = self.pods.get((ns, name))
        if pod is None:
            raise ApiError(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
        return pod

    def op_create_pod(self, request: Request, ns: str) -> dict[str, Any]:
        """A bare pod, as a scenario (or a controller) creates one: the API server's defaults, status
        reset to Pending (only the scheduler binds it, only the kubelet sets its status)."""
        pod = _body(request)
        meta = self._new_meta(pod, ns, "pods")
        if (ns, meta["name"]) in self.pods:
            raise ApiError(409, "AlreadyExists", f'pods "{meta["name"]}" already exists')
        spec = pod.setdefault("spec", {})
        _text_quantities(spec)
        spec.setdefault("schedulerName", "default-scheduler")
        spec.setdefault("restartPolicy", "Always")
        pod.update(apiVersion="v1", kind="Pod", metadata=meta, status={"phase": "Pending", "qosClass": _qos(spec)})
        problems = self.guard.check("created", pod)
        if problems:
            raise ApiError(422, "Invalid", f'Pod "{meta["name"]}" is invalid: {problems[0]}')
        self.pods[(ns, meta["name"])] = pod
        self.logs[(ns, meta["name"])] = []
        return pod

    def op_patch_pod_status(self, request: Request, ns: str, name: str) -> dict[str, Any]:
        """The kubelet's (or the scheduler's) status writes: a merge patch of `status` only."""
        pod = self.op_read_pod(request, ns, name)
        patched = {**pod, "status": merge(pod.get("status", {}), _patch_body(request).get("status", {}))}
        patched["metadata"] = {**pod["metadata"], "resourceVersion": str(next(self._counter))}
        problems = self.guard.check("patched", patched)
        if problems:
            raise ApiError(422, "Invalid", f'Pod "{name}" is invalid: {problems[0]}')
        self.pods[(ns, name)] = patched
        return patched

    # ---- the object store (kube_objects.py): events, PVCs, nodes, NodePools, NodeClaims ---------
    def _new_meta(self, obj: dict[str, Any], ns: str, plural: str) -> dict[str, Any]:
        meta = dict(obj.get("metadata") or {})
        if not meta.get("name"):
            if not meta.get("generateName"):
                why = "metadata.name: Required value: name or generateName is required"
                raise ApiError(422, "Invalid", f"{plural}: {why}")
            meta["name"] = meta["generateName"] + self._suffix()
        if ns:
            if meta.get("namespace", ns) != ns:
                raise ApiError(400, "BadRequest", "the namespace of the provided object does not match the request")
            meta["namespace"] = ns
        meta.update(uid=self._uid(), resourceVersion=str(next(self._counter)), creationTimestamp=_now())
        if plural in ("nodepools", "nodeclaims"):
            meta["generation"] = 1
        return meta

    def _create_object(self, key: str, ns: str, body: dict[str, Any]) -> dict[str, Any]:
        res = RESOURCES[key]
        if res.group == "events.k8s.io":
            problems = events_create_problems(body)
            if problems:
                raise ApiError(422, "Invalid", f"Event.events.k8s.io is invalid: {problems[0]}")
            body = from_events_view(body)
            key = "events"
        elif key == "events":
            involved = (body.get("involvedObject") or {}).get("namespace")
            if involved and involved != ns:
                why = "involvedObject.namespace: Invalid value: does not match event.namespace"
                raise ApiError(422, "Invalid", f"Event is invalid: {why}")
        meta = self._new_meta(body, ns if res.namespaced else "", res.plural)
        store = (key, meta.get("namespace", ""), meta["name"])
        if store in self.objects:
            raise ApiError(409, "AlreadyExists", f'{res.plural} "{meta["name"]}" already exists')
        obj = {**body, "apiVersion": RESOURCES[key].api_version, "kind": res.kind, "metadata": meta}
        if res.status_on_create == "drop":
            obj.pop("status", None)
        elif res.status_on_create == "pending":
            obj["status"] = {"phase": "Pending"}
        problems = self.guard.check("created", self._view(key, obj, res))
        if problems:
            raise ApiError(422, "Invalid", f'{res.kind} "{meta["name"]}" is invalid: {problems[0]}')
        self.objects[store] = obj
        return self._view(key, obj, res)

    def _view(self, key: str, obj: dict[str, Any], res: Resource) -> dict[str, Any]:
        """The object as API `res` presents it (events.k8s.io shows stored events mapped)."""
        return events_view(obj) if res.group == "events.k8s.io" else obj

    def _stored_key(self, key: str) -> str:
        return "events" if RESOURCES[key].kind == "Event" else key

    def _find(self, key: str, ns: str, name: str) -> dict[str, Any]:
        obj = self.objects.get((self._stored_key(key), ns, name))
        if obj is None:
            res = RESOURCES[key]
            group = f".{res.group}" if res.group else ""
            details = {"name": name, "kind": res.plural}
            raise ApiError(404, "NotFound", f'{res.plural}{group} "{name}" not found', details)
        return obj

    def op_obj_list(self, request: Request, key: str, ns: str | None = None) -> dict[str, Any]:
        res = RESOURCES[key]
        labels = _selector(request.args.get("labelSelector", ""))
        fields = field_selector(request.args.get("fieldSelector", ""), _bad_request)
        stored = self._stored_key(key)
        mine = [o for (k, n, _), o in sorted(self.objects.items()) if k == stored and ns in (None, n)]
        views = [self._view(key, o, res) for o in mine]
        items = [v for v in views if labels(v) and fields(v)]
        if not res.crd:
            items = [_item(v) for v in items]
        return _list(f"{res.kind}List", res.api_version, items, request, str(next(self._counter)))

    def op_obj_create(self, request: Request, key: str, ns: str = "") -> dict[str, Any]:
        return self._create_object(key, ns, _body(request))

    def op_obj_get(self, request: Request, key: str, name: str, ns: str = "") -> dict[str, Any]:
        return self._view(key, self._find(key, ns, name), RESOURCES[key])

    def op_obj_patch(self, request: Request, key: str, name: str, ns: str = "") -> dict[str, Any]:
        """A merge patch of the object (not its status, which has its own subresource)."""
        res = RESOURCES[key]
        obj = self._find(key, ns, name)
        body = _patch_body(request)
        body.pop("status", None)
        patched = merge(obj, body)
        patched["metadata"] = {**obj["metadata"], **patched.get("metadata", {}), "uid": obj["metadata"]["uid"]}
        patched["metadata"]["resourceVersion"] = str(next(self._counter))
        if res.crd and patched.get("spec") != obj.get("spec"):
            patched["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1
        problems = self.guard.check("patched", self._view(key, patched, res))
        if problems:
            raise ApiError(422, "Invalid", f'{res.kind} "{name}" is invalid: {problems[0]}')
        self.objects[(self._stored_key(key), ns, name)] = patched
        return self._view(key, patched, res)

    def op_obj_status(self, request: Request, key: str, name: str, ns: str = "") -> dict[str, Any]:
        """PATCH of the status subresource: only `status` changes (a merge patch)."""
        res = RESOURCES[key]
        obj = self._find(key, ns, name)
        patched = {**obj, "status": merge(obj.get("status", {}), _patch_body(request).get("status", {}))}
        patched["metadata"] = {**obj["metadata"], "resourceVersion": str(next(self._counter))}
        problems = self.guard.check("patched", patched)
        if problems:
            raise ApiError(422, "Invalid", f'{res.kind} "{name}" is invalid: {problems[0]}')
        self.objects[(self._stored_key(key), ns, name)] = patched
        return patched

    def _log_container(self, pod: dict[str, Any], container: str | None) -> str:
        names = [c["name"] for c in pod["spec"]["containers"]]
        init = [c["name"] for c in pod["spec"].get("initContainers", [])]
        if container is None:
            if len(names) == 1:
                return names[0]
            choose = f"choose one of: [{' '.join(names)}]"
            if init:
                choose += f" or one of the init containers: [{' '.join(init)}]"
            name = pod["metadata"]["name"]
            raise ApiError(400, "BadRequest", f"a container name must be specified for pod {name}, {choose}")
        if container not in names + init:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {pod['metadata']['name']}")
        return container

    # ---- v1 pods/exec: a websocket ------------------------------------------------------------
    def op_exec_pod(self, request: Request, ns: str, name: str) -> Response:
        """Checked as the API server does before the upgrade (an error here is a plain HTTP Status);
        then the command runs in the double's small interpreter (`_run`) and the websocket carries
        its output and exit Status (`ExecSession`)."""
        pod = self.pods.get((ns, name))
        if pod is None:
            raise ApiError(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
        command = request.args.getlist("command")
        if not command:
            raise ApiError(400, "BadRequest", "you must specify at least 1 command")
        flags = {k: request.args.get(k, "false").lower() in ("1", "true") for k in ("stdin", "stdout", "stderr")}
        if not any(flags.values()):
            raise ApiError(400, "BadRequest", "you must specify at least one of stdin, stdout, stderr")
        if flags["stdin"] or request.args.get("tty", "false").lower() in ("1", "true"):
            raise ApiError(400, "BadRequest", "the kube API test double runs exec without stdin and tty only")
        containers = [c["name"] for c in pod["spec"]["containers"]]
        container = request.args.get("container")
        if container is None and len(containers) > 1:
            choose = " ".join(containers)
            raise ApiError(
                400, "BadRequest", f"a container name must be specified for pod {name}, choose one of: [{choose}]"
            )
        if container is not None and container not in containers:
            raise ApiError(400, "BadRequest", f"container {container} is not valid for pod {name}")
        offered = [p.strip() for p in request.headers.get("Sec-WebSocket-Protocol", "").split(",")]
        protocol = next((p for p in offered if p in EXEC_PROTOCOLS), None)
        if protocol is None:
            raise ApiError(
                400, "BadRequest", f"the kube API test double speaks {' and '.join(EXEC_PROTOCOLS)}, offered: {offered}"
            )
        self.execs.append((name, command))
        self.exec_protocols.append(protocol)
        code, out, err, internal = self._run(name, command)
        if internal:
            body = status(
                500, "InternalError", f"Internal error occurred: {internal}", {"causes": [{"message": internal}]}
            )
        elif code:
            cause = {"reason": "ExitCode", "message": str(code)}
            message = "command terminated with non-zero exit code: "
            message += f"error executing command {_go_list(command)}, exit code {code}"
            body = {
                "status": "Failure",
                "message": message,
                "reason": "NonZeroExitCode",
                "details": {"causes": [cause]},
            }
        else:
            body = {"status": "Success"}
        # on channel 3 the API server writes a bare metav1.Status: no kind, no apiVersion, no code unless set
        body = {"metadata": {}, **{k: v for k, v in body.items() if k not in ("kind", "apiVersion", "metadata")}}
        problems = self.guard.check(
            "answered on the exec status channel", {"kind": "Status", "apiVersion": "v1", **body}
        )
        if problems:
            body = {"metadata": {}, "status": "Failure", "reason": "InternalError", "code": 500,
                    "message": f"test double answered outside the schema: {problems[0]}"}  # fmt: skip
        frames = [bytes([STDOUT])]  # the API server's first, empty frame: the streams are open
        frames += [bytes([STDOUT]) + out.encode()] if out and flags["stdout"] else []
        frames += [bytes([STDERR]) + err.encode()] if err and flags["stderr"] else []
        frames.append(bytes([STATUS]) + json.dumps(body).encode())
        return ExecSession(frames, protocol)

    def _run(self, pod: str, argv: list[str]) -> tuple[int, str, str, str]:
        """(exit code, stdout, stderr, internal error) of `argv` in `pod`: the few commands a test
        needs. An executable the double does not know fails as containerd's does (the exec is never
        started: an InternalError Status, no exit code); under `sh -c` it is the shell's 127."""
        code, err, only = self._exec_failures.get(pod, (0, "", None))
        if code and only in (None, argv):
            return code, "", err, ""
        if (pod, argv[0]) in self._exec_answers:
            return (*self._exec_answers[(pod, argv[0])], "")
        if argv[0] in ("sh", "/bin/sh"):
            if len(argv) < 3 or argv[1] != "-c":
                return 2, "", "sh: the kube API test double runs `sh -c SCRIPT` only\n", ""
            return (*self._script(pod, argv[2]), "")
        if argv[0] not in ("echo", "kill"):
            exec_id = _digest(list(argv), 64)
            return (
                -1,
                "",
                "",
                (
                    "error executing command in container: failed to exec in container: failed to start exec "
                    f'"{exec_id}": OCI runtime exec failed: exec failed: unable to start container process: '
                    f'exec: "{argv[0]}": executable file not found in $PATH: unknown'
                ),
            )
        return (*self._builtin(pod, argv), "")

    def _builtin(self, pod: str, argv: list[str]) -> tuple[int, str, str]:
        if argv[0] == "echo":
            return 0, " ".join(argv[1:]) + "\n", ""
        if argv[0] == "kill":
            if len(argv) != 3 or not argv[1].startswith("-"):
                return 1, "", "kill: the kube API test double knows `kill -SIG PID` only\n"
            sig, pid = argv[1][1:].upper().removeprefix("SIG"), argv[2]
            if pid != "1":
                return 1, "", f"kill: ({pid}) - No such process\n"
            if sig == "STOP":
                self.paused.add(pod)
            elif sig == "CONT":
                self.paused.discard(pod)
            else:
                return 1, "", f"kill: the kube API test double sends STOP and CONT only, not {sig}\n"
            return 0, "", ""
        return 127, "", f"sh: 1: {argv[0]}: not found\n"

    def _script(self, pod: str, script: str) -> tuple[int, str, str]:
        """`sh -c`: statements separated by `;`, each `exit [N]`, `echo ... [>&2]`, `kill ...`, or
        a command not found (127, and the shell goes on). The exit code is the last statement's."""
        code, out, err = 0, "", ""
        for statement in filter(None, (part.strip() for part in script.split(";"))):
            words = shlex.split(statement)
            if words[0] == "exit":
                return (int(words[1]) if len(words) > 1 else code), out, err
            to_stderr = words[-1] == ">&2"
            code, o, e = self._builtin(pod, words[:-1] if to_stderr else words)
            out, err = (out, err + o + e) if to_stderr else (out + o, err + e)
        return code, out, err


class ExecSession(Response):
    """The websocket side of an exec: upgrade (to the negotiated `protocol`), send `frames`
    (binary, each led by its channel byte), close. simple_websocket takes the connection over from
    werkzeug's dev server (`environ["werkzeug.socket"]`); once the client has answered the close,
    the socket is shut down and werkzeug is told the connection dropped, so it neither writes an
    HTTP response nor reads a next request from a websocket."""

    def __init__(self, frames: list[bytes], protocol: str) -> None:
        super().__init__()
        self.frames, self.protocol = frames, protocol

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from simple_websocket import ConnectionClosed, Server

        ws = Server(environ, subprotocols=[self.protocol])
        try:
            for frame in self.frames:
                ws.send(frame)
            ws.close()
        except ConnectionClosed:
            pass  # the client went first
        ws.thread.join(timeout=5)  # until the client's close frame came back
        with contextlib.suppress(OSError):
            environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
        raise ConnectionError("websocket closed")


def _object_rules() -> list[Rule]:
    """list/create/get/status routes of every kind of the object store, at their API paths."""
    rules = []
    for key, res in RESOURCES.items():
        base = f"{res.prefix}/namespaces/<ns>/{res.plural}" if res.namespaced else f"{res.prefix}/{res.plural}"
        d = {"key": key}
        rules += [
            Rule(base, methods=["GET"], endpoint="obj_list", defaults=d),
            Rule(base, methods=["POST"], endpoint="obj_create", defaults=d),
            Rule(f"{base}/<name>", methods=["GET"], endpoint="obj_get", defaults=d),
            Rule(f"{base}/<name>", methods=["PATCH"], endpoint="obj_patch", defaults=d),
            Rule(f"{base}/<name>/status", methods=["PATCH"], endpoint="obj_status", defaults=d),
        ]
        if res.namespaced:  # the all-namespaces list
            rules.append(Rule(f"{res.prefix}/{res.plural}", methods=["GET"], endpoint="obj_list", defaults=d))
    return rules


def _text_quantities(pod_spec: dict[str, Any]) -> None:
    """Container resource quantities as the API server writes them: always strings (`1`, `64Gi`),
    whatever number the manifest had (a Quantity's canonical form; CRDs keep what they were given)."""
    for c in pod_spec.get("containers", []) + pod_spec.get("initContainers", []):
        for part in ("requests", "limits"):
            values = (c.get("resources") or {}).get(part)
            if values:
                c["resources"][part] = {k: str(v) for k, v in values.items()}


def _owner_uid(pod: dict[str, Any]) -> str | None:
    owners = pod["metadata"].get("ownerReferences") or []
    return owners[0]["uid"] if owners else None


def _waiting_reason(pod: dict[str, Any], container: str) -> str | None:
    status = pod.get("status", {})
    for cs in status.get("containerStatuses", []) + status.get("initContainerStatuses", []):
        if cs["name"] == container:
            waiting = (cs.get("state") or {}).get("waiting")
            return (waiting.get("reason") or "ContainerCreating") if waiting is not None else None
    return "ContainerCreating"


def _qos(spec: dict[str, Any]) -> str:
    """The pod's QoS class as the API server computes it (cpu and memory of every container)."""
    resources = [c.get("resources") or {} for c in spec.get("containers", [])]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    for r in resources:
        limits, requests = r.get("limits") or {}, r.get("requests") or {}
        for name in ("cpu", "memory"):
            if name not in limits or requests.get(name, limits[name]) != limits[name]:
                return "Burstable"
    return "Guaranteed"


def _bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def _body(request: Request) -> dict[str, Any]:
    body = json.loads(request.get_data() or b"{}")
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "the request body must be a JSON object")
    return body


def _go_list(words: list[str]) -> str:
    """A []string as Go's %v prints it."""
    return "[" + " ".join(words) + "]"


def _item(obj: dict[str, Any]) -> dict[str, Any]:
    """A list item as the API server encodes it: without apiVersion and kind."""
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}


def _list(kind: str, api_version: str, items: list[dict[str, Any]], request: Request, rv: str) -> dict[str, Any]:
    meta: dict[str, Any] = {"resourceVersion": rv}
    limit = int(request.args.get("limit", 0) or 0)
    if limit and len(items) > limit:
        items, meta["continue"] = items[:limit], "kube-api-double-continue"
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, "items": items}


def _scale(wl: dict[str, Any]) -> dict[str, Any]:
    meta = wl["metadata"]
    labels = wl["spec"]["selector"].get("matchLabels", {})
    return {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")},
        "spec": {"replicas": wl["spec"].get("replicas", 1)},
        "status": {
            "replicas": wl["status"].get("replicas", 0),
            "selector": ",".join(f"{k}={v}" for k, v in labels.items()),
        },
    }


def _patch_body(request: Request) -> Any:
    kind = (request.mimetype or "").lower()
    if kind not in MERGE_PATCHES:
        raise ApiError(415, "UnsupportedMediaType", f"the kube API test double takes merge patches only, not {kind!r}")
    body = json.loads(request.get_data() or b"{}")
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "a merge patch must be a JSON object")
    return body


def _selector(text: str) -> Callable[[dict[str, Any]], bool]:
    """Equality-based label selector (`a=b,c==d,e!=f`): what the target sends."""
    rules: list[tuple[str, str, bool]] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "!=" in part:
            key, value = part.split("!=", 1)
            rules.append((key, value, False))
        elif "=" in part:
            key, value = part.replace("==", "=", 1).split("=", 1)
            rules.append((key, value, True))
        else:
            raise ApiError(400, "BadRequest", f"selector {part!r}: the kube API test double knows = == != only")

    def match(pod: dict[str, Any]) -> bool:
        labels = pod["metadata"].get("labels", {})
        return all((labels.get(k) == v) == equal for k, v, equal in rules)

    return match


def api_client(double: KubeApiDouble, token: str | None = None) -> Any:
    """A real `kubernetes.client.ApiClient` aimed at the double, with its bearer token (or `token`)."""
    from kubernetes import client

    config = client.Configuration(host=double.url)
    config.api_key = {"BearerToken": double.token if token is None else token}
    config.api_key_prefix = {"BearerToken": "Bearer"}
    return client.ApiClient(config)
