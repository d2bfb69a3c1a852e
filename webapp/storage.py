"""Where finished report files live: a local folder (the default) or an
S3-compatible object store, chosen by REPORTS_STORAGE.

A worker always writes the file to a temporary name in its own local folder
(REPORTS_DIR) and then hands it over with put(): the local store renames it
into place, the S3 store uploads it (boto3 sends big files as a multipart
upload and aborts it if a part fails) and removes the local copy. Either way
the file appears under its final key only once complete. Downloads keep
every check the services make; then the local store sends the file, and the
S3 store redirects to a presigned URL valid for REPORTS_S3_URL_SECONDS (60)
with the download's name and type, or streams the object through the app
(REPORTS_S3_DOWNLOAD=proxy, for stores the browser cannot reach)."""
from __future__ import annotations

import os
import threading
import unicodedata
from pathlib import Path
from urllib.parse import quote, urlsplit

from flask import Flask, Response, current_app, redirect, send_file

# Report files hold customers and money: the owner (the workers) writes, the
# group reads (a web server process under another user, backups), others nothing.
REPORT_FILE_MODE = 0o640


class StorageError(Exception):
    """The store could not be reached or refused the request."""


def create_scratch_file(path: Path) -> None:
    """Create the empty file a generator then writes: with REPORT_FILE_MODE
    from its first byte (a generator's own open() would follow the umask,
    usually 0644, so it would be world-readable while it is written)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, REPORT_FILE_MODE)
    try:
        if hasattr(os, "fchmod"):  # POSIX; exactly this: a umask may have taken bits off
            os.fchmod(fd, REPORT_FILE_MODE)
    finally:
        os.close(fd)


class LocalStorage:
    kind = "local"

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def describe(self) -> str:
        return str(self.folder)

    def put(self, local: Path, key: str) -> None:
        # before the rename: under its final name it is never readable by others
        os.chmod(local, REPORT_FILE_MODE)
        os.replace(local, self.folder / key)

    def delete(self, key: str) -> None:
        (self.folder / key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return (self.folder / key).is_file()

    def read(self, key: str) -> bytes:
        """The whole file (an e-mail attachment: small by then)."""
        return (self.folder / key).read_bytes()

    def response(self, key: str, *, download_name: str, mimetype: str) -> Response:
        return send_file(self.folder / key, mimetype=mimetype, as_attachment=True,
                         download_name=download_name, max_age=0)

    def check(self) -> dict:
        ok = self.folder.is_dir() and os.access(self.folder, os.W_OK)
        return {"ok": ok, "kind": self.kind}


class S3Storage:
    kind = "s3"

    def __init__(self, url: str, *, endpoint_url: str | None = None, proxy: bool = False,
                 url_seconds: int = 60) -> None:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"REPORTS_STORAGE must be s3://bucket[/prefix], not {url!r}")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.endpoint_url = endpoint_url or None
        self.proxy = proxy
        self.url_seconds = max(1, min(int(url_seconds), 60))
        self._client = None
        self._client_lock = threading.Lock()

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"

    @property
    def client(self):
        with self._client_lock:
            if self._client is None:
                # imported here: a local-folder deployment never loads boto3
                import boto3
                from botocore.config import Config

                # A session of its own: boto3's default session is not safe to
                # create clients from in several threads at once (gunicorn threads).
                # SigV4 for presigned URLs too: botocore presigns with SigV2 by
                # default, which newer AWS regions and most S3-compatible stores
                # reject (SeaweedFS refuses SigV2 with response-content-* overrides).
                self._client = boto3.session.Session().client(
                    "s3", endpoint_url=self.endpoint_url,
                    config=Config(connect_timeout=3, read_timeout=30,
                                  retries={"max_attempts": 3, "mode": "standard"},
                                  signature_version="s3v4",
                                  s3={"addressing_style": "path"}))
        return self._client

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def put(self, local: Path, key: str) -> None:
        try:
            from boto3.s3.transfer import TransferConfig

            # 8 MB parts, 4 at a time: boto3's default of 10 threads holds up to
            # ten parts in memory, which a worker's memory cap has to allow for
            self.client.upload_file(str(local), self.bucket, self.key(key), Config=TransferConfig(
                multipart_chunksize=8 * 1024 * 1024, max_concurrency=4, max_io_queue=8))
        # boto3 reports a failed upload as S3UploadFailedError, which is neither
        # a BotoCoreError nor a ClientError; OSError: the local file is unreadable
        except (*_client_errors(), OSError) as exc:
            raise StorageError(f"could not upload {key}: {exc}") from exc
        finally:
            Path(local).unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.key(key))
        except _client_errors() as exc:
            raise StorageError(f"could not delete {key}: {exc}") from exc

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StorageError(f"could not look up {key}: {exc}") from exc
        except _client_errors() as exc:
            raise StorageError(f"could not look up {key}: {exc}") from exc
        return True

    def read(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key(key))["Body"].read()
        except _client_errors() as exc:
            raise StorageError(f"could not read {key}: {exc}") from exc

    def response(self, key: str, *, download_name: str, mimetype: str) -> Response:
        disposition = _content_disposition(download_name)
        if not self.proxy:
            url = self.client.generate_presigned_url(
                "get_object", ExpiresIn=self.url_seconds,
                Params={"Bucket": self.bucket, "Key": self.key(key),
                        "ResponseContentDisposition": disposition,
                        "ResponseContentType": mimetype})
            return redirect(url, 302)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(key))
        except _client_errors() as exc:
            raise StorageError(f"could not read {key}: {exc}") from exc
        stream = body["Body"]
        response = Response(stream.iter_chunks(64 * 1024), mimetype=mimetype,
                            direct_passthrough=True)
        response.headers["Content-Disposition"] = disposition
        response.headers["Content-Length"] = str(body["ContentLength"])
        response.call_on_close(stream.close)
        return response

    def check(self) -> dict:
        try:
            self.client.head_bucket(Bucket=self.bucket)
            return {"ok": True, "kind": self.kind}
        except Exception as exc:  # any client or network error: not usable now
            return {"ok": False, "kind": self.kind, "error": f"{type(exc).__name__}: {exc}"[:200]}


def _client_errors() -> tuple[type[Exception], ...]:
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    return BotoCoreError, ClientError, Boto3Error


def _content_disposition(name: str) -> str:
    """attachment; filename="…" with an RFC 5987 filename* for non-ASCII names
    (what Flask's send_file writes: "Müller" falls back to "Muller")."""
    try:
        name.encode("ascii")
        simple, extended = name, None
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
        extended = quote(name, safe="!#$&+-.^_`|~")
    simple = (simple or "report").replace("\\", "\\\\").replace('"', '\\"')
    value = f'attachment; filename="{simple}"'
    return f"{value}; filename*=UTF-8''{extended}" if extended else value


def make_storage(config) -> LocalStorage | S3Storage:
    """REPORTS_STORAGE: empty or "local" for the REPORTS_DIR folder (a rename
    into place is atomic only within one file system, so the folder is the
    workers' own), or s3://bucket[/prefix]."""
    url = (config.get("REPORTS_STORAGE") or "").strip()
    if url in ("", "local"):
        return LocalStorage(config["REPORTS_DIR"])
    return S3Storage(url, endpoint_url=config.get("S3_ENDPOINT_URL"),
                     proxy=(config.get("REPORTS_S3_DOWNLOAD") or "redirect") == "proxy",
                     url_seconds=config.get("REPORTS_S3_URL_SECONDS", 60))


def init_app(app: Flask) -> None:
    app.extensions["report_storage"] = make_storage(app.config)


def storage() -> LocalStorage | S3Storage:
    return current_app.extensions["report_storage"]
