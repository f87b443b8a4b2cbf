# Stage 1: fetch the CIFAR-10 "python version" archive and verify its checksum.
# A local rule: under a cluster executor it runs where snakemake runs, since
# compute nodes often have no network.


rule download_data:
    localrule: True
    output:
        archive="resources/cifar-10-python.tar.gz",
    params:
        url=config["data_url"],
        sha256=config["data_sha256"],
        md5=config["data_md5"],
        retries=config["download"]["retries"],
        timeout=config["download"]["timeout"],
    log:
        "logs/download/cifar-10-python.log",
    benchmark:
        "benchmarks/download/cifar-10-python.tsv"
    conda:
        "../envs/cpu.yaml"
    script:
        "../scripts/download.py"
