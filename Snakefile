# CIFAR-10 on CPU and GPU: the MLP and CNN of "Faster deep learning with GPUs
# and Theano", rerun with aenet on aesara.  Stages, one rules file each:
#   download -> preprocess -> configure_device -> train -> aggregate
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"


rule all:
    input:
        summary="results/summary.csv",
        plot="results/summary.png",
        page="results/summary.html",
        curves="results/curves.png",
        scaling=scaling_outputs(),


include: "workflow/rules/download.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/configure_device.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
