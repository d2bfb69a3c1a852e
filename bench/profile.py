"""Where the time goes, in-process (no worker, no job row): the task's row stream
alone, the generator alone over rows already in memory, both together, and
optionally a cProfile of the whole. Uses the data `bench.run` built.

    .venv/bin/python -m bench.profile --db postgresql --items 100k --format csv --cprofile
"""
from __future__ import annotations

import argparse
import cProfile
import io
import logging
import pstats
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from .common import DATA_DIR, DATE_FROM, DATE_TO, app_config, parse_size
from .data import owner_email
from .reference import summary_params


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", choices=("sqlite", "postgresql"), required=True)
    p.add_argument("--items", default="100k")
    p.add_argument("--format", choices=("csv", "pdf"), required=True)
    p.add_argument("--cprofile", action="store_true")
    p.add_argument("--task", action="store_true",
                   help="also run the whole task (tasks.reports.run_job) in-process")
    p.add_argument("--top", type=int, default=25)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("webapp").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.WARNING)

    from tasks.generators import ReportMeta
    from tasks.generators.csv_report import write_csv
    from tasks.generators.pdf import write_pdf
    from tasks.rows import count_rows, stream_rows
    from webapp import create_app
    from webapp.extensions import db
    from webapp.models import ReportJob, ReportKind, User

    n = parse_size(args.items)
    write = write_csv if args.format == "csv" else write_pdf
    tmp = Path(tempfile.mkdtemp(dir=DATA_DIR))
    out = tmp / f"profile.{args.format}"
    app = create_app(app_config(args.db, "bench-profile", tmp))
    with app.app_context():
        owner = db.session.scalar(sa.select(User).where(User.email == owner_email(n)))
        if owner is None:
            sys.exit(f"no data of {args.items} items on {args.db}: run bench.run first")
        job = ReportJob(kind=ReportKind.SUMMARY, workspace_id=owner.id, params=summary_params())
        engine = db.engine
        meta = ReportMeta(kind=ReportKind.SUMMARY, title="Completed orders", scope=["bench"])

        def timed(label, fn):
            t0 = time.perf_counter()
            value = fn()
            s = time.perf_counter() - t0
            print(f"{label:<42} {s:7.3f} s  {n / s:>10,.0f} rows/s")
            return value

        timed("count_rows", lambda: count_rows(engine, job))
        timed("stream_rows only (consume, no writing)",
              lambda: sum(1 for _ in stream_rows(engine, job)))
        in_memory = [list(stream_rows(engine, job))]
        timed(f"write_{args.format} over rows in memory",
              lambda: write(in_memory.pop(), meta, out))
        timed(f"stream_rows + write_{args.format}",
              lambda: write(stream_rows(engine, job), meta, out))
        prof = cProfile.Profile() if args.cprofile else None
        if args.task:
            # The whole task (claim, count, stream, generate, progress writes, os.replace,
            # COMPLETED) in this process, on a real job row made by the app's service.
            from tasks.reports import run_job
            from webapp.models import ReportFormat
            from webapp.reports import lifecycle, services

            lifecycle._publish = lambda job_id: None  # no worker: the task runs right here
            job_row, _ = services.request_summary_report(owner, DATE_FROM, DATE_TO, None,
                                                         ReportFormat(args.format))
            job_id = job_row.id
            db.session.remove()
            label = "run_job (the whole task, in-process)"
            if prof:
                prof.enable()
            outcome = timed(label, lambda: run_job(job_id))
            if prof:
                prof.disable()
            if outcome != "completed":
                sys.exit(f"task ended {outcome}")
            for f in tmp.iterdir():
                f.unlink()
        elif prof:
            label = f"stream_rows + write_{args.format}"
            prof.enable()
            write(stream_rows(engine, job), meta, out)
            prof.disable()
        if prof:
            for key in ("tottime", "cumulative"):
                buf = io.StringIO()
                pstats.Stats(prof, stream=buf).sort_stats(key).print_stats(args.top)
                print(f"\n--- cProfile, {label}, by {key} ---")
                print("\n".join(buf.getvalue().splitlines()[4:]))
    out.unlink(missing_ok=True)
    tmp.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
