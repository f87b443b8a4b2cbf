"""The timing side of ``make bench``: epochs in turn, compile times, the device checks.

:func:`time_epochs` alternates aenet and PyTorch epochs (ABBA...) so that load
from other processes hits both alike; PyTorch trains in a process of its own
(:func:`start_torch_worker`), so that neither framework's threads or memory
slow the other.  :func:`compile_times` measures compiling in fresh
interpreters, cold (an empty aesara compile cache) and warm; the jax-cpu
figures also come from a child process.  :func:`self_check` compares a
device's first training losses with the C backend's, and
:func:`parity_losses` aenet's Ops with aesara's own.
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from cifarbench.bench_nets import aenet_epoch, batch_size, build_aenet, build_torch, make_data, torch_epoch

SELF_CHECK_STEPS = 3
SELF_CHECK_RTOL = 1e-4


def torch_device(requested, aenet_device, cuda_available):
    """Where PyTorch runs: ``requested`` (cpu or cuda), or for ``auto`` CUDA when aenet is on
    the gpu and CUDA is available, else the CPU.  ``ValueError`` for cuda without CUDA."""
    if requested == "auto":
        return "cuda" if aenet_device == "gpu" and cuda_available else "cpu"
    if requested == "cuda" and not cuda_available:
        raise ValueError("--torch-device cuda: torch.cuda.is_available() is False (a CPU build of "
                         "torch, or no usable GPU)")
    return requested


# -- subprocess jobs -------------------------------------------------------------

# Run in a fresh interpreter so that the first ``import aenet`` (which, in an
# empty cache, compiles aesara's own C helpers) is timed too.
_COMPILE_CHILD = """
import time
start = time.perf_counter()
import aenet
from cifarbench import timing
timing.child_compile({nets!r}, time.perf_counter() - start, {device!r})
"""


def child_compile(nets, import_seconds, device_name="cpu"):
    """Compile each net (NeuralNet.initialize) for ``device_name``, print the seconds as JSON."""
    from aenet import device

    device.configure(device_name)
    result = {"import": import_seconds}
    for net in nets:
        start = time.perf_counter()
        build_aenet(net)
        result[net] = time.perf_counter() - start
    print(json.dumps(result))


def child_jax(nets, epochs, samples, threads):
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


def run_child(args, env=None, timeout=3600, code=None):
    """The last stdout line (JSON) of ``python -m cifarbench.bench ARGS`` or ``python -c CODE``."""
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
        cold = run_child([], env, code=code)
        warm = run_child([], env, code=code)
    return cold, warm


# -- the benchmark -------------------------------------------------------------


def time_epochs(net, epochs, samples, threads, torch_too=True, log=print, torch_on="cpu"):
    """Alternate aenet and PyTorch (on ``torch_on``) epochs; return the per-epoch seconds of each.

    aenet trains in this process, PyTorch in one of its own (:func:`_torch_worker`),
    so that neither framework's thread pools or allocations slow the other.
    """
    X, y = make_data(net, samples)
    model = build_aenet(net)
    runners = {"aenet": (lambda: aenet_epoch(model, X, y))}
    worker = start_torch_worker(net, samples, threads, torch_on) if torch_too else None
    try:
        # warm-up on a slice: first-call allocations, lazy initialisation; on a JAX
        # device a whole epoch, as XLA compiles for each data set size
        from aenet import device

        warm = min(samples, 8 * batch_size(net)) if device.current() == "cpu" else samples
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
        batch = batch_size(net)
        warm = min(samples, 8 * batch)
        torch_epoch(model, Xt[:warm], yt[:warm], batch)
        conn.send(("ok", os.getpid()))
        while conn.recv() == "epoch":
            conn.send(("ok", torch_epoch(model, Xt, yt, batch)))
    except Exception as error:  # reported by the parent
        conn.send(("error", f"{type(error).__name__}: {error}"))


def start_torch_worker(net, samples, threads, place):
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
        batch = batch_size(net)
        X, y = make_data(net, steps * batch)
        losses = {}
        for dev in ("cpu", name):
            device.configure(dev)
            model = build_aenet(net)
            batches = [(X[i : i + batch], y[i : i + batch]) for i in range(0, len(X), batch)]
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

