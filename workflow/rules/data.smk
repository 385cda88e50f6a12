rule validation_set:
    """The validation set of one (task, N): selects every job's learning rate and checkpoint."""
    output:
        "results/{sweep}/data/{task}/N{length}-validation.parquet",
    log:
        "results/{sweep}/data/{task}/N{length}-validation.log",
    conda:
        "../../envs/separations.yaml"
    params:
        spec=eval_set_spec,
    shell:
        "python -m separations.data {wildcards.task} --length {wildcards.length}"
        " --count {params.spec[count]} --seed {params.spec[seed]}"
        " --params {params.spec[params]:q} --out {output} > {log} 2>&1"


rule test_set:
    """The held-out test set of one (task, N), disjoint from its validation set: what is reported."""
    input:
        "results/{sweep}/data/{task}/N{length}-validation.parquet",
    output:
        "results/{sweep}/data/{task}/N{length}-test.parquet",
    log:
        "results/{sweep}/data/{task}/N{length}-test.log",
    conda:
        "../../envs/separations.yaml"
    params:
        spec=eval_set_spec,
    shell:
        "python -m separations.data {wildcards.task} --length {wildcards.length}"
        " --count {params.spec[test_count]} --seed {params.spec[test_seed]}"
        " --params {params.spec[params]:q} --exclude {input} --out {output} > {log} 2>&1"
