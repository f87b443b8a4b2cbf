"""cifarbench.bench, bench_nets and timing: FLOP counts, the PyTorch twins, a smoke run (no timings asserted)."""
import importlib.util
import os

import numpy as np
import pytest

from cifarbench import bench, bench_nets, timing

BATCH = 128  # the schema's batch_size of both nets

torch_missing = importlib.util.find_spec("torch") is None


def test_flops_per_sample():
    # MLP: forward 1024*100 + 100*10 multiply-adds; backward twice that minus the first layer's input grad
    mlp = 1024 * 100 + 100 * 10
    assert bench_nets.flops_per_sample("mlp") == 2 * (mlp + 2 * mlp - 1024 * 100)
    conv = [16 * 30 * 30 * 1 * 9, 32 * 14 * 14 * 16 * 4, 64 * 6 * 6 * 32 * 4]
    dense = [64 * 3 * 3 * 200, 200 * 10]
    layers = conv + dense
    assert bench_nets.flops_per_sample("cnn") == 2 * (sum(layers) + 2 * sum(layers) - conv[0])


def test_aenet_nets_are_the_posts():
    model = bench_nets.build_aenet("cnn")
    assert [name for name, _ in model.layers] == [
        "input", "conv1", "pool1", "conv2", "pool2", "conv3", "pool3", "hidden4", "output"
    ]
    assert [model.layers_[f"conv{i}"].num_filters for i in (1, 2, 3)] == [16, 32, 64]
    assert model.layers_["hidden4"].num_units == 200 and model.layers_["output"].num_units == 10
    assert model.train_split.eval_size == 0 and model.batch_iterator_train.batch_size == BATCH


@pytest.mark.skipif(torch_missing, reason="PyTorch is not installed (optional; make bench installs it)")
@pytest.mark.parametrize("net", ["mlp", "cnn"])
def test_torch_twin_has_the_same_parameters(net):
    model = bench_nets.build_aenet(net)
    torch_model, _ = bench_nets.build_torch(net)
    ours = sorted(p.get_value().size for p in model.get_all_params())
    theirs = sorted(p.numel() for p in torch_model.parameters())
    assert ours == theirs


def test_smoke_run(capsys, tmp_path):
    rows = bench.main(["--nets", "mlp", "--samples", "256", "--epochs", "1", "--threads", "1",
                       "--no-compile", "--no-jax", "--no-torch", "--output", str(tmp_path / "bench.md")])
    out = capsys.readouterr().out
    assert "| mlp | 1 |" in out
    assert rows["mlp", 1]["aenet"] > 0 and np.isfinite(rows["mlp", 1]["gflops"])
    table = (tmp_path / "bench.md").read_text().splitlines()
    assert table[0].startswith("# aenet ") and "256 samples/epoch" in table[0]
    assert table[2].startswith("| net | threads |") and table[4].startswith("| mlp | 1 | ")
    assert table[4] in out.splitlines()


@pytest.mark.parametrize("requested, aenet_device, cuda, expected", [
    ("auto", "gpu", True, "cuda"),
    ("auto", "gpu", False, "cpu"),
    ("auto", "cpu", True, "cpu"),
    ("auto", "jax-cpu", True, "cpu"),
    ("cpu", "gpu", True, "cpu"),
    ("cuda", "cpu", True, "cuda"),
])  # fmt: skip
def test_torch_device(requested, aenet_device, cuda, expected):
    assert timing.torch_device(requested, aenet_device, cuda) == expected


def test_torch_device_cuda_without_cuda():
    with pytest.raises(ValueError, match="--torch-device cuda: torch.cuda.is_available"):
        timing.torch_device("cuda", "gpu", False)


@pytest.mark.skipif(torch_missing, reason="PyTorch is not installed (optional; make bench installs it)")
def test_torch_epoch_trains_on_the_given_device():
    import torch

    X, y = bench_nets.make_data("mlp", 4 * BATCH)
    model = bench_nets.build_torch("mlp", device="cpu")
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    before = [p.detach().clone() for p in model[0].parameters()]
    assert bench_nets.torch_epoch(model, Xt, yt, BATCH) > 0
    assert all(p.device.type == "cpu" for p in model[0].parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, model[0].parameters()))


def test_bad_arguments():
    with pytest.raises(SystemExit):
        bench.main(["--nets", "resnet"])
    with pytest.raises(SystemExit):
        bench.main(["--threads", "two"])


def test_compile_child_gets_its_own_cache():
    flags = "floatX=float32,base_compiledir=/somewhere/aesara,blas__ldflags=-lx -Dy=z,compiledir=/x"
    assert timing._without_compiledir(flags) == "floatX=float32,blas__ldflags=-lx -Dy=z"
    assert timing._without_compiledir("") == ""


@pytest.mark.parametrize("net", ["mlp", "cnn"])
def test_epoch_losses_equal_with_and_without_aenets_rewrites(net):
    """Whole epochs from the same seed: aesara's own Ops and aenet's give the same losses."""
    from aenet import device

    losses = timing.parity_losses(net, epochs=2, samples=6 * BATCH)
    assert len(losses["aesara"]) == len(losses["aenet"]) == 2
    assert losses["aesara"][1] < losses["aesara"][0]  # it trains
    np.testing.assert_allclose(losses["aenet"], losses["aesara"], rtol=1e-5)
    assert device.current() == "cpu" and not device.mode().provided_optimizer.exclude


def test_rewrites_really_off_for_the_reference(back_to_cpu):
    from aenet import device
    from aenet.cpu.corr import BatchedCorr

    device.configure("cpu", excluding=timing.REWRITE_TAGS)
    model = bench_nets.build_aenet("cnn", update=timing.lasagne_nesterov_momentum)
    types = {type(node.op) for node in model.train_iter_.maker.fgraph.apply_nodes}
    ours = {t.__module__ for t in types if t.__module__.startswith("aenet")}
    assert BatchedCorr not in types and ours == {"aenet.cpu.conv"}  # aesara's CorrMM, made to compile


@pytest.mark.skipif(torch_missing, reason="PyTorch is not installed (optional; make bench installs it)")
def test_pytorch_trains_in_a_process_of_its_own():
    worker = timing.start_torch_worker("mlp", 2 * BATCH, 1, "cpu")
    try:
        assert timing._receive(worker) == worker.pid != os.getpid()  # ready, after its warm-up
        assert 0 < timing._send(worker, "epoch") < 60
    finally:
        timing._stop(worker)
    assert worker.exitcode == 0


@pytest.mark.skipif(torch_missing, reason="PyTorch is not installed (optional; make bench installs it)")
def test_pytorch_process_failure_is_reported():
    worker = timing.start_torch_worker("mlp", BATCH, 1, "no-such-device")
    try:
        with pytest.raises(RuntimeError, match="^PyTorch: RuntimeError: .*no-such-device"):
            timing._receive(worker)
    finally:
        timing._stop(worker)



def test_self_check_on_jax_cpu_agrees_with_the_c_backend(jax_cpu):
    assert timing.self_check(["mlp", "cnn"]) <= timing.SELF_CHECK_RTOL
    from aenet import device

    assert device.current() == "jax-cpu"  # left on the device it checked


def test_self_check_fails_loudly_when_the_device_disagrees(jax_cpu):
    """A negative tolerance no difference can meet: the error shows both devices' losses."""
    with pytest.raises(AssertionError, match=r"^mlp: the losses of 3 steps on jax-cpu \(.*\) differ from the cpu's"):
        timing.self_check(["mlp"], rtol=-1.0)
