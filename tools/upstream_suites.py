"""How much of Lasagne's and nolearn's own test suites pass against aenet.

    python tools/upstream_suites.py --lasagne DIR --nolearn DIR [--json OUT] [--file-timeout S]

DIR holds an upstream checkout or just its tests tree (Lasagne's
``lasagne/tests``, nolearn's ``nolearn/lasagne/tests``); either may be left
out.  Nothing of upstream is imported from DIR: its test files (and conftest
files) are copied to a scratch folder, where ``PATCHES`` mends the few lines of
upstream's own test code that numpy >= 1.24 refuses, and pytest runs them
there, one file per process (``--file-timeout`` seconds each, default 900),
with the plugin ``tools/upstream_shim.py`` loaded first.  The shim makes the
old names (``lasagne``, ``nolearn.lasagne``, ``theano``, ``mock``, ...) aliases
of aenet, aesara and today's modules; its docstring lists what is mapped.

Counting, per upstream test file:

* each collected test (parametrize cases included) ends passed, failed (the
  test body), error (a fixture's setup or teardown) or skipped;
* tests that upstream itself skips when there is no GPU (``SKIPPED_ON_CPU``:
  cuDNN, cuda_convnet, the GPU-only ``lasagne.layers.dnn/corrmm/cuda_convnet``)
  are reported but left out of N: they are no CPU tests;
* a file that cannot be imported counts as all its tests failed; how many it
  holds is estimated from its ``def test_`` lines, parametrize cases NOT
  expanded, so the estimate is low;
* tests a run did not reach before its timeout count as failed ("timeout");
* an error whose message holds ``UPSTREAM-ENV`` (MNIST, which needs a
  download) stays in N, and the table says how many there are.

N = passed + failed + errors + skipped (other than the GPU-only ones).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

SHIM = Path(__file__).resolve().with_name("upstream_shim.py")
SUITES = {  # suite: (where its tests lie inside DIR, first found wins)
    "lasagne": ("lasagne/tests", "tests", "."),
    "nolearn": ("nolearn/lasagne/tests", "lasagne/tests", "tests", "."),
}
SKIPPED_ON_CPU = re.compile(r"cuDNN|cudnn|cuda_convnet|requires a GPU|dnn not available"
                            r"|lasagne\.layers\.(dnn|corrmm|cuda_convnet) not available")
ENV_MARK = "UPSTREAM-ENV"
PATCHES = (  # (file name, old, new): upstream test code that numpy >= 1.24 refuses
    # a list of slices as an index (Lasagne)
    ("test_conv.py", "output = output[slices]", "output = output[tuple(slices)]"),
    ("test_conv.py", "output[[slice(None, None, factor) for factor in factors]] = input",
     "output[tuple(slice(None, None, factor) for factor in factors)] = input"),
    # a generator given to np.vstack / np.hstack (nolearn)
    ("test_base.py", "np.vstack(b[0] for b in batches)", "np.vstack([b[0] for b in batches])"),
    ("test_base.py", "np.hstack(b[1] for b in batches)", "np.hstack([b[1] for b in batches])"),
    ("test_base.py", "np.vstack(b[0]['one'] for b in batches)", "np.vstack([b[0]['one'] for b in batches])"),
    ("test_base.py", "np.vstack(b[0]['two'] for b in batches)", "np.vstack([b[0]['two'] for b in batches])"),
)


class SuiteError(Exception):
    """One line saying which directory is missing or holds no tests."""


def find_tests(suite, root):
    """The folder of ``suite``'s test files inside ``root``."""
    root = Path(root)
    if not root.is_dir():
        raise SuiteError(f"--{suite} {root}: no such directory")
    for relative in SUITES[suite]:
        folder = root / relative
        if folder.is_dir() and any(folder.glob("test_*.py")):
            return folder.resolve()
    raise SuiteError(f"--{suite} {root}: no test_*.py in " + ", ".join(SUITES[suite]))


def copy_tests(source, dest):
    """Copy test and conftest files (no ``__init__.py``: the suite must not import upstream) and patch them."""
    applied = []
    for path in sorted(source.rglob("*.py")):
        if path.name != "conftest.py" and not path.name.startswith("test_"):
            continue
        target = dest / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text(encoding="utf-8")
        for name, old, new in PATCHES:
            if path.name == name and old in text:
                applied.append(f"{target.relative_to(dest)}: {old!r} -> {new!r} ({text.count(old)}x)")
                text = text.replace(old, new)
        target.write_text(text, encoding="utf-8")
    return applied


def run_file(python, scratch, shim_dir, test_file, timeout):
    """Run pytest on one test file; its JSON-line records and whether it timed out."""
    results = test_file.with_suffix(".results.jsonl")
    env = {**_environ(), "PYTHONPATH": str(shim_dir), "UPSTREAM_RESULTS": str(results)}
    command = [python, "-m", "pytest", str(test_file), "-p", "upstream_shim", "-p", "no:cacheprovider",
               "--import-mode=importlib", "--continue-on-collection-errors", "-q", "--no-header",
               "-o", "addopts=", "--rootdir", str(scratch), "-W", "ignore::DeprecationWarning"]
    timed_out = False
    with open(test_file.with_suffix(".log"), "w") as log:
        try:
            subprocess.run(command, cwd=scratch, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
    records = [json.loads(line) for line in results.read_text().splitlines()] if results.exists() else []
    return records, timed_out


def _environ():
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}


def outcomes(records, timed_out, timeout):
    """``{nodeid: (outcome, message)}``, outcome one of passed/failed/error/skipped."""
    final = {}
    for record in records:
        if record["kind"] == "collected":
            final.setdefault(record["nodeid"], None)
        elif record["kind"] == "test":
            final[record["nodeid"]] = _merge(final.get(record["nodeid"]), record)
    reason = f"timeout: the file's run passed {timeout} s" if timed_out else "not run (pytest stopped)"
    return {nodeid: result or ("failed", reason) for nodeid, result in final.items()}


def _merge(previous, record):
    outcome, when, message = record["outcome"], record["when"], record["message"]
    if previous and previous[0] in ("error", "failed"):
        return previous
    if outcome == "failed":
        return ("failed" if when == "call" else "error", message)
    if outcome == "skipped":
        return ("skipped", message)
    return previous if previous and when != "call" else ("passed", "")


def count_tests(path):
    """Tests in a file that could not be imported: its ``def test_`` lines (parametrize not expanded)."""
    return len(re.findall(r"^\s*def test_", path.read_text(encoding="utf-8"), flags=re.M))


def summarize_file(results, collect_errors, test_file):
    """Counts and failures of one file."""
    counts = Counter()
    failures = []
    for nodeid, (outcome, message) in results.items():
        if outcome == "skipped" and SKIPPED_ON_CPU.search(message):
            counts["gpu_only"] += 1
            continue
        counts[outcome] += 1
        if outcome in ("failed", "error"):
            failures.append({"test": nodeid, "outcome": outcome, "reason": message})
            counts["env"] += ENV_MARK in message
        elif outcome == "skipped":
            failures.append({"test": nodeid, "outcome": "skipped", "reason": message})
    if collect_errors and not results:
        estimate = count_tests(test_file)
        counts["failed"] += estimate
        counts["import_failed_estimate"] = estimate
        failures.append({"test": test_file.name, "outcome": "import", "reason": collect_errors[0]["message"],
                         "tests": estimate})
    counts["N"] = sum(counts[k] for k in ("passed", "failed", "error", "skipped"))
    return {"counts": dict(counts), "failures": failures}


def run_suite(suite, source, python, scratch, timeout, log):
    """Copy, patch and run one suite, file by file."""
    dest = scratch / suite
    patches = copy_tests(source, dest)
    shim_dir = scratch / "shim"
    shim_dir.mkdir(exist_ok=True)
    shutil.copy(SHIM, shim_dir / "upstream_shim.py")
    files = {}
    for test_file in sorted(dest.rglob("test_*.py")):
        name = str(test_file.relative_to(dest))
        start = time.monotonic()
        records, timed_out = run_file(python, dest, shim_dir, test_file, timeout)
        results = outcomes(records, timed_out, timeout)
        collect_errors = [r for r in records if r["kind"] == "collect_error"]
        files[name] = summarize_file(results, collect_errors, test_file)
        files[name]["seconds"] = round(time.monotonic() - start, 1)
        files[name]["timed_out"] = timed_out
        log(f"{suite} {name}: {files[name]['counts']} in {files[name]['seconds']} s")
    return {"source": str(source), "patches": patches, "files": files, "totals": _totals(files)}


def _totals(files):
    totals = Counter()
    for entry in files.values():
        totals.update(entry["counts"])
    return dict(totals)


def percent(passed, total):
    return f"{100.0 * passed / total:.1f}%" if total else "n/a"


def table(report):
    """The printed table: one row per file, then each suite's totals."""
    header = f"{'file':44} {'passed':>6} {'failed':>6} {'errors':>6} {'skipped':>7} {'N':>5} {'%':>6}  gpu-only"
    lines = []
    for suite, data in report["suites"].items():
        lines += ["", f"== {suite} ({data['source']})", header]
        for name, entry in data["files"].items():
            lines.append(_row(name, entry["counts"], entry.get("timed_out")))
        totals = data["totals"]
        lines.append(_row("TOTAL", totals, False))
        label = "Lasagne CPU tests" if suite == "lasagne" else "nolearn tests"
        lines.append(f"{label}: {totals.get('passed', 0)} passed of {totals.get('N', 0)} "
                     f"({percent(totals.get('passed', 0), totals.get('N', 0))}); "
                     f"{totals.get('gpu_only', 0)} GPU-only tests left out of N; "
                     f"{totals.get('env', 0)} errors need data that is not available offline")
    return "\n".join(lines)


def _row(name, counts, timed_out):
    get = counts.get
    note = " (timeout)" if timed_out else ""
    note += f" (import failed: ~{get('import_failed_estimate')} tests)" if get("import_failed_estimate") else ""
    return (f"{name:44} {get('passed', 0):6} {get('failed', 0):6} {get('error', 0):6} {get('skipped', 0):7} "
            f"{get('N', 0):5} {percent(get('passed', 0), get('N', 0)):>6}  {get('gpu_only', 0)}{note}")


def common_reasons(report, top=15):
    """The most frequent failure reasons over all suites: ``[(count, reason)]``."""
    reasons = Counter()
    for data in report["suites"].values():
        for entry in data["files"].values():
            for failure in entry["failures"]:
                if failure["outcome"] != "skipped":
                    reasons[_reason_key(failure["reason"])] += failure.get("tests", 1)
    return reasons.most_common(top)


def _reason_key(reason):
    """A failure message with its numbers and object addresses blurred, so that alike failures group."""
    reason = re.sub(r"0x[0-9a-f]+", "0x…", reason)
    reason = re.sub(r"(?<![\w.])-?\d+(\.\d+)?(e-?\d+)?(?!\w)", "N", reason)
    return reason[:160]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lasagne", metavar="DIR", help="Lasagne checkout or its tests tree")
    parser.add_argument("--nolearn", metavar="DIR", help="nolearn checkout or its nolearn/lasagne/tests tree")
    parser.add_argument("--json", metavar="OUT", help="write the full report (every failure) as JSON here")
    parser.add_argument("--file-timeout", type=int, default=900, metavar="S",
                        help="seconds one test file may run (default 900)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with aenet and pytest (default: this)")
    parser.add_argument("--keep", metavar="DIR", help="run in DIR (kept, with each file's pytest log) "
                        "instead of a temporary folder")
    parser.add_argument("--from-json", metavar="IN", help="run nothing: print the table of a saved --json report")
    args = parser.parse_args(argv)
    if not (args.lasagne or args.nolearn or args.from_json):
        parser.error("give --lasagne DIR, --nolearn DIR or both (or --from-json IN)")
    return args


def run(args):
    """Find, run and report the suites the arguments name."""
    try:
        sources = {suite: find_tests(suite, getattr(args, suite)) for suite in SUITES if getattr(args, suite)}
    except SuiteError as exc:
        sys.exit(f"upstream_suites: {exc}")
    with tempfile.TemporaryDirectory(prefix="upstream-suites-") as tmp:
        scratch = Path(args.keep).resolve() if args.keep else Path(tmp)
        scratch.mkdir(parents=True, exist_ok=True)
        log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
        return {"suites": {suite: run_suite(suite, source, args.python, scratch, args.file_timeout, log)
                           for suite, source in sources.items()}}


def main(argv=None):
    args = parse_args(argv)
    if args.from_json:
        if not Path(args.from_json).is_file():
            sys.exit(f"upstream_suites: --from-json {args.from_json}: no such file")
        report = json.loads(Path(args.from_json).read_text())
    else:
        report = run(args)
    report["common_reasons"] = common_reasons(report)
    print(table(report))
    print("\nMost common failure reasons (count, reason):")
    for reason, count in report["common_reasons"]:
        print(f"{count:5}  {reason}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
