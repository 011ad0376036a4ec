"""A real S3-compatible server on 127.0.0.1 for the ``s3://`` store tests: moto's
standalone server (``moto[server]``, a test extra) in a subprocess, with IAM
authentication on, so wrong credentials are refused as a real S3 refuses them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ports import free_port, listening

START_TIMEOUT = 60.0


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    key_id: str
    secret: str

    def env(self) -> dict[str, str]:
        """The standard AWS variables pointing at this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "AWS_REGION": "us-east-1",
        }

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.key_id,
            aws_secret_access_key=self.secret,
            region_name="us-east-1",
        )

    def upload(self, root: Path, bucket: str, prefix: str) -> int:
        """Copy the store folder ``root`` under ``s3://bucket/prefix`` (as ``aws s3 sync``)."""
        client = self.client()
        existing = {b["Name"] for b in client.list_buckets()["Buckets"]}
        if bucket not in existing:
            client.create_bucket(Bucket=bucket)
        count = 0
        for path in sorted(root.rglob("*")):
            if path.is_file():
                key = f"{prefix}/{path.relative_to(root).as_posix()}".lstrip("/")
                client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
                count += 1
        return count


@contextmanager
def s3_server(logs: Path) -> Iterator[S3Server]:
    """Start ``moto.server`` on a free port, create an IAM user allowed ``s3:*`` and yield
    the server with that user's keys; every later request must be signed with them."""
    import boto3

    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "3"}
    with (logs / "moto.log").open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto server did not start: {(logs / 'moto.log').read_text()}")
            time.sleep(0.2)
        endpoint = f"http://127.0.0.1:{port}"
        iam = boto3.client(
            "iam",
            endpoint_url=endpoint,
            aws_access_key_id="bootstrap",
            aws_secret_access_key="bootstrap",
            region_name="us-east-1",
        )
        iam.create_user(UserName="pyflare")  # the three unauthenticated requests
        key = iam.create_access_key(UserName="pyflare")["AccessKey"]
        iam.put_user_policy(
            UserName="pyflare",
            PolicyName="s3",
            PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
            '"Action": "s3:*", "Resource": "*"}]}',
        )
        yield S3Server(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
