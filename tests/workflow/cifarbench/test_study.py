"""cifarbench.study: the training jobs of repeats and sweeps, their tags and settings."""
import pytest

from cifarbench.config import validated
from cifarbench.study import Run, check_size, describe, parse_tag, plan, settings, tag


def config(**overrides):
    return validated(overrides)


def test_the_default_config_is_one_untagged_run_per_model_and_device():
    runs = plan(config(), ["mlp", "cnn"], ["cpu", "gpu"])
    assert runs == [Run("mlp", "cpu"), Run("mlp", "gpu"), Run("cnn", "cpu"), Run("cnn", "gpu")]
    assert {tag(run) for run in runs} == {""}


def test_repeats_times_batch_sizes_times_threads_on_cpu_only():
    study = config(repeats=2, sweep={"batch_size": [128, 512], "threads": [1, 2]})
    runs = plan(study, ["mlp"], ["cpu", "gpu"])
    cpu = [run for run in runs if run.device == "cpu"]
    gpu = [run for run in runs if run.device == "gpu"]
    assert len(cpu) == 2 * 2 * 2 and len(gpu) == 2 * 2  # no thread sweep on the gpu
    assert {run.threads for run in gpu} == {None}
    assert tag(cpu[0]) == "_r1_b128_t1" and tag(cpu[-1]) == "_r2_b512_t2"
    assert describe(runs) == "12 training jobs (mlp on cpu: 8, mlp on gpu: 4)"


def test_a_model_sweep_replaces_the_sweep_for_all_models():
    study = config(sweep={"batch_size": [64, 256], "cnn": {"batch_size": [32]}, "learning_rate": [0.1]})
    runs = plan(study, ["mlp", "cnn"], ["cpu"])
    assert [(r.model, r.batch_size, r.learning_rate) for r in runs] == [
        ("mlp", 64, 0.1), ("mlp", 256, 0.1), ("cnn", 32, 0.1),
    ]  # fmt: skip
    assert tag(runs[0]) == "_b64_lr0.1"


@pytest.mark.parametrize("text", ["", "_r3", "_b2048_t4", "_r1_b16_t1_lr0.005", "_lr1e-05"])
def test_tags_read_back_what_they_name(text):
    assert tag(Run("mlp", "cpu", **parse_tag(text))) == text


def test_a_malformed_tag_is_refused():
    with pytest.raises(ValueError, match="cannot read 'x5'"):
        parse_tag("_r1_x5")


def test_settings_put_the_swept_values_and_the_repeat_seed_in():
    study = config(seed=7, mlp={"batch_size": 100, "learning_rate": 0.02})
    hyperparameters, seed, threads = settings(study, "mlp", "_r3_b512_t2")
    assert (hyperparameters["batch_size"], hyperparameters["learning_rate"], seed, threads) == (512, 0.02, 9, 2)
    assert settings(study, "mlp", "")[1:] == (7, None)
    assert settings(study, "mlp", "")[0]["batch_size"] == 100


def test_a_large_study_needs_confirming_and_says_how_to_estimate_it():
    runs = plan(config(repeats=26), ["mlp", "cnn"], ["cpu"])
    assert len(runs) == 52
    with pytest.raises(ValueError, match=r"52 training jobs \(over 50\).*benchmarks/train.*confirm_large=true"):
        check_size(runs, config(repeats=26))
    check_size(runs, config(repeats=26, confirm_large=True))
    check_size(plan(config(repeats=25), ["mlp", "cnn"], ["cpu"]), config(repeats=25))


def test_swept_threads_beyond_the_cores_are_refused():
    runs = plan(config(sweep={"threads": [1, 8]}), ["mlp"], ["cpu"])
    with pytest.raises(ValueError, match="sweep threads 8 is more than the 4 cores"):
        check_size(runs, config(), cores=4)
    check_size(runs, config(), cores=8)
    check_size(runs, config(), cores=None)


@pytest.mark.parametrize("bad, message", [
    ({"repeats": 0}, "repeats"), ({"sweep": {"batch_size": []}}, "sweep.batch_size"),
    ({"sweep": {"threads": [1, 1]}}, "sweep.threads"), ({"sweep": {"gpu": [1]}}, "gpu"),
    ({"sweep": {"mlp": {"threads": [1]}}}, "threads"),
])  # fmt: skip
def test_the_schema_refuses_bad_studies(bad, message):
    with pytest.raises(ValueError, match=message):
        validated(bad)
