rule train:
    """One (task, model, shape, N) cell: every learning rate and seed, resumable.

    On a cluster (docs/cluster.md) the time limit grows with the attempt, jobs of the group
    `train` are bundled by the profile, and `exec` makes the trainer the process that Snakemake
    waits for, so that SIGTERM from SLURM finds it and it checkpoints before the job ends.
    """
    input:
        validation="results/{sweep}/data/{task}/N{length}-validation.parquet",
        test="results/{sweep}/data/{task}/N{length}-test.parquet",
    output:
        metrics="results/{sweep}/runs/{task}/{model}/{shape}/N{length}/metrics.parquet",
    log:
        "results/{sweep}/runs/{task}/{model}/{shape}/N{length}/train.log",
    group:
        train_group
    conda:
        "../../envs/separations.yaml"
    threads: lambda wildcards: job_of(wildcards).threads
    resources:
        **SLURM_PLACEMENT,
        runtime=train_runtime,
        mem_mb=train_mem_mb,
    params:
        spec=lambda wildcards: job_of(wildcards).to_json(),
    shell:
        "exec python -m separations.train --spec {params.spec:q} --data {input.validation} --test {input.test}"
        " --out {output.metrics} --log {log} --threads {threads} 2> /dev/null"
