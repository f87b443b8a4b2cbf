# Stage 3: select each device, record its settings and hardware, run the post's exp check.
# A device that cannot be used fails here, so no training job starts on it.


rule configure_device:
    output:
        info=report(
            "results/device/{device}.json",
            caption="../report/device.rst",
            category="Devices",
            labels={"device": "{device}"},
        ),
    log:
        "logs/device/{device}.log",
    benchmark:
        "benchmarks/device/{device}.tsv"
    resources:
        gpu=gpu_count,
    conda:
        conda_env
    script:
        "../scripts/configure_device.py"
