# Helpers of the critical-width rules (workflow/rules/critical_width.smk): the study's job
# table, built once when the workflow is parsed, and the functions its rules call.

from separations import critical_width as critical_width_study  # noqa: E402

CRITICAL_WIDTH_JOBS = {
    study: critical_width_study.study_jobs(config, study)
    for study in (config.get("critical_width") or {})
}


def critical_width_job(wildcards):
    """The spec of the critical-width job that the wildcards name."""
    key = f"{wildcards.model}/N{wildcards.length}"
    try:
        return CRITICAL_WIDTH_JOBS[wildcards.sweep][key]
    except KeyError:
        raise WorkflowError(
            f"config.yaml critical_width.{wildcards.sweep} has no job {key!r}"
        ) from None


def critical_width_outputs(sweep):
    """Per-job files of a sweep's critical-width study."""
    if sweep not in CRITICAL_WIDTH_JOBS:
        raise WorkflowError(
            f"config.yaml has no critical_width study for sweep {sweep!r}"
        )
    return [
        f"results/{sweep}/critical_width/runs/{job}/metrics.parquet"
        for job in CRITICAL_WIDTH_JOBS[sweep]
    ]


def critical_width_eval_set(wildcards):
    """Size and seed of the study's evaluation sets at N (the same for all its jobs)."""
    spec = next(
        (
            s
            for s in CRITICAL_WIDTH_JOBS.get(wildcards.sweep, {}).values()
            if s.length == int(wildcards.length)
        ),
        None,
    )
    if spec is None:
        raise WorkflowError(
            f"critical_width.{wildcards.sweep} has no job at N={wildcards.length}"
        )
    return eval_set_params(spec)
