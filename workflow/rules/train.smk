# Stage 4: train one model on one device; params, per-epoch history and metrics.
# {run} is empty for the configured settings, else names the repeat and swept
# values (cifarbench.study): results/metrics/mlp_cpu_r2_b512.json.
# The checkpoint (saved after every epoch, resumed by a rerun after a kill) is not
# an output: snakemake would delete it when the job fails.  The job removes it
# once the outputs are written.


rule train_model:
    input:
        X_train="results/arrays/X_train.npy",
        y_train="results/arrays/y_train.npy",
        X_test="results/arrays/X_test.npy",
        y_test="results/arrays/y_test.npy",
        device="results/device/{device}.json",
    output:
        params="results/models/{model}_{device}{run}.npz",
        history=report(
            "results/history/{model}_{device}{run}.csv",
            caption="../report/history.rst",
            category="Training history",
            labels={"model": "{model}", "device": "{device}", "run": "{run}"},
        ),
        metrics="results/metrics/{model}_{device}{run}.json",
    params:
        model=model_config,
        seed=run_seed,
        checkpoint="results/checkpoints/{model}_{device}{run}.npz",
    log:
        "logs/train/{model}_{device}{run}.log",
    benchmark:
        "benchmarks/train/{model}_{device}{run}.tsv"
    threads: run_threads  # at job time: --unlock, --report need no --cores
    resources:
        mem_mb=train_mem_mb,
        runtime=train_runtime,
        gpu=gpu_count,
    conda:
        conda_env
    script:
        "../scripts/train.py"
