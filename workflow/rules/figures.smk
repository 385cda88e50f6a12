rule figures:
    """Every figure and table of the paper, drawn from the cached results (no training)."""
    input:
        FIGURES,
        TABLES,


rule figure:
    """One figure: src/separations/figures/<name>.py."""
    input:
        unpack(lambda wildcards: result_inputs(config["figures"][wildcards.name])),
    output:
        "paper/figures/{name}.pdf",
    log:
        "paper/figures/{name}.log",
    conda:
        "../../envs/separations.yaml"
    params:
        inputs=lambda wildcards: input_flags(config["figures"][wildcards.name]),
        verdicts=json.dumps(config["verdicts"], sort_keys=True),
    shell:
        "python -m separations.figures.{wildcards.name} {params.inputs} --out {output}"
        " --verdicts {params.verdicts:q} > {log} 2>&1"


rule tables:
    """Claims table with computed verdicts, and the numbers the text quotes."""
    input:
        **RESULTS,
    output:
        TABLES,
    log:
        "paper/generated/tables.log",
    conda:
        "../../envs/separations.yaml"
    params:
        inputs=input_flags(RESULTS),
        sweep=SWEEP,
        verdicts=json.dumps(config["verdicts"], sort_keys=True),
        cost=lambda wildcards: json.dumps(cost_config_part(config), sort_keys=True),
    shell:
        "python -m separations.report {params.inputs} --sweep {params.sweep}"
        " --verdicts {params.verdicts:q} --cost-config {params.cost:q}"
        " --outdir paper/generated > {log} 2>&1"
