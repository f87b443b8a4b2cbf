"""Training speed of the post's MLP and CNN: aenet (aesara C backend) vs PyTorch.

``python -m cifarbench.bench`` (``make bench``) trains one epoch at a time of each
net on random data of the post's size (40,000 training samples, batch 128, 10
classes): aenet through :class:`aenet.nolearn.NeuralNet`, and an equivalent
PyTorch net (same shapes, Glorot-uniform weights, zero biases, nesterov
momentum, batch 128, the same thread count), which trains in a process of
its own, so that neither framework's threads or memory slow the other (idle
OpenMP threads sleep in both, ``OMP_WAIT_POLICY=PASSIVE``).  The two alternate
epoch by epoch (ABBA...) so that load from other processes hits both alike;
medians are reported.  Cold and warm compile times are measured in subprocesses, the
cold one in an empty aesara compile cache (``AENET_CACHE_DIR``), and the
jax-cpu device (aesara's JAX backend) in a subprocess when it can be used.

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
give the C backend's losses (to ``SELF_CHECK_RTOL``), failing otherwise.
PyTorch then runs on CUDA when ``torch.cuda.is_available()``, else on the CPU;
``--torch-device cpu`` or ``cuda`` chooses (on CUDA each epoch is timed
between ``torch.cuda.synchronize()`` calls).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

NETS = ("mlp", "cnn")
N_CLASSES = 10
BATCH = 128
INPUT = {"mlp": (1024,), "cnn": (1, 32, 32)}
LEARNING_RATE = {"mlp": 0.01, "cnn": 0.015}
MOMENTUM = 0.9
# The post's CNN: (filters, filter size) per conv + 2x2 max-pool stage, then dense 200.
CNN_CONV = ((16, 3), (32, 2), (64, 2))
CNN_HIDDEN = 200
MLP_HIDDEN = 100
SELF_CHECK_STEPS = 3
SELF_CHECK_RTOL = 1e-4


# -- the nets ------------------------------------------------------------------


def aenet_layers(net):
    """The post's net as ``aenet.nolearn`` layer declarations and their keywords."""
    from aenet.lasagne import layers
    from aenet.lasagne.nonlinearities import softmax

    spec = [("input", layers.InputLayer)]
    kwargs = {"input_shape": (None,) + INPUT[net]}
    if net == "mlp":
        spec.append(("hidden", layers.DenseLayer))
        kwargs["hidden_num_units"] = MLP_HIDDEN
    else:
        for i, (filters, size) in enumerate(CNN_CONV, 1):
            spec += [(f"conv{i}", layers.Conv2DLayer), (f"pool{i}", layers.MaxPool2DLayer)]
            kwargs.update({f"conv{i}_num_filters": filters, f"conv{i}_filter_size": (size, size)})
            kwargs[f"pool{i}_pool_size"] = (2, 2)
        spec.append(("hidden4", layers.DenseLayer))
        kwargs["hidden4_num_units"] = CNN_HIDDEN
    spec.append(("output", layers.DenseLayer))
    kwargs.update(output_num_units=N_CLASSES, output_nonlinearity=softmax)
    return spec, kwargs


def build_aenet(net, seed=0, update=None):
    """A compiled ``NeuralNet`` training on all of X (no validation split).

    ``update`` defaults to ``nesterov_momentum``.
    """
    from aenet.lasagne import random as lasagne_random
    from aenet.lasagne.updates import nesterov_momentum
    from aenet.nolearn import BatchIterator, NeuralNet, TrainSplit

    lasagne_random.set_rng(np.random.RandomState(seed))
    spec, kwargs = aenet_layers(net)
    model = NeuralNet(
        layers=spec,
        update=update or nesterov_momentum,
        update_learning_rate=LEARNING_RATE[net],
        update_momentum=MOMENTUM,
        batch_iterator_train=BatchIterator(batch_size=BATCH),
        train_split=TrainSplit(eval_size=0),
        max_epochs=1,
        verbose=0,
        **kwargs,
    )
    model.initialize()
    return model


def aenet_epoch(model, X, y):
    model.fit(X, y, epochs=1)
    return model.train_history_[-1]["dur"]


def build_torch(net, seed=0, device="cpu"):
    import torch
    from torch import nn

    torch.manual_seed(seed)
    if net == "mlp":
        modules = [nn.Flatten(), nn.Linear(1024, MLP_HIDDEN), nn.ReLU(), nn.Linear(MLP_HIDDEN, N_CLASSES)]
    else:
        modules, channels, size = [], 1, 32
        for filters, k in CNN_CONV:
            modules += [nn.Conv2d(channels, filters, k), nn.ReLU(), nn.MaxPool2d(2)]
            channels, size = filters, (size - k + 1) // 2
        modules += [nn.Flatten(), nn.Linear(channels * size * size, CNN_HIDDEN), nn.ReLU()]
        modules += [nn.Linear(CNN_HIDDEN, N_CLASSES)]
    model = nn.Sequential(*modules)
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)
    model.to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=LEARNING_RATE[net], momentum=MOMENTUM, nesterov=True
    )
    return model, optimizer


def torch_epoch(model_and_optimizer, X, y):
    """Seconds of one epoch over ``X``, ``y`` (tensors on the model's device)."""
    import torch

    model, optimizer = model_and_optimizer
    loss_fn = torch.nn.CrossEntropyLoss()
    sync = torch.cuda.synchronize if X.is_cuda else (lambda: None)
    sync()
    start = time.perf_counter()
    for i in range(0, len(X), BATCH):
        optimizer.zero_grad()
        loss = loss_fn(model(X[i : i + BATCH]), y[i : i + BATCH])
        loss.backward()
        optimizer.step()
    loss.item()
    sync()
    return time.perf_counter() - start


def torch_device(requested, aenet_device, cuda_available):
    """Where PyTorch runs: ``requested`` (cpu or cuda), or for ``auto`` CUDA when aenet is on
    the gpu and CUDA is available, else the CPU.  ``ValueError`` for cuda without CUDA."""
    if requested == "auto":
        return "cuda" if aenet_device == "gpu" and cuda_available else "cpu"
    if requested == "cuda" and not cuda_available:
        raise ValueError("--torch-device cuda: torch.cuda.is_available() is False (a CPU build of "
                         "torch, or no usable GPU)")
    return requested


# -- FLOPs ---------------------------------------------------------------------


def flops_per_sample(net):
    """Multiply-adds x 2 of one forward + backward pass, per sample.

    Forward: every conv and dense layer.  Backward: the weight gradient of
    every layer and the input gradient of every layer but the first (the data
    needs none).  Bias, activation, pooling and softmax work is left out.
    """
    layers = []  # (multiply-adds per sample)
    if net == "mlp":
        layers = [1024 * MLP_HIDDEN, MLP_HIDDEN * N_CLASSES]
    else:
        channels, size = 1, 32
        for filters, k in CNN_CONV:
            out = size - k + 1
            layers.append(filters * out * out * channels * k * k)
            channels, size = filters, out // 2
        layers += [channels * size * size * CNN_HIDDEN, CNN_HIDDEN * N_CLASSES]
    forward = sum(layers)
    backward = 2 * sum(layers) - layers[0]
    return 2 * (forward + backward)


# -- subprocess jobs -------------------------------------------------------------


# Run in a fresh interpreter so that the first ``import aenet`` (which, in an
# empty cache, compiles aesara's own C helpers) is timed too.
_COMPILE_CHILD = """
import time
start = time.perf_counter()
import aenet
from cifarbench import bench
bench._child_compile({nets!r}, time.perf_counter() - start, {device!r})
"""


def _child_compile(nets, import_seconds, device_name="cpu"):
    """Compile each net (NeuralNet.initialize) for ``device_name``, print the seconds as JSON."""
    from aenet import device

    device.configure(device_name)
    result = {"import": import_seconds}
    for net in nets:
        start = time.perf_counter()
        build_aenet(net)
        result[net] = time.perf_counter() - start
    print(json.dumps(result))


def _child_jax(nets, epochs, samples, threads):
    """Train on the jax-cpu device; print median s/epoch (first epoch, with the JIT, left out)."""
    from aenet import device

    result = {}
    try:
        device.configure("jax-cpu")
    except Exception as error:  # DeviceError, or JAX failing to start
        print(json.dumps({"error": f"{type(error).__name__}: {error}"}))
        return
    for net in nets:
        try:
            X, y = make_data(net, samples)
            model = build_aenet(net)
            aenet_epoch(model, X, y)  # the first epoch compiles the XLA programs
            times = [aenet_epoch(model, X, y) for _ in range(epochs)]
            result[net] = statistics.median(times)
        except Exception as error:
            result[net] = f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"
    print(json.dumps(result))


def _run_child(args, env=None, timeout=3600, code=None):
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "cifarbench.bench", *args]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {tail[:200]}"}
    return json.loads(lines[-1])


def _without_compiledir(flags):
    """``AESARA_FLAGS`` without the compile-dir settings (``import aenet`` put ours there)."""
    keep = [f for f in flags.split(",") if f.split("=", 1)[0].strip() not in ("base_compiledir", "compiledir")]
    return ",".join(f for f in keep if f.strip())


def compile_times(nets, threads, device_name="cpu"):
    """Cold (empty compile cache) then warm compile seconds per net, in subprocesses."""
    # the child inherits AESARA_FLAGS, where importing aenet here put our cache
    env = {"OMP_NUM_THREADS": str(threads), "AESARA_FLAGS": _without_compiledir(os.environ.get("AESARA_FLAGS", ""))}
    with tempfile.TemporaryDirectory(prefix="aenet-bench-cache-") as cache:
        env["AENET_CACHE_DIR"] = cache
        code = _COMPILE_CHILD.format(nets=list(nets), device=device_name)
        cold = _run_child([], env, code=code)
        warm = _run_child([], env, code=code)
    return cold, warm


# -- the benchmark -------------------------------------------------------------


def make_data(net, samples, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((samples,) + INPUT[net], dtype=np.float32)
    y = rng.integers(0, N_CLASSES, samples).astype(np.int32)
    return X, y


def time_epochs(net, epochs, samples, threads, torch_too=True, log=print, torch_on="cpu"):
    """Alternate aenet and PyTorch (on ``torch_on``) epochs; return the per-epoch seconds of each.

    aenet trains in this process, PyTorch in one of its own (:func:`_torch_worker`),
    so that neither framework's thread pools or allocations slow the other.
    """
    X, y = make_data(net, samples)
    model = build_aenet(net)
    runners = {"aenet": (lambda: aenet_epoch(model, X, y))}
    worker = _start_torch_worker(net, samples, threads, torch_on) if torch_too else None
    try:
        # warm-up on a slice: first-call allocations, lazy initialisation; on a JAX
        # device a whole epoch, as XLA compiles for each data set size
        from aenet import device

        warm = min(samples, 8 * BATCH) if device.current() == "cpu" else samples
        model.fit(X[:warm], y[:warm], epochs=1)
        if worker is not None:
            _receive(worker)  # its warm-up is done
            runners["pytorch"] = lambda: _send(worker, "epoch")
        times = {name: [] for name in runners}
        names = list(runners)
        for epoch in range(epochs):
            for name in names if epoch % 2 == 0 else names[::-1]:
                times[name].append(runners[name]())
            log(f"  {net} epoch {epoch + 1}: " + ", ".join(f"{n} {times[n][-1]:.3f} s" for n in names))
    finally:
        if worker is not None:
            _stop(worker)
    return times


def _torch_worker(net, samples, threads, place, conn):
    """PyTorch's side of :func:`time_epochs`, in a process of its own: warm up, then one epoch per request."""
    try:
        import torch

        torch.set_num_threads(threads)
        X, y = make_data(net, samples)
        model = build_torch(net, device=place)
        Xt, yt = torch.from_numpy(X).to(place), torch.from_numpy(y.astype(np.int64)).to(place)
        warm = min(samples, 8 * BATCH)
        torch_epoch(model, Xt[:warm], yt[:warm])
        conn.send(("ok", os.getpid()))
        while conn.recv() == "epoch":
            conn.send(("ok", torch_epoch(model, Xt, yt)))
    except Exception as error:  # reported by the parent
        conn.send(("error", f"{type(error).__name__}: {error}"))


def _start_torch_worker(net, samples, threads, place):
    """A fresh interpreter (spawn) running :func:`_torch_worker` with aenet's thread settings."""
    import multiprocessing

    # The child reads these as it starts: the same threads as aenet, and idle threads that
    # sleep (as aenet's do) instead of spinning while the other framework runs.
    os.environ.update(OMP_NUM_THREADS=str(threads), OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))
    context = multiprocessing.get_context("spawn")
    conn, child = context.Pipe()
    proc = context.Process(target=_torch_worker, args=(net, samples, threads, place, child), daemon=True)
    proc.start()
    child.close()
    proc.conn = conn
    return proc


def _send(worker, request):
    worker.conn.send(request)
    return _receive(worker)


def _receive(worker):
    try:
        status, value = worker.conn.recv()
    except EOFError:
        raise RuntimeError(f"the PyTorch process ended (exit code {worker.exitcode})") from None
    if status == "error":
        raise RuntimeError(f"PyTorch: {value}")
    return value


def _stop(worker):
    try:
        worker.conn.send("stop")
    except OSError:
        pass
    worker.join(timeout=30)
    if worker.is_alive():
        worker.kill()
        worker.join()


def self_check(nets, steps=SELF_CHECK_STEPS, rtol=SELF_CHECK_RTOL):
    """The losses of the first ``steps`` training steps on the configured device and on ``cpu``.

    Same initial weights and batches on both; returns the largest relative
    difference, and raises ``AssertionError`` showing both lists when one
    exceeds ``rtol``.
    """
    from aenet import device

    name, worst = device.current(), 0.0
    for net in nets:
        X, y = make_data(net, steps * BATCH)
        losses = {}
        for dev in ("cpu", name):
            device.configure(dev)
            model = build_aenet(net)
            batches = [(X[i : i + BATCH], y[i : i + BATCH]) for i in range(0, len(X), BATCH)]
            losses[dev] = np.array([float(model.train_iter_(Xb, yb)[0]) for Xb, yb in batches])
        device.configure(name)
        diff = float(np.max(np.abs(losses[name] - losses["cpu"]) / np.abs(losses["cpu"])))
        if not diff <= rtol:
            raise AssertionError(
                f"{net}: the losses of {steps} steps on {name} ({losses[name].tolist()}) differ from "
                f"the cpu's ({losses['cpu'].tolist()}) by {diff:.2e} relative, more than {rtol:g}"
            )
        worst = max(worst, diff)
    return worst


# aenet's CPU rewrites, by tag: without them aesara compiles the nets with its own Ops
REWRITE_TAGS = ("aenet_fold", "aenet_fusion", "aenet_pool", "aenet_corr", "aenet_dot")


def lasagne_nesterov_momentum(loss_or_grads, params, learning_rate, momentum=0.9):
    """Nesterov momentum as Lasagne writes it (expressions, no fused Op)."""
    from aenet.lasagne.updates import apply_nesterov_momentum, sgd

    return apply_nesterov_momentum(sgd(loss_or_grads, params, learning_rate), momentum=momentum)


def parity_losses(net, epochs, samples):
    """Per-epoch training losses with aesara's own Ops and with aenet's.

    The reference has aenet's CPU rewrites off and Lasagne's expressions for
    the updates.  Same data, initial weights and batch order both ways;
    returns ``{"aesara": [...], "aenet": [...]}``.  The device is ``cpu`` afterwards.
    """
    from aenet import device

    X, y = make_data(net, samples)
    losses = {}
    try:
        for name, excluding, update in (("aesara", REWRITE_TAGS, lasagne_nesterov_momentum), ("aenet", (), None)):
            device.configure("cpu", excluding=excluding)
            model = build_aenet(net, update=update)
            model.fit(X, y, epochs=epochs)
            losses[name] = [row["train_loss"] for row in model.train_history_]
    finally:
        device.configure("cpu")
    return losses


def print_parity(nets, epochs, samples):
    print(f"Training loss per epoch, aesara's own Ops vs aenet's ({samples} samples, same seed)")
    for net in nets:
        losses = parity_losses(net, epochs, samples)
        for epoch, (a, b) in enumerate(zip(losses["aesara"], losses["aenet"]), 1):
            print(f"  {net} epoch {epoch}: {a:.7f} {b:.7f}  relative difference {abs(a - b) / abs(a):.1e}")


def _fmt(value, digits=3):
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    return f"{value:.{digits}f}"


def main(argv=None):
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
    args = parser.parse_args(argv)

    try:
        thread_counts = [int(t) for t in str(args.threads).split(",") if t.strip()]
    except ValueError:
        parser.error(f"--threads: expected a number or a list such as 1,2, got {args.threads!r}")
    os.environ["OMP_NUM_THREADS"] = str(max(thread_counts or [1]))
    if args._jax:
        return _child_jax(args._jax.split(","), args.epochs, args.samples, max(thread_counts))

    nets = [n.strip() for n in args.nets.split(",") if n.strip()]
    bad = [n for n in nets if n not in NETS]
    if bad or not nets:
        parser.error(f"--nets: unknown net(s) {bad!r}; expected a subset of {','.join(NETS)}")
    if args.quick:
        args.samples, args.epochs, args.no_compile, args.no_jax = 2560, 1, True, True
    if args.epochs < 1 or args.samples < BATCH or not thread_counts or min(thread_counts) < 1:
        parser.error("--epochs >= 1, --samples >= 128 and --threads >= 1 are required")

    import aenet
    from aenet import device
    from aenet.compile import settings

    if args.parity is not None:
        if args.parity < 1:
            parser.error("--parity: the number of epochs must be >= 1")
        settings.set_num_threads(max(thread_counts))
        return print_parity(nets, args.parity, args.samples)

    notes = []
    torch_too, torch_on = not args.no_torch, "cpu"
    if torch_too:
        try:
            import torch
        except ImportError:
            torch_too = False
            notes.append("PyTorch skipped: not installed (pip install torch==2.13.0)")
        else:
            try:
                torch_on = torch_device(args.torch_device, args.device, torch.cuda.is_available())
            except ValueError as error:
                parser.error(str(error))
            where = f"CUDA ({torch.cuda.get_device_name()})" if torch_on == "cuda" else "the CPU"
            notes.append(f"PyTorch {torch.__version__} on {where}")

    if args.device != "cpu":
        try:
            device.configure(args.device)
        except device.DeviceError as error:
            raise SystemExit(f"python -m cifarbench.bench: {error}") from None
        print(f"# {device.used_device()}: self-check against the C backend ...", flush=True)
        try:
            diff = self_check(nets)
        except AssertionError as error:
            raise SystemExit(f"python -m cifarbench.bench: self-check failed: {error}") from None
        notes.append(f"aenet on {device.used_device()}")
        notes.append(f"{args.device} self-check: {SELF_CHECK_STEPS} training steps per net give the cpu's "
                     f"losses (largest relative difference {diff:.1e}, at most {SELF_CHECK_RTOL:g})")

    title = (f"# aenet {aenet.__version__} on {device.cpu_model()} ({os.cpu_count()} cores), "
             f"{args.samples} samples/epoch, batch {BATCH}, {args.epochs} epoch(s) each")
    print(title, flush=True)
    rows = {}
    for threads in thread_counts:
        settings.set_num_threads(threads)
        for net in nets:
            print(f"  {net}, {threads} thread(s):", flush=True)
            times = time_epochs(net, args.epochs, args.samples, threads, torch_too,
                                log=lambda s: print(s, flush=True), torch_on=torch_on)
            a = statistics.median(times["aenet"])
            t = statistics.median(times["pytorch"]) if torch_too else None
            rows[net, threads] = {
                "aenet": a,
                "pytorch": t,
                "ratio": a / t if t else None,
                "gflops": flops_per_sample(net) * args.samples / a / 1e9,
                "epochs": times,
            }

    if not args.no_compile:
        print("  compiling in an empty cache, then again warm ...", flush=True)
        cold, warm = compile_times(nets, max(thread_counts), args.device)
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
    if not args.no_jax:
        print("  jax-cpu ...", flush=True)
        jax = _run_child(["--_jax", ",".join(nets), "--epochs", str(args.epochs),
                          "--samples", str(args.samples), "--threads", str(max(thread_counts))])
        for net in nets:
            value = jax.get(net, jax.get("error"))
            if isinstance(value, str):
                notes.append(f"jax-cpu {net} skipped: {value}")
                value = "skipped"
            for (row_net, _), row in rows.items():
                if row_net == net:
                    row["jax"] = value
        notes.append("jax-cpu: aesara's JAX backend, XLA's own CPU thread pool, first (compiling) epoch left out")

    header = ["net", "threads", "aenet s/epoch", "PyTorch s/epoch", "aenet/PyTorch", "aenet GFLOP/s",
              "jax-cpu s/epoch", "cold compile s", "warm compile s"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for (net, threads), r in rows.items():
        cells = [net, str(threads), _fmt(r["aenet"]), _fmt(r["pytorch"]), _fmt(r["ratio"], 2),
                 _fmt(r["gflops"], 1), _fmt(r.get("jax")), _fmt(r.get("cold"), 1), _fmt(r.get("warm"), 2)]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"Medians of {args.epochs} epoch(s) per framework, alternating; "
              f"GFLOP/s counts the conv/dense multiply-adds of forward + backward "
              f"({', '.join(f'{n} {flops_per_sample(n) / 1e6:.2f} MFLOP/sample' for n in nets)})."]
    lines += [f"- {note}" for note in notes]
    print("\n" + "\n".join(lines))
    if args.output:
        from aenet.atomic import atomic_open

        with atomic_open(args.output, "w") as f:
            f.write("\n".join([title, "", *lines, ""]))
    return rows


if __name__ == "__main__":
    main()
