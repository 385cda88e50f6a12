"""The figures' theme (figures.common.THEME) is seaborn's paper theme, set without importing
seaborn: checked against seaborn itself, so an edit to either shows here."""

from __future__ import annotations

import matplotlib as mpl

mpl.use("Agg")


def test_the_theme_is_seaborns_paper_theme():
    import seaborn as sns

    from separations.figures.common import THEME

    with mpl.rc_context():
        mpl.rcdefaults()
        sns.set_theme(context="paper", style="whitegrid", font_scale=0.9)
        theirs = dict(mpl.rcParams)
    with mpl.rc_context():
        mpl.rcdefaults()
        mpl.rcParams.update(THEME)
        ours = dict(mpl.rcParams)
    differ = {k: (ours[k], theirs[k]) for k in theirs if ours[k] != theirs[k]}
    assert differ == {"image.cmap": ("viridis", "rocket")}  # every colour map here is named


def test_a_figure_process_does_not_import_seaborn_or_scipy_stats():
    import subprocess
    import sys

    code = (
        "import sys, separations.figures.idxl_curves, separations.figures.istree_accuracy;"
        "print(sorted(m for m in ('seaborn', 'scipy.stats') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_colour_codes_are_seaborns():
    """seaborn's theme recolours "bgrmyck" (a "k--" line is its dark grey): a fresh process of
    each, since the colour codes are global."""
    import subprocess
    import sys

    show = "import matplotlib.colors as c; print([c.to_rgb(x) for x in 'bgrmyck'])"
    theirs = "import seaborn as s; s.set_theme(context='paper', style='whitegrid', font_scale=0.9);"
    ours = "import separations.figures.common;"
    run = [subprocess.run([sys.executable, "-c", pre + show], capture_output=True, text=True)
           for pre in (theirs, ours)]  # fmt: skip
    assert run[0].returncode == run[1].returncode == 0
    assert run[0].stdout == run[1].stdout
