# Stage 2: unpickle and check every batch, grayscale and normalise once, cache as .npy.


rule preprocess_data:
    input:
        archive="resources/cifar-10-python.tar.gz",
    output:
        X_train="results/arrays/X_train.npy",
        y_train="results/arrays/y_train.npy",
        X_test="results/arrays/X_test.npy",
        y_test="results/arrays/y_test.npy",
    log:
        "logs/preprocess/arrays.log",
    benchmark:
        "benchmarks/preprocess/arrays.tsv"
    conda:
        "../envs/cpu.yaml"
    script:
        "../scripts/preprocess.py"
