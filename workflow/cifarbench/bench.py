"""``python -m cifarbench.bench`` (``make bench``): training speed of the post's nets, aenet vs PyTorch.

Trains one epoch at a time of each net (:mod:`cifarbench.bench_nets`) on
random data of the post's size with aenet's :class:`aenet.nolearn.NeuralNet`
and with a PyTorch twin at the same thread count, alternating the two
(:mod:`cifarbench.timing`); medians are reported.  Cold and warm compile
times and the jax-cpu device (aesara's JAX backend) come from subprocesses.

Options: ``--nets mlp,cnn``, ``--epochs N`` (>= 3 for real figures),
``--threads N`` or a list such as ``--threads 1,2`` (aenet's BLAS/OpenMP
threads and ``torch.set_num_threads``; default: all cores), ``--samples N``,
``--quick`` (a small smoke run), ``--no-compile`` / ``--no-jax`` /
``--no-torch`` to skip those columns.  The output is one Markdown table, one
row per net and thread count, with the per-epoch times logged above it;
``--output FILE`` writes the table and its notes to FILE too.

``--device gpu`` (``make bench-gpu``) times aenet on that device instead of
the C backend: it stops at once with :func:`aenet.device.configure`'s error
where the device cannot be used, and first checks that a few training steps
give the C backend's losses (:func:`cifarbench.timing.self_check`).
PyTorch then runs on CUDA when ``torch.cuda.is_available()``, else on the CPU;
``--torch-device cpu`` or ``cuda`` chooses.
"""
import argparse
import os
import statistics

from cifarbench.bench_nets import NETS, batch_size, flops_per_sample
from cifarbench.timing import (
    SELF_CHECK_RTOL,
    SELF_CHECK_STEPS,
    child_jax,
    compile_times,
    print_parity,
    run_child,
    self_check,
    time_epochs,
    torch_device,
)


def _fmt(value, digits=3):
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return f"{value:.{digits}f}"


def _parser():
    parser = argparse.ArgumentParser(prog="python -m cifarbench.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--nets", default=",".join(NETS), help="comma-separated: mlp,cnn")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per framework (default 3)")
    parser.add_argument("--threads", default=str(os.cpu_count()),
                        help="BLAS/OpenMP/torch threads; a list such as 1,2 gives a row per count")
    parser.add_argument("--samples", type=int, default=40000, help="training samples per epoch")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,560 samples, 1 epoch, no compile/jax rows")
    parser.add_argument("--no-compile", action="store_true", help="skip the cold/warm compile measurements")
    parser.add_argument("--no-jax", action="store_true", help="skip the jax-cpu row")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    parser.add_argument("--torch-device", default="auto", choices=("auto", "cpu", "cuda"),
                        help="where PyTorch runs (default auto: cuda with --device gpu where "
                             "torch.cuda.is_available(), else cpu)")
    parser.add_argument("--output", metavar="FILE", help="write the table and its notes to FILE too")
    parser.add_argument("--device", default="cpu", choices=("cpu", "gpu", "jax-cpu"),
                        help="aenet's device (default cpu, the C backend); others are self-checked against it")
    parser.add_argument("--parity", type=int, metavar="EPOCHS",
                        help="instead of timing: train EPOCHS epochs with and without aenet's rewrites, "
                             "print the losses")
    parser.add_argument("--_jax", help=argparse.SUPPRESS)
    return parser


def _checked_nets(parser, args, thread_counts):
    """The nets of ``--nets``, after the argument checks (``--quick`` applied)."""
    nets = [n.strip() for n in args.nets.split(",") if n.strip()]
    bad = [n for n in nets if n not in NETS]
    if bad or not nets:
        parser.error(f"--nets: unknown net(s) {bad!r}; expected a subset of {','.join(NETS)}")
    if args.quick:
        args.samples, args.epochs, args.no_compile, args.no_jax = 2560, 1, True, True
    if args.epochs < 1 or args.samples < max(map(batch_size, nets)) or not thread_counts or min(thread_counts) < 1:
        parser.error("--epochs >= 1, --samples >= the batch size and --threads >= 1 are required")
    if args.parity is not None and args.parity < 1:
        parser.error("--parity: the number of epochs must be >= 1")
    return nets


def _torch_place(parser, args, notes):
    """Where PyTorch runs (None: skipped); appends a note saying so."""
    if args.no_torch:
        return None
    try:
        import torch
    except ImportError:
        notes.append("PyTorch skipped: not installed (pip install torch==2.13.0)")
        return None
    try:
        place = torch_device(args.torch_device, args.device, torch.cuda.is_available())
    except ValueError as error:
        parser.error(str(error))
    where = f"CUDA ({torch.cuda.get_device_name()})" if place == "cuda" else "the CPU"
    notes.append(f"PyTorch {torch.__version__} on {where}")
    return place


def _configure_device(name, nets, notes):
    """Select aenet's device; off the C backend, check it gives the C backend's losses first."""
    from aenet import device

    if name == "cpu":
        return
    try:
        device.configure(name)
    except device.DeviceError as error:
        raise SystemExit(f"python -m cifarbench.bench: {error}") from None
    print(f"# {device.used_device()}: self-check against the C backend ...", flush=True)
    try:
        diff = self_check(nets)
    except AssertionError as error:
        raise SystemExit(f"python -m cifarbench.bench: self-check failed: {error}") from None
    notes.append(f"aenet on {device.used_device()}")
    notes.append(f"{name} self-check: {SELF_CHECK_STEPS} training steps per net give the cpu's "
                 f"losses (largest relative difference {diff:.1e}, at most {SELF_CHECK_RTOL:g})")


def _timed_rows(nets, thread_counts, args, torch_on):
    """One row of medians per net and thread count."""
    from aenet.compile import settings

    rows = {}
    for threads in thread_counts:
        settings.set_num_threads(threads)
        for net in nets:
            print(f"  {net}, {threads} thread(s):", flush=True)
            times = time_epochs(net, args.epochs, args.samples, threads, torch_on is not None,
                                log=lambda s: print(s, flush=True), torch_on=torch_on or "cpu")
            a = statistics.median(times["aenet"])
            t = statistics.median(times["pytorch"]) if torch_on else None
            rows[net, threads] = {
                "aenet": a,
                "pytorch": t,
                "ratio": a / t if t else None,
                "gflops": flops_per_sample(net) * args.samples / a / 1e9,
                "epochs": times,
            }
    return rows


def _add_compile_times(rows, nets, threads, device_name, notes):
    print("  compiling in an empty cache, then again warm ...", flush=True)
    cold, warm = compile_times(nets, threads, device_name)
    for (net, _), row in rows.items():
        row["cold"] = cold.get(net, cold.get("error"))
        row["warm"] = warm.get(net, warm.get("error"))
    if all(isinstance(cold.get(n), float) and isinstance(warm.get(n), float) for n in nets):
        notes.append(
            f"compile = NeuralNet.initialize() (train, eval and predict functions), the nets in "
            f"table order in one cache: cold {sum(cold[n] for n in nets):.1f} s in total "
            f"(+ {cold['import']:.1f} s for the first import aenet, which builds aesara's own C "
            f"helpers), warm {sum(warm[n] for n in nets):.2f} s in total (+ {warm['import']:.1f} s import)"
        )


def _add_jax_times(rows, nets, args, threads, notes):
    print("  jax-cpu ...", flush=True)
    jax = run_child(["--_jax", ",".join(nets), "--epochs", str(args.epochs),
                     "--samples", str(args.samples), "--threads", str(threads)])
    for net in nets:
        value = jax.get(net, jax.get("error"))
        if isinstance(value, str):
            notes.append(f"jax-cpu {net} skipped: {value}")
            value = "skipped"
        for (row_net, _), row in rows.items():
            if row_net == net:
                row["jax"] = value
    notes.append("jax-cpu: aesara's JAX backend, XLA's own CPU thread pool, first (compiling) epoch left out")


def _table(rows, nets, epochs, notes):
    """The Markdown table of ``rows`` and its notes, as lines."""
    header = ["net", "threads", "aenet s/epoch", "PyTorch s/epoch", "aenet/PyTorch", "aenet GFLOP/s",
              "jax-cpu s/epoch", "cold compile s", "warm compile s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for (net, threads), r in rows.items():
        cells = [net, str(threads), _fmt(r["aenet"]), _fmt(r["pytorch"]), _fmt(r["ratio"], 2),
                 _fmt(r["gflops"], 1), _fmt(r.get("jax")), _fmt(r.get("cold"), 1), _fmt(r.get("warm"), 2)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Medians of {epochs} epoch(s) per framework, alternating; "
              f"GFLOP/s counts the conv/dense multiply-adds of forward + backward "
              f"({', '.join(f'{n} {flops_per_sample(n) / 1e6:.2f} MFLOP/sample' for n in nets)})."]
    return lines + [f"- {note}" for note in notes]


def main(argv=None):
    """Run the bench as the command line ``argv`` asks; return the table's rows."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        thread_counts = [int(t) for t in str(args.threads).split(",") if t.strip()]
    except ValueError:
        parser.error(f"--threads: expected a number or a list such as 1,2, got {args.threads!r}")
    os.environ["OMP_NUM_THREADS"] = str(max(thread_counts or [1]))
    if args._jax:
        return child_jax(args._jax.split(","), args.epochs, args.samples, max(thread_counts))
    nets = _checked_nets(parser, args, thread_counts)

    import aenet
    from aenet import device
    from aenet.compile import settings

    if args.parity is not None:
        settings.set_num_threads(max(thread_counts))
        return print_parity(nets, args.parity, args.samples)
    notes = []
    torch_on = _torch_place(parser, args, notes)
    _configure_device(args.device, nets, notes)
    title = (f"# aenet {aenet.__version__} on {device.cpu_model()} ({os.cpu_count()} cores), "
             f"{args.samples} samples/epoch, batch {'/'.join(str(batch_size(n)) for n in nets)}, "
             f"{args.epochs} epoch(s) each")
    print(title, flush=True)
    rows = _timed_rows(nets, thread_counts, args, torch_on)
    if not args.no_compile:
        _add_compile_times(rows, nets, max(thread_counts), args.device, notes)
    if not args.no_jax:
        _add_jax_times(rows, nets, args, max(thread_counts), notes)
    lines = _table(rows, nets, args.epochs, notes)
    print("\n" + "\n".join(lines))
    if args.output:
        from aenet.atomic import atomic_open

        with atomic_open(args.output, "w") as f:
            f.write("\n".join([title, "", *lines, ""]))
    return rows


if __name__ == "__main__":
    main()
