# Paper 2 (IsTree): evaluation sets, training jobs and aggregation, from the `istree` block of
# config.yaml. The logic is in separations.istree; these rules only call it.


include: "istree_common.smk"


localrules:
    istree_evaluation_set,
    istree_test_set,
    istree_aggregate,


rule istree_evaluation_set:
    """The IsTree validation set of one (format, n), shared by the sweep's jobs: it selects."""
    output:
        "results/{sweep}/istree/data/{fmt}/n{n}-validation.parquet",
    log:
        "results/{sweep}/istree/data/{fmt}/n{n}-validation.log",
    conda:
        "../../envs/separations.yaml"
    params:
        spec=istree_eval_set,
    shell:
        "python -m separations.data istree --length {wildcards.n}"
        " --count {params.spec[count]} --seed {params.spec[seed]}"
        " --params {params.spec[params]:q} --out {output} > {log} 2>&1"


rule istree_test_set:
    """The held-out IsTree test set of one (format, n), disjoint from its validation set."""
    input:
        "results/{sweep}/istree/data/{fmt}/n{n}-validation.parquet",
    output:
        "results/{sweep}/istree/data/{fmt}/n{n}-test.parquet",
    log:
        "results/{sweep}/istree/data/{fmt}/n{n}-test.log",
    conda:
        "../../envs/separations.yaml"
    params:
        spec=istree_eval_set,
    shell:
        "python -m separations.data istree --length {wildcards.n}"
        " --count {params.spec[test_count]} --seed {params.spec[test_seed]}"
        " --params {params.spec[params]:q} --exclude {input} --out {output} > {log} 2>&1"


rule istree_train:
    """One (format, family, size, n) IsTree cell: every learning rate and seed, resumable."""
    input:
        data="results/{sweep}/istree/data/{fmt}/n{n}-validation.parquet",
        test="results/{sweep}/istree/data/{fmt}/n{n}-test.parquet",
    output:
        metrics="results/{sweep}/istree/runs/{fmt}/{family}/{size}/n{n}/metrics.parquet",
    log:
        "results/{sweep}/istree/runs/{fmt}/{family}/{size}/n{n}/train.log",
    conda:
        "../../envs/separations.yaml"
    threads: lambda wildcards: istree_job(wildcards).threads
    resources:
        # no size model for these jobs yet: the partition's limit; a job that needs longer
        # resumes from its checkpoints in the next attempt (docs/cluster.md)
        **SLURM_PLACEMENT,
        runtime=CLUSTER["runtime"]["max_minutes"],
    params:
        spec=lambda wildcards: istree_job(wildcards).to_json(),
    shell:
        "exec python -m separations.istree.train --spec {params.spec:q}"
        " --data {input.data} --test {input.test} --out {output.metrics} --log {log} --threads {threads}"
        " 2> /dev/null"


rule istree_aggregate:
    """All IsTree jobs of a sweep in one schema-checked Parquet: the committed cache."""
    input:
        lambda wildcards: istree_run_outputs(wildcards.sweep),
    output:
        "results/{sweep}/istree.parquet",
    log:
        "results/{sweep}/istree.log",
    conda:
        "../../envs/separations.yaml"
    shell:
        "python -m separations.istree.aggregate --allow-empty --out {output} {input}"
        " > {log} 2>&1"
