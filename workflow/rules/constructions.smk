# Theorem 1 executed with hand-set weights: no training, one job per (study, N), then one table.
# The code is separations.constructions (sweep.py); the settings are config.yaml `constructions`.

import json

from snakemake.utils import validate

if "constructions" not in config:
    raise WorkflowError(
        "config.yaml has no `constructions` block (workflow/rules/constructions.smk)"
    )

validate(
    config["constructions"], str(sweep_config.SCHEMAS / "constructions.schema.json")
)

from separations.constructions import sweep as constructions_sweep  # noqa: E402

try:
    constructions_sweep.validate(config["constructions"])
except constructions_sweep.ConstructionsConfigError as error:
    raise WorkflowError(str(error)) from None

CONSTRUCTION_JOBS = constructions_sweep.jobs(config["constructions"])


wildcard_constraints:
    study=r"[a-z_]+",


rule construction:
    """One study of the constructions sweep at one N (in place of training: nothing is trained)."""
    output:
        "results/constructions/runs/{study}/N{length}.parquet",
    log:
        "results/constructions/runs/{study}/N{length}.log",
    conda:
        "../../envs/separations.yaml"
    threads: 1
    params:
        block=json.dumps(config["constructions"], sort_keys=True),
    shell:
        "OMP_NUM_THREADS=1 python -m separations.constructions.sweep run"
        " --study {wildcards.study} --length {wildcards.length}"
        " --config {params.block:q} --out {output} > {log} 2>&1"


rule constructions:
    """The constructions sweep in one schema-checked Parquet (committed, like training metrics)."""
    input:
        expand("results/constructions/runs/{job}.parquet", job=CONSTRUCTION_JOBS),
    output:
        "results/constructions/metrics.parquet",
    log:
        "results/constructions/aggregate.log",
    conda:
        "../../envs/separations.yaml"
    shell:
        "python -m separations.constructions.sweep aggregate --out {output} {input} > {log} 2>&1"
