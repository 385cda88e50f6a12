# Paper 2 (IsTree) helpers: the `istree` block of config.yaml, validated and expanded into jobs
# once when the workflow is parsed (separations.istree.sweeps).

from separations.families import LM_FAMILIES  # noqa: E402
from separations.istree import sweeps as istree_sweeps  # noqa: E402
from separations.tasks.istree.formats import FORMATS  # noqa: E402

if config.get("istree") is not None:
    validate(config["istree"], str(sweep_config.SCHEMAS / "istree.schema.json"))
    try:
        ISTREE_JOBS = istree_sweeps.check(config["istree"])
    except sweep_config.ConfigError as error:
        raise WorkflowError(str(error)) from None
else:
    ISTREE_JOBS = {}


wildcard_constraints:
    fmt="|".join(FORMATS),
    family="|".join(LM_FAMILIES),
    size=r"[A-Za-z0-9.]+",
    n=r"\d+",


def istree_job(wildcards):
    """The spec of the IsTree training job that the wildcards name."""
    key = f"{wildcards.fmt}/{wildcards.family}/{wildcards.size}/n{wildcards.n}"
    try:
        return ISTREE_JOBS[wildcards.sweep][key]
    except KeyError:
        raise WorkflowError(
            f"sweep {wildcards.sweep!r} has no IsTree job {key!r}"
        ) from None


def istree_run_outputs(sweep):
    """Per-job IsTree results of a sweep (none when the sweep has no IsTree jobs)."""
    return [
        f"results/{sweep}/istree/runs/{job}/metrics.parquet"
        for job in ISTREE_JOBS.get(sweep, {})
    ]


def istree_eval_set(wildcards):
    """Size, seed and task parameters of the evaluation set of (sweep, format, n)."""
    sets = istree_sweeps.eval_sets(ISTREE_JOBS.get(wildcards.sweep, {}))
    key = f"{wildcards.fmt}/n{wildcards.n}"
    if key not in sets:
        raise WorkflowError(
            f"sweep {wildcards.sweep!r} has no IsTree job at format {wildcards.fmt} and"
            f" n={wildcards.n}"
        )
    return sets[key]
