# The configuration, read and checked before any rule exists (src/separations/config.py): the
# config files are read strictly (a YAML error names its file and line, a key given twice is
# refused), values given with --config get their YAML types, and every block is validated. A bad
# configuration stops Snakemake here with one line naming the key, the value and what is allowed.

import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from separations import config as sweep_config  # noqa: E402
from snakemake_interface_executor_plugins.settings import ExecMode  # noqa: E402

# A Snakemake killed by SIGKILL (or a power loss) leaves its locks behind: say what to do.
if (
    workflow.exec_mode == ExecMode.DEFAULT
    and "--unlock" not in sys.argv
    and any(Path(".snakemake/locks").glob("*.lock"))
):
    print(
        "Found a lock in .snakemake/locks. If no other Snakemake runs in this folder (the last"
        " one was killed), run `snakemake --unlock`, then start again: training jobs it had"
        " started keep running until done (stop them with `pkill -f separations.train`), and"
        " the next run resumes from their checkpoints with identical results (docs/cluster.md).",
        file=sys.stderr,
    )

try:
    sweep_config.check_files(["config.yaml", *workflow.overwrite_configfiles])
except sweep_config.ConfigError as error:
    raise WorkflowError(str(error)) from None


configfile: "config.yaml"


try:
    sweep_config.command_line_values(config, workflow.config_settings.config)
    sweep_config.validate(config)
except sweep_config.ConfigError as error:
    raise WorkflowError(str(error)) from None
