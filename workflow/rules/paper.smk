rule paper:
    """The LaTeX paper, built with latexmk from the generated figures and tables."""
    input:
        tex="paper/main.tex",
        sections=sorted(str(p) for p in Path("paper/sections").glob("*.tex")),
        figures=FIGURES,
        tables=TABLES,
    output:
        "paper/main.pdf",
    log:
        "paper/latexmk.log",
    conda:
        "../../envs/separations.yaml"
    shell:
        "latexmk -pdf -interaction=nonstopmode -halt-on-error -cd {input.tex} > {log} 2>&1"
        " && python -m separations.latexlog paper/main.log >> {log} 2>&1"
