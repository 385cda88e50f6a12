rule aggregate:
    """All jobs of a sweep in one schema-checked Parquet: the committed cache."""
    input:
        lambda wildcards: run_outputs(wildcards.sweep),
    output:
        "results/{sweep}/metrics.parquet",
    log:
        "results/{sweep}/aggregate.log",
    conda:
        "../../envs/separations.yaml"
    shell:
        "python -m separations.aggregate --out {output} {input} > {log} 2>&1"
