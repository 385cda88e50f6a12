# Shared helpers: the sweep tables, built once when the workflow is parsed (the config was
# validated by config.smk, included before this file).

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from separations import config as sweep_config  # noqa: E402
from separations.cost import config_part as cost_config_part  # noqa: E402
from separations.specs import eval_set_params  # noqa: E402

SWEEP = config["sweep"]
JOBS = {name: sweep_config.job_specs(config, name) for name in config["sweeps"]}

# The rules call the package of this checkout, whether or not it is installed.
SRC = Path(workflow.basedir) / "src"
shell.prefix(f"export PYTHONPATH={SRC}" + "${{PYTHONPATH:+:$PYTHONPATH}}; ")


# sweep names only, so that results/constructions/... is never taken for a sweep's output
SWEEP_NAMES = sorted(
    set(config["sweeps"]) | set((config.get("istree") or {}).get("sweeps", {})),
    key=len,
    reverse=True,
)


wildcard_constraints:
    sweep="|".join(re.escape(name) for name in SWEEP_NAMES),
    task=r"[a-z0-9_-]+",
    model=r"[a-z0-9_-]+",
    shape=r"d\d+-w\d+(-h\d+)?",
    length=r"\d+",
    name=r"[a-z0-9_]+",


def job_of(wildcards):
    """The spec of the training job that the wildcards name."""
    key = f"{wildcards.task}/{wildcards.model}/{wildcards.shape}/N{wildcards.length}"
    try:
        return JOBS[wildcards.sweep][key]
    except KeyError:
        raise WorkflowError(f"sweep {wildcards.sweep!r} has no job {key!r}") from None


def run_outputs(sweep):
    """Per-job metrics files of a sweep (what `all` asks for, so that it trains)."""
    return [f"results/{sweep}/runs/{job}/metrics.parquet" for job in JOBS[sweep]]


def eval_set_spec(wildcards):
    """Size and seed of the evaluation set of (sweep, task, N), shared by the sweep's jobs."""
    matching = [
        spec
        for spec in JOBS[wildcards.sweep].values()
        if spec.task == wildcards.task and spec.length == int(wildcards.length)
    ]
    if not matching:
        raise WorkflowError(
            f"sweep {wildcards.sweep!r} has no job for task {wildcards.task!r} at N={wildcards.length}"
        )
    return eval_set_params(matching[0])


# Result tables and paper artefacts.
def result_paths(templates):
    """The files of one result table: a template or a list of them, for the reported sweep."""
    templates = [templates] if isinstance(templates, str) else templates
    return list(dict.fromkeys(path.format(sweep=SWEEP) for path in templates))


RESULTS = {name: result_paths(paths) for name, paths in config["results"].items()}
FIGURES = expand("paper/figures/{name}.pdf", name=list(config["figures"]))
TABLES = ["paper/generated/numbers.tex", "paper/generated/claims.tex"]


def result_inputs(names):
    """Snakemake inputs {name: paths} of the named result tables."""
    return {name: RESULTS[name] for name in names}


def input_flags(names):
    """``--input NAME=PATH`` per file; a table of several files repeats its name."""
    return " ".join(
        f"--input {name}={path}" for name in names for path in RESULTS[name]
    )
