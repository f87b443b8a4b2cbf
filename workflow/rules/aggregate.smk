# Stage 5: one table and one figure over every model and device, beside the post's figures.
# Light enough to run locally under a cluster executor.


rule aggregate_results:
    localrule: True
    input:
        metrics=all_metrics(),
    output:
        summary=report(
            "results/summary.csv",
            caption="../report/summary_csv.rst",
            category="Results",
            labels={"figure": "summary table"},
        ),
        plot=report(
            "results/summary.png",
            caption="../report/summary_png.rst",
            category="Results",
            labels={"figure": "epoch time and accuracy"},
        ),
    log:
        "logs/aggregate/summary.log",
    conda:
        "../envs/cpu.yaml"
    script:
        "../scripts/aggregate.py"
