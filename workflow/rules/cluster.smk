# Running on SLURM (`snakemake --profile slurm`; docs/cluster.md): the `cluster` block of
# config.yaml, the resources of training jobs, and the rules that always run on the submitting
# machine. Local runs (`snakemake --cores 2`) ignore all of it.

from separations import resources as job_resources  # noqa: E402

if config.get("cluster") is None:
    config["cluster"] = {}
validate(config["cluster"], str(sweep_config.SCHEMAS / "cluster.schema.json"))
CLUSTER = config["cluster"]
# (its values are checked with the rest of config.yaml: separations.config)


# Data, aggregation, figures, tables and the paper are light: never submitted.
localrules:
    validation_set,
    test_set,
    aggregate,
    istree_evaluation_set,
    istree_test_set,
    istree_aggregate,
    constructions,
    figure,
    tables,
    paper,
    all,
    figures,


TRAIN_DEVICE = "gpu" if CLUSTER["gpus"] else "cpu"


def train_bundle_shape(threads):
    """(width, layers) of a bundle of training jobs (separations.resources.bundle_shape): the
    profile's group-components and --cores, as this Snakemake was started with."""
    settings = getattr(workflow, "group_settings", None)
    components = getattr(settings, "group_components", None) or {}
    cores = workflow.resource_settings.cores
    return job_resources.bundle_shape(components.get("train", 1), cores, threads)


def _train_minutes(wildcards, attempt):
    settings = CLUSTER["runtime"]
    return job_resources.runtime_minutes(
        job_of(wildcards),
        attempt,
        device=TRAIN_DEVICE,
        margin=settings["margin"],
        startup_minutes=settings["startup_minutes"],
        growth=settings["growth"],
        min_minutes=settings["min_minutes"],
        max_minutes=settings["max_minutes"],
    )


def train_group(wildcards):
    """Every training job joins the group `train`, which the profile bundles.

    Only for cluster execution (and dry runs, which show what a cluster would get): a local run
    schedules every job on its own, as it always did. A bundle asks for its jobs' summed time up
    to the partition's limit; a bundle that runs out of time is retried, and its jobs resume from
    their checkpoints (finished runs are never trained again), so bundling never loses work.
    """
    if workflow.local_exec and not workflow.dryrun:
        return None
    width, layers = train_bundle_shape(job_of(wildcards).threads)
    return "train" if width * layers > 1 else None


def train_runtime(wildcards, attempt):
    """Minutes of wall-clock time for this attempt of a training job (grows per attempt)."""
    minutes = _train_minutes(wildcards, attempt)
    if train_group(wildcards) is None:
        return minutes
    # in a bundle: room for the jobs run one after another, and the bundle within the limit
    width, layers = train_bundle_shape(job_of(wildcards).threads)
    return job_resources.bundled_minutes(
        minutes, width, layers, CLUSTER["runtime"]["max_minutes"]
    )


def train_mem_mb(wildcards):
    mb = job_resources.mem_mb(job_of(wildcards), TRAIN_DEVICE) * CLUSTER["mem_factor"]
    return int(-(-mb // 256) * 256)


def slurm_placement():
    """Resources naming where a job runs: only the ones the cluster block sets."""
    placement = {}
    if CLUSTER["partition"]:
        placement["slurm_partition"] = CLUSTER["partition"]
    if CLUSTER["account"]:
        placement["slurm_account"] = CLUSTER["account"]
    if CLUSTER["gpus"]:
        placement["gpu"] = CLUSTER["gpus"]
    if CLUSTER["gpu_model"]:
        placement["gpu_model"] = CLUSTER["gpu_model"]
    if CLUSTER["signal_seconds"]:
        # Steps (not the batch shell) get SIGTERM: Snakemake inside the job waits for its jobs,
        # and the trainer checkpoints and exits; see docs/cluster.md.
        placement["slurm_extra"] = f"--signal=TERM@{CLUSTER['signal_seconds']}"
    return placement


SLURM_PLACEMENT = slurm_placement()
