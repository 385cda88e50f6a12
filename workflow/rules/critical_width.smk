# The critical-width study (config.yaml `critical_width`, one study per sweep): one job per
# (family, N) searches the widths upwards (separations.critical_width), then one table. Its
# evaluation sets live under results/<sweep>/critical_width/data/: the study's Index Lookup
# parameters (alphabet) may differ from the sweep's, and no other rule writes there.


include: "critical_width_common.smk"


rule critical_width_validation_set:
    """The validation set of the study at N: selects learning rates and checkpoints."""
    output:
        "results/{sweep}/critical_width/data/idxl/N{length}-validation.parquet",
    log:
        "results/{sweep}/critical_width/data/idxl/N{length}-validation.log",
    conda:
        "../../envs/separations.yaml"
    params:
        spec=critical_width_eval_set,
    shell:
        "python -m separations.data idxl --length {wildcards.length}"
        " --count {params.spec[count]} --seed {params.spec[seed]}"
        " --params {params.spec[params]:q} --out {output} > {log} 2>&1"


rule critical_width_test_set:
    """The held-out test set of the study at N, disjoint from its validation set."""
    input:
        "results/{sweep}/critical_width/data/idxl/N{length}-validation.parquet",
    output:
        "results/{sweep}/critical_width/data/idxl/N{length}-test.parquet",
    log:
        "results/{sweep}/critical_width/data/idxl/N{length}-test.log",
    conda:
        "../../envs/separations.yaml"
    params:
        spec=critical_width_eval_set,
    shell:
        "python -m separations.data idxl --length {wildcards.length}"
        " --count {params.spec[test_count]} --seed {params.spec[test_seed]}"
        " --params {params.spec[params]:q} --exclude {input} --out {output} > {log} 2>&1"


rule critical_width_job:
    """One (family, N): widths upwards until solved, plus one width above; resumable."""
    input:
        validation="results/{sweep}/critical_width/data/idxl/N{length}-validation.parquet",
        test="results/{sweep}/critical_width/data/idxl/N{length}-test.parquet",
    output:
        "results/{sweep}/critical_width/runs/{model}/N{length}/metrics.parquet",
    log:
        "results/{sweep}/critical_width/runs/{model}/N{length}/search.log",
    conda:
        "../../envs/separations.yaml"
    threads: lambda wildcards: critical_width_job(wildcards).threads
    resources:
        **SLURM_PLACEMENT,
    params:
        spec=lambda wildcards: critical_width_job(wildcards).to_json(),
    shell:
        "exec python -m separations.critical_width run --spec {params.spec:q}"
        " --validation {input.validation} --test {input.test} --out {output}"
        " --log {log} --threads {threads} 2> /dev/null"


rule critical_width_aggregate:
    """A sweep's critical-width jobs in one schema-checked Parquet."""
    input:
        lambda wildcards: critical_width_outputs(wildcards.sweep),
    output:
        "results/{sweep}/critical_width.parquet",
    log:
        "results/{sweep}/critical_width.log",
    conda:
        "../../envs/separations.yaml"
    shell:
        "python -m separations.critical_width aggregate --out {output} {input} > {log} 2>&1"
