# Stage 5: tables and figures over every model, device and run, beside the post's
# figures.  Light enough to run locally under a cluster executor.


rule aggregate_results:
    localrule: True
    input:
        metrics=all_metrics(),
        devices=expand("results/device/{device}.json", device=DEVICES),
    output:
        summary=report(
            "results/summary.csv",
            caption="../report/summary_csv.rst",
            category="Results",
            labels={"figure": "summary table (CSV)"},
        ),
        plot=report(
            "results/summary.png",
            caption="../report/summary_png.rst",
            category="Results",
            labels={"figure": "epoch time and accuracy"},
        ),
        page=report(
            "results/summary.html",
            caption="../report/summary_html.rst",
            category="Results",
            labels={"figure": "summary table"},
        ),
    log:
        "logs/aggregate/summary.log",
    conda:
        "../envs/cpu.yaml"
    script:
        "../scripts/aggregate.py"


rule plot_curves:
    localrule: True
    input:
        histories=all_histories(),
    output:
        plot=report(
            "results/curves.png",
            caption="../report/curves.rst",
            category="Results",
            labels={"figure": "learning curves"},
        ),
    log:
        "logs/aggregate/curves.log",
    conda:
        "../envs/cpu.yaml"
    script:
        "../scripts/plot_curves.py"


rule plot_scaling:
    localrule: True
    input:
        metrics=all_metrics(),
    output:
        table=report(
            "results/scaling.csv",
            caption="../report/scaling_csv.rst",
            category="Results",
            labels={"figure": "scaling table"},
        ),
        plot=report(
            "results/scaling.png",
            caption="../report/scaling.rst",
            category="Results",
            labels={"figure": "epoch time against batch size"},
        ),
    log:
        "logs/aggregate/scaling.log",
    conda:
        "../envs/cpu.yaml"
    script:
        "../scripts/plot_scaling.py"
