"""What every rule script of the workflow shares: its log file, and one way to fail.

A rule script sends its output to the job's log with :func:`log_to`, and ends
a job that cannot go on with :func:`fail`: one line naming the stage and the
cause, in the log and on snakemake's own stderr, then exit status 1.
"""
import sys
import traceback


def log_to(path, stdout=False):
    """Send stderr (and stdout, with ``stdout=True``) to the log file ``path``, line-buffered."""
    sys.stderr = open(path, "w", buffering=1)
    if stdout:
        sys.stdout = sys.stderr


def fail(stage, error, hint="", with_traceback=False):
    """Print ``stage: error`` (on one line, ``hint`` appended) to the log and the real stderr; exit 1.

    ``with_traceback`` puts the traceback of ``error`` in the log first.
    """
    if with_traceback:
        traceback.print_exception(error, file=sys.stderr)
    line = f"{stage}: {' '.join(str(error).split())}{hint}"
    for stream in dict.fromkeys((sys.stderr, sys.__stderr__)):
        print(line, file=stream, flush=True)
    sys.exit(1)
