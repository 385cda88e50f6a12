rule train:
    """One (task, model, shape, N) cell: every learning rate and seed, resumable."""
    input:
        data="results/{sweep}/data/{task}/N{length}.parquet",
    output:
        metrics="results/{sweep}/runs/{task}/{model}/{shape}/N{length}/metrics.parquet",
    log:
        "results/{sweep}/runs/{task}/{model}/{shape}/N{length}/train.log",
    conda:
        "../../envs/separations.yaml"
    threads: lambda wildcards: job_of(wildcards)["threads"]
    params:
        spec=lambda wildcards: json.dumps(job_of(wildcards), sort_keys=True),
    shell:
        "python -m separations.train --spec {params.spec:q} --data {input.data}"
        " --out {output.metrics} --log {log} --threads {threads} 2> /dev/null"
