METRICS = f"results/{SWEEP}/metrics.parquet"
FIGURES = expand("paper/figures/{name}.pdf", name=config["figures"])
TABLES = ["paper/generated/numbers.tex", "paper/generated/claims.tex"]


rule figures:
    """Every figure and table of the paper, drawn from the cached results of the sweep."""
    input:
        FIGURES,
        TABLES,


rule figure:
    """One figure: src/separations/figures/<name>.py."""
    input:
        METRICS,
    output:
        "paper/figures/{name}.pdf",
    log:
        "paper/figures/{name}.log",
    conda:
        "../../envs/separations.yaml"
    shell:
        "python -m separations.figures.{wildcards.name} --metrics {input} --out {output}"
        " > {log} 2>&1"


rule tables:
    """Claims table with computed verdicts, and the numbers the text quotes."""
    input:
        METRICS,
    output:
        TABLES,
    params:
        sweep=SWEEP,
    log:
        "paper/generated/tables.log",
    conda:
        "../../envs/separations.yaml"
    shell:
        "python -m separations.report --metrics {input} --sweep {params.sweep}"
        " --outdir paper/generated > {log} 2>&1"
