# The separations pipeline: data -> training -> aggregation -> figures and tables -> paper.
#
#   snakemake --cores 2        train the configured sweep (default: cpu) and build the paper
#   snakemake figures          figures and tables from the committed results/ (no training)
#   snakemake paper            the paper from the committed results/ (no training)
#   snakemake --profile slurm  the same on a SLURM cluster
#
# All logic lives in the `separations` package (src/separations); the rules only call it.


from snakemake.utils import min_version, validate

# Planning the paper grid (~5,000 jobs) allocates millions of short-lived objects; with
# CPython's default thresholds its cyclic collector rescans the long-lived ones over and over.
import gc

gc.freeze()
gc.set_threshold(50_000, 20, 100)

min_version("9.0")


# config.yaml (and any --configfile): read strictly and validated, one line per refusal
include: "workflow/rules/config.smk"
include: "workflow/rules/common.smk"
include: "workflow/rules/cluster.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/constructions.smk"
include: "workflow/rules/critical_width.smk"
include: "workflow/rules/istree.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/paper.smk"


rule all:
    """Train every job of the configured sweep, then build figures, tables and the paper."""
    default_target: True
    input:
        runs=run_outputs(SWEEP),
        istree=istree_run_outputs(SWEEP),
        paper="paper/main.pdf",
