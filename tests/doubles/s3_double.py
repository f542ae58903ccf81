"""S3Double: a TEST DOUBLE of Amazon S3 (no S3 can be reached from here).

It is moto's standalone server (`moto_server`, from `moto[server]`) run as its own process on
127.0.0.1: a real HTTP endpoint speaking the S3 REST API, reached by the runbooks' own boto3
client through the standard `AWS_ENDPOINT_URL_S3` variable. One server per test session (it
starts in about half a second); each test gets a bucket of its own. `deny_all()` turns on moto's
IAM enforcement with an identity that has no policy, so requests get S3's real AccessDenied.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.doubles.serving import free_port

REGION = "us-east-1"
# Fake credentials of the double; never real ones.
ACCESS_KEY = "double-access-key"
SECRET_KEY = "double-secret-key-never-printed"


class S3Double:
    """moto's S3 server in a subprocess, and boto3 clients pointed at it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 20) -> None:
        server = Path(sys.executable).with_name("moto_server")
        self.proc = subprocess.Popen(
            [str(server), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/moto-api/", timeout=1)
                return
            except httpx.TransportError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"moto_server exited with {self.proc.returncode}") from None
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"moto_server did not answer on {self.url} within {timeout_s:.0f} s")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def env(self) -> dict[str, str]:
        """What the runbooks' standard AWS chain needs to reach the double."""
        return {
            "AWS_ENDPOINT_URL_S3": self.url,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
        }

    def client(self, service: str = "s3", **creds: str) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=creds.get("key", ACCESS_KEY),
            aws_secret_access_key=creds.get("secret", SECRET_KEY),
        )

    def new_bucket(self) -> str:
        name = f"inferops-test-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def _auth(self, no_auth_actions: str) -> None:
        httpx.post(f"{self.url}/moto-api/reset-auth", content=no_auth_actions.encode()).raise_for_status()

    @contextmanager
    def deny_all(self) -> Iterator[dict[str, str]]:
        """Credentials of an IAM user with no policy, while moto enforces IAM; yields them as env vars."""
        iam = self.client("iam")
        user = f"no-rights-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=user)
        key = iam.create_access_key(UserName=user)["AccessKey"]
        self._auth("0")
        try:
            yield {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
        finally:
            self._auth("inf")


def objects(client: Any, bucket: str, prefix: str = "") -> list[str]:
    """Every key in the bucket under `prefix`."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def open_uploads(client: Any, bucket: str) -> list[str]:
    """Keys of multipart uploads started and neither completed nor aborted."""
    return [u["Key"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]
