"""S3Storage against a real S3 server (SeaweedFS, tests/s3.py): uploads small
and multipart, failed uploads that must leave nothing behind, presigned and
proxied downloads, health checks, prefixes; and make_storage's choice."""
from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time
from pathlib import Path

import flask
import pytest
import requests
from botocore.exceptions import ClientError, EndpointConnectionError

from tests.harness import free_port
from webapp.storage import LocalStorage, S3Storage, StorageError, make_storage

MB = 1024 * 1024
CSV = "text/csv"


@pytest.fixture
def bucket(s3_server) -> str:
    return s3_server.bucket()


@pytest.fixture
def s3(s3_server):
    """A boto3 client of the test's own, to look at the server behind the store's back."""
    return s3_server.client()


def make_store(s3_server, bucket: str, prefix: str = "", **kwargs) -> S3Storage:
    return S3Storage(f"s3://{bucket}/{prefix}", endpoint_url=s3_server.endpoint_url, **kwargs)


@pytest.fixture
def store(s3_server, bucket) -> S3Storage:
    return make_store(s3_server, bucket)


def local_file(tmp_path: Path, data: bytes, name: str = ".1-report.csv.tmp") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_object(s3, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def object_keys(s3, bucket: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def unfinished_uploads(s3, bucket: str) -> list[dict]:
    return s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def downloader(store: S3Storage, key: str, name: str, mimetype: str = CSV) -> flask.Flask:
    """A bare Flask app whose one route answers with store.response(), as the
    download view does; its test client runs the response through WSGI."""
    app = flask.Flask(__name__)

    @app.get("/download")
    def download():
        return store.response(key, download_name=name, mimetype=mimetype)

    return app


# -- put, exists, delete ---------------------------------------------------------

def test_put_uploads_the_exact_bytes_and_removes_the_local_copy(store, s3, bucket, tmp_path):
    data = b"id,customer,total\r\n1,\xc3\x9cr\xc3\xbcn GmbH,12.50\r\n"
    path = local_file(tmp_path, data)

    store.put(path, "1-report.csv")

    assert not path.exists()
    assert read_object(s3, bucket, "1-report.csv") == data
    assert object_keys(s3, bucket) == ["1-report.csv"]


def test_exists_and_delete(store, tmp_path):
    assert not store.exists("2-report.pdf")
    store.put(local_file(tmp_path, b"%PDF-1.7 ..."), "2-report.pdf")
    assert store.exists("2-report.pdf")

    store.delete("2-report.pdf")
    assert not store.exists("2-report.pdf")
    store.delete("2-report.pdf")  # already gone: not an error (the sweeper may race a user)


def test_a_big_file_goes_up_as_a_multipart_upload_and_arrives_intact(store, s3, bucket,
                                                                        tmp_path):
    data = os.urandom(40 * MB)  # > boto3's 8 MB threshold: five parts
    store.put(local_file(tmp_path, data), "3-big.csv")

    head = s3.head_object(Bucket=bucket, Key="3-big.csv")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].strip('"').endswith("-5"), head["ETag"]  # a multipart object's ETag
    assert hashlib.sha256(read_object(s3, bucket, "3-big.csv")).digest() == \
        hashlib.sha256(data).digest()
    assert unfinished_uploads(s3, bucket) == []


# -- failed uploads leave nothing behind -----------------------------------------------

@pytest.mark.parametrize("size", [1024, 20 * MB], ids=["small", "multipart"])
def test_put_to_a_missing_bucket_raises_storage_error(s3_server, s3, tmp_path, size):
    store = make_store(s3_server, "no-such-bucket-for-reports")
    path = local_file(tmp_path, os.urandom(size))

    with pytest.raises(StorageError, match="4-report.csv"):
        store.put(path, "4-report.csv")

    assert not path.exists()
    with pytest.raises(ClientError) as missing:  # and the upload did not create it
        s3.head_bucket(Bucket="no-such-bucket-for-reports")
    assert missing.value.response["Error"]["Code"] in ("404", "NoSuchBucket")


def test_put_of_a_vanished_local_file_raises_storage_error(store, s3, bucket, tmp_path):
    with pytest.raises(StorageError):
        store.put(tmp_path / "never-written.tmp", "5-report.csv")

    assert object_keys(s3, bucket) == []


def test_a_put_that_fails_midway_aborts_its_multipart_upload(store, s3, bucket, tmp_path):
    """The network drops after three of five parts went up: boto3 must abort the
    multipart upload, so the server keeps neither an object nor the parts."""
    path = local_file(tmp_path, os.urandom(40 * MB))
    seen_on_server: list[list[dict]] = []
    lock = threading.Lock()
    calls = itertools.count(1)

    def drop_connection(params, **_):
        if params["PartNumber"] <= 3:
            return
        with lock:
            if next(calls) == 1:  # proof that there was an upload to abort
                seen_on_server.append(unfinished_uploads(s3, bucket))
        raise EndpointConnectionError(endpoint_url=store.endpoint_url)

    # a client-side fault on the real server: botocore's own event hook
    store.client.meta.events.register("provide-client-params.s3.UploadPart", drop_connection)

    with pytest.raises(StorageError, match="6-big.csv"):
        store.put(path, "6-big.csv")

    assert not path.exists()
    assert [u["Key"] for u in seen_on_server[0]] == ["6-big.csv"]
    assert unfinished_uploads(s3, bucket) == []
    assert object_keys(s3, bucket) == []
    assert not store.exists("6-big.csv")


# -- downloads -----------------------------------------------------------------------

@pytest.mark.parametrize("name, disposition", [
    ("completed-orders-2024-01-01-to-2024-01-31.csv",
     'attachment; filename="completed-orders-2024-01-01-to-2024-01-31.csv"'),
    ("Bericht Müller – März.csv",
     "attachment; filename=\"Bericht Muller  Marz.csv\"; "
     "filename*=UTF-8''Bericht%20M%C3%BCller%20%E2%80%93%20M%C3%A4rz.csv"),
], ids=["ascii", "non-ascii"])
def test_redirect_to_a_presigned_url_that_serves_the_file_as_a_download(
        s3_server, store, bucket, tmp_path, name, disposition):
    data = "id,customer\r\n1,Ürün Ελληνικά\r\n".encode()
    store.put(local_file(tmp_path, data), "7-report.csv")

    answer = downloader(store, "7-report.csv", name).test_client().get("/download")

    assert answer.status_code == 302
    url = answer.headers["Location"]
    assert url.startswith(f"{s3_server.endpoint_url}/{bucket}/7-report.csv?")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=60" in url  # SigV4, 60 s
    got = requests.get(url, timeout=10)  # a browser: no credentials of its own
    assert got.status_code == 200, got.text
    assert got.content == data
    assert got.headers["Content-Disposition"] == disposition
    assert got.headers["Content-Type"] == CSV
    # the signature is what lets the browser in: the bare object URL is refused
    assert requests.get(url.split("?")[0], timeout=10).status_code == 403


def test_a_presigned_url_stops_working_after_its_expiry(s3_server, bucket, tmp_path):
    store = make_store(s3_server, bucket, url_seconds=1)
    store.put(local_file(tmp_path, b"secret,report\r\n"), "8-report.csv")

    url = downloader(store, "8-report.csv", "r.csv").test_client().get(
        "/download").headers["Location"]
    assert "X-Amz-Expires=1&" in url
    time.sleep(2.2)

    got = requests.get(url, timeout=10)
    assert got.status_code == 403
    assert "<Code>AccessDenied</Code>" in got.text and b"secret" not in got.content


def test_proxy_mode_streams_the_object_through_the_app(s3_server, bucket, tmp_path):
    store = make_store(s3_server, bucket, proxy=True)
    data = os.urandom(3 * MB + 17)  # several 64 KiB chunks and a ragged end
    store.put(local_file(tmp_path, data), "9-report.pdf")

    answer = downloader(store, "9-report.pdf", "Rapport été.pdf",
                        "application/pdf").test_client().get("/download")

    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Content-Length"] == str(len(data))
    assert answer.headers["Content-Disposition"] == (
        "attachment; filename=\"Rapport ete.pdf\"; filename*=UTF-8''Rapport%20%C3%A9t%C3%A9.pdf")
    assert "Location" not in answer.headers
    assert answer.data == data


def test_proxy_mode_of_a_missing_object_raises_storage_error(s3_server, bucket):
    store = make_store(s3_server, bucket, proxy=True)
    with flask.Flask(__name__).app_context(), pytest.raises(StorageError):
        store.response("gone.csv", download_name="gone.csv", mimetype=CSV)


# -- health check --------------------------------------------------------------------

def test_check_is_ok_for_an_existing_bucket(store):
    assert store.check() == {"ok": True, "kind": "s3"}


def test_check_is_not_ok_for_a_missing_bucket(s3_server):
    result = make_store(s3_server, "no-such-bucket-for-health").check()
    assert result["ok"] is False and result["kind"] == "s3"
    assert "404" in result["error"] or "NoSuchBucket" in result["error"]


def test_check_is_not_ok_when_nothing_listens_at_the_endpoint(bucket):
    store = S3Storage(f"s3://{bucket}", endpoint_url=f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    result = store.check()
    assert time.monotonic() - started < 10  # connection refused, a few quick retries
    assert result["ok"] is False
    assert result["error"].startswith("EndpointConnectionError")


# -- prefix and configuration ----------------------------------------------------------

def test_the_prefix_is_part_of_every_key(s3_server, s3, bucket, tmp_path):
    store = make_store(s3_server, bucket, "reports/eu-1/")
    assert (store.bucket, store.prefix) == (bucket, "reports/eu-1")
    store.put(local_file(tmp_path, b"a,b\r\n"), "10-report.csv")

    assert object_keys(s3, bucket) == ["reports/eu-1/10-report.csv"]
    assert store.exists("10-report.csv")
    assert not make_store(s3_server, bucket).exists("10-report.csv")
    url = downloader(store, "10-report.csv", "r.csv").test_client().get(
        "/download").headers["Location"]
    assert f"/{bucket}/reports/eu-1/10-report.csv?" in url
    store.delete("10-report.csv")
    assert object_keys(s3, bucket) == []


@pytest.mark.parametrize("setting", [None, "", "  ", "local"])
def test_make_storage_picks_the_local_folder(tmp_path, setting):
    config = {"REPORTS_DIR": str(tmp_path)}
    if setting is not None:
        config["REPORTS_STORAGE"] = setting
    store = make_storage(config)
    assert isinstance(store, LocalStorage) and store.folder == tmp_path


def test_make_storage_picks_s3_with_its_settings(tmp_path):
    store = make_storage({"REPORTS_DIR": str(tmp_path), "REPORTS_STORAGE": " s3://reports/a/b ",
                          "S3_ENDPOINT_URL": "http://127.0.0.1:1", "REPORTS_S3_DOWNLOAD": "proxy",
                          "REPORTS_S3_URL_SECONDS": 30})
    assert isinstance(store, S3Storage)
    assert (store.bucket, store.prefix, store.endpoint_url) == ("reports", "a/b",
                                                                "http://127.0.0.1:1")
    assert store.proxy is True and store.url_seconds == 30

    plain = make_storage({"REPORTS_DIR": str(tmp_path), "REPORTS_STORAGE": "s3://reports"})
    assert (plain.prefix, plain.endpoint_url, plain.proxy, plain.url_seconds) == (
        "", None, False, 60)


@pytest.mark.parametrize("url", ["s3://", "s3:///reports", "https://bucket/prefix"])
def test_make_storage_rejects_an_s3_url_without_a_bucket(tmp_path, url):
    with pytest.raises(ValueError, match="s3://bucket"):
        make_storage({"REPORTS_DIR": str(tmp_path), "REPORTS_STORAGE": url})
