"""Fault scenarios on real processes: every job ends in a final state with a
reason, no partial file is left or served, and the web app keeps answering."""
from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.conftest import wait_for

pytestmark = [pytest.mark.faults, pytest.mark.integration]

# 200,000 rows: a PDF takes a few seconds (~70k rows/s), time enough to hurt it
BIG = (400, 500)


def test_kill_9_of_the_pool_child_mid_pdf_reruns_the_job_once(cluster):
    cluster.seed(*BIG)
    worker = cluster.worker()
    job = cluster.request("pdf")
    running = cluster.wait_status(job["id"], "PROCESSING")
    wait_for(lambda: cluster.job(job["id"])["rows_done"] > 0, what="rows flowing")
    os.kill(cluster.claimed_by_pid(job["id"]), signal.SIGKILL)
    done = cluster.wait_status(job["id"], {"COMPLETED", "FAILED"})
    assert done["status"] == "COMPLETED", done
    assert done["attempts"] == 2 and running["attempts"] == 1
    assert [e["event"] for e in done["events"] if e["event"] != "progress"] == [
        "requested", "started", "restarted", "completed"]
    cluster.assert_clean(done)
    assert "WorkerLostError" in worker.output() or "exited prematurely" in worker.output()


def test_kill_9_of_the_whole_worker_then_restart_completes_the_job(cluster):
    cluster.seed(*BIG)
    worker = cluster.worker()
    job = cluster.request("pdf")
    cluster.wait_status(job["id"], "PROCESSING")
    worker.signal_group(signal.SIGKILL)
    worker.proc.wait()
    assert cluster.job(job["id"])["status"] == "PROCESSING"
    cluster.worker()  # its start-up sweep finds the dead owner and re-queues the job
    done = cluster.wait_status(job["id"], {"COMPLETED", "FAILED"})
    assert done["status"] == "COMPLETED" and done["attempts"] == 2, done
    assert "requeued" in [e["event"] for e in done["events"]]
    cluster.assert_clean(done)


def test_poison_job_that_kills_its_process_every_time_ends_failed_worker_lost(cluster):
    cluster.seed(*BIG)
    cluster.worker()
    job = cluster.request("pdf")
    killed = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        state = cluster.job(job["id"])
        if state["status"] in ("FAILED", "COMPLETED"):
            break
        if state["status"] == "PROCESSING" and state["attempts"] not in killed:
            pid = cluster.claimed_by_pid(job["id"])
            if pid:
                killed.add(state["attempts"])
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.02)
    final = cluster.job(job["id"])
    assert final["status"] == "FAILED", final
    assert "worker lost" in final["error"] and final["attempts"] == 3
    assert killed == {1, 2, 3}
    cluster.assert_clean(final)


def test_redis_killed_with_jobs_queued_then_restarted_every_job_completes(cluster):
    cluster.seed(10, 50)
    jobs = [cluster.request("csv", customer=None)] + [
        cluster.request(fmt, customer="Bulk Ltd") for fmt in ("csv", "pdf")]
    cluster.redis.kill()  # the queued messages are gone with it (no persistence)
    cluster.redis.start()
    cluster.worker()
    cluster.beat()  # the sweeper re-sends PENDING jobs nobody picked up
    # all of them first: a job still writing has its .tmp, which is no leftover
    finished = [cluster.wait_status(job["id"], {"COMPLETED", "FAILED"}, timeout=60)
                for job in jobs]
    for done in finished:
        assert done["status"] == "COMPLETED", done
        cluster.assert_clean(done)


def test_redis_down_while_requesting_answers_fast_and_runs_once_redis_is_back(cluster):
    cluster.seed(5, 20)
    cluster.worker()
    cluster.beat()
    cluster.redis.kill()
    started = time.monotonic()
    job = cluster.request("csv")
    elapsed = time.monotonic() - started
    assert elapsed < 1.5, f"request took {elapsed:.2f}s with Redis down"
    assert job["status"] == "PENDING"
    with cluster.app.app_context():
        page = cluster.client.get("/orders/")
        assert page.status_code == 200  # the web app keeps answering
    cluster.redis.start()
    done = cluster.wait_status(job["id"], {"COMPLETED", "FAILED"}, timeout=90)
    assert done["status"] == "COMPLETED", done
    assert done["attempts"] == 1
    cluster.assert_clean(done)


def test_postgresql_restarted_mid_task_ends_completed_or_failed_with_reason(cluster):
    cluster.seed(*BIG)
    cluster.worker()
    cluster.beat()
    job = cluster.request("pdf")
    cluster.wait_status(job["id"], "PROCESSING")
    wait_for(lambda: cluster.job(job["id"])["rows_done"] > 0, what="rows flowing")
    cluster.pg.restart()
    done = wait_for(lambda: _final_or_none(cluster, job["id"]), timeout=120, interval=0.2,
                    what="job to end after the database restart")
    assert done["status"] in ("COMPLETED", "FAILED"), done
    if done["status"] == "FAILED":
        assert done["error"]
    else:
        assert done["attempts"] >= 2
    cluster.assert_clean(done)


def _final_or_none(cluster, job_id):
    try:
        job = cluster.job(job_id)
    except Exception:  # the database is still coming back
        return None
    return job if job.get("status") in ("COMPLETED", "FAILED") else None


def test_soft_time_limit_fails_the_job_with_the_reason_and_no_temp_file(cluster):
    cluster.seed(*BIG)
    cluster.worker(REPORT_SOFT_TIME_LIMIT=1, REPORT_HARD_TIME_LIMIT=30)
    job = cluster.request("pdf")
    done = cluster.wait_status(job["id"], {"COMPLETED", "FAILED"})
    assert done["status"] == "FAILED"
    assert done["error"] == "Took longer than 1 second and was stopped."
    assert cluster.files() == []


def test_hard_time_limit_kill_is_failed_by_the_sweeper(cluster):
    cluster.seed(*BIG)
    cluster.worker(REPORT_SOFT_TIME_LIMIT=0, REPORT_HARD_TIME_LIMIT=1)
    cluster.beat()
    job = cluster.request("pdf")
    done = cluster.wait_status(job["id"], {"COMPLETED", "FAILED"}, timeout=60)
    assert done["status"] == "FAILED", done
    assert done["error"] == "Took longer than 1 second and was stopped."
    assert cluster.files() == []


def test_the_same_job_delivered_twice_at_once_runs_once(cluster):
    cluster.seed(*BIG)
    worker = cluster.worker(concurrency=2)
    job = cluster.request("pdf")
    with cluster.app.app_context():
        from webapp.reports.lifecycle import _publish

        _publish(job["id"])  # a second message for the same job, while the first runs
    done = cluster.wait_status(job["id"], {"COMPLETED", "FAILED"})
    assert done["status"] == "COMPLETED" and done["attempts"] == 1
    wait_for(lambda: f"report job {job['id']}: skipped" in worker.output(), timeout=30,
             what="the duplicate to be skipped")
    cluster.assert_clean(done)


def test_sigterm_mid_task_finishes_the_job_before_the_worker_exits(cluster):
    cluster.seed(*BIG)
    worker = cluster.worker()
    job = cluster.request("pdf")
    cluster.wait_status(job["id"], "PROCESSING")
    worker.proc.send_signal(signal.SIGTERM)  # a deploy: warm shutdown
    worker.proc.wait(120)
    done = cluster.job(job["id"])
    assert done["status"] == "COMPLETED", done
    cluster.assert_clean(done)


def test_full_disk_fails_the_job_with_a_reason_and_no_partial_file(cluster, tmp_path):
    tiny = tmp_path / "tiny"
    tiny.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(tiny)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.fail(f"could not mount a tmpfs (root needed): {mounted.stderr}")
    try:
        cluster.seed(*BIG)
        cluster.reports = tiny
        cluster.worker()
        job = cluster.request("csv")
        done = cluster.wait_status(job["id"], {"COMPLETED", "FAILED"})
        assert done["status"] == "FAILED"
        assert done["error"] == "Could not write the report file (No space left on device)."
        assert sorted(p.name for p in tiny.iterdir()) == []
        assert cluster.job(job["id"])["download_url"] is None
    finally:
        cluster.stop_all()
        subprocess.run(["umount", str(tiny)], check=False)
