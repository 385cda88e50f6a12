rule evaluation_set:
    """The fixed evaluation set of one (task, N): every job of the sweep is scored on it."""
    output:
        "results/{sweep}/data/{task}/N{length}.parquet",
    log:
        "results/{sweep}/data/{task}/N{length}.log",
    conda:
        "../../envs/separations.yaml"
    params:
        spec=eval_set_spec,
    shell:
        "python -m separations.data {wildcards.task} --length {wildcards.length}"
        " --count {params.spec[count]} --seed {params.spec[seed]}"
        " --params {params.spec[params]:q} --out {output} > {log} 2>&1"
