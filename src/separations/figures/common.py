"""Shared plotting: paper-style heatmaps and training curves, atomic saving, the CLI.

Accuracy heatmaps colour the accuracy *above chance*, (acc - chance) / (1 - chance) clipped to
[0, 1], on one fixed scale, so chance and a solved cell have the same colours for every task; each
cell is annotated with the raw test accuracy (%) and its interval, in bold when the cell is solved
(interval above the threshold), in italics when borderline, plain when failed; ``*`` marks a cell
whose failure cannot count (learning rate at the edge of its grid, or still improving).
"""

from __future__ import annotations

import argparse
import inspect
import json
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from cycler import cycler  # noqa: E402

from ..results import add_input_option, load_results, write_atomic  # noqa: E402
from ..summary import BORDERLINE, SOLVED, cells  # noqa: E402
from ..tables import RESULT_SCHEMAS  # noqa: E402

#: seaborn's theme ``set_theme(context="paper", style="whitegrid", font_scale=0.9)`` with its
#: "deep" palette, as matplotlib settings: importing seaborn (and, through it, scipy.stats) costs
#: every figure process a second, so only the heatmaps import it, when they draw (its default
#: colour map, "rocket", is left out: every colour map here is named).
#: tests/test_figures_theme.py checks this against seaborn's own.
THEME = {
    "axes.axisbelow": True,
    "axes.edgecolor": ".8",
    "axes.grid": True,
    "axes.labelcolor": ".15",
    "axes.labelsize": 8.640000000000002,
    "axes.linewidth": 1.0,
    "axes.prop_cycle": cycler(
        color=[
            (0.2980392156862745, 0.4470588235294118, 0.6901960784313725),
            (0.8666666666666667, 0.5176470588235295, 0.3215686274509804),
            (0.3333333333333333, 0.6588235294117647, 0.40784313725490196),
            (0.7686274509803922, 0.3058823529411765, 0.3215686274509804),
            (0.5058823529411764, 0.4470588235294118, 0.7019607843137254),
            (0.5764705882352941, 0.47058823529411764, 0.3764705882352941),
            (0.8549019607843137, 0.5450980392156862, 0.7647058823529411),
            (0.5490196078431373, 0.5490196078431373, 0.5490196078431373),
            (0.8, 0.7254901960784313, 0.4549019607843137),
            (0.39215686274509803, 0.7098039215686275, 0.803921568627451),
        ]
    ),
    "axes.titlesize": 8.640000000000002,
    "font.sans-serif": [
        "Arial",
        "DejaVu Sans",
        "Liberation Sans",
        "Bitstream Vera Sans",
        "sans-serif",
    ],
    "font.size": 8.640000000000002,
    "grid.color": ".8",
    "legend.fontsize": 7.920000000000001,
    "legend.title_fontsize": 8.640000000000002,
    "lines.linewidth": 1.2000000000000002,
    "lines.markersize": 4.800000000000001,
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    "patch.linewidth": 0.8,
    "text.color": ".15",
    "xtick.bottom": False,
    "xtick.color": ".15",
    "xtick.labelsize": 7.920000000000001,
    "xtick.major.size": 4.800000000000001,
    "xtick.major.width": 1.0,
    "xtick.minor.size": 3.2,
    "xtick.minor.width": 0.8,
    "ytick.color": ".15",
    "ytick.labelsize": 7.920000000000001,
    "ytick.left": False,
    "ytick.major.size": 4.800000000000001,
    "ytick.major.width": 1.0,
    "ytick.minor.size": 3.2,
    "ytick.minor.width": 0.8,
}
#: seaborn's theme also recolours matplotlib's one-letter colour codes ("k--" is its dark grey)
COLOR_CODES = {
    "b": THEME["axes.prop_cycle"].by_key()["color"][0],
    "g": THEME["axes.prop_cycle"].by_key()["color"][2],
    "r": THEME["axes.prop_cycle"].by_key()["color"][3],
    "m": THEME["axes.prop_cycle"].by_key()["color"][4],
    "y": THEME["axes.prop_cycle"].by_key()["color"][8],
    "c": THEME["axes.prop_cycle"].by_key()["color"][9],
    "k": (0.1, 0.1, 0.1),
}
plt.rcParams.update(THEME)
matplotlib.colors.colorConverter.colors.update(COLOR_CODES)
matplotlib.colors.colorConverter.cache.clear()

#: colourbar label of every accuracy heatmap (the normalised scale)
ABOVE_CHANCE = "accuracy above chance\n(0 = chance, 1 = perfect)"
#: text style of a heatmap annotation by the cell's status
STATUS_STYLE = {SOLVED: {"fontweight": "bold"}, BORDERLINE: {"fontstyle": "italic"}}


def family_key(model: str) -> str:
    """Sort key of a family in figures: the registry's non-recurrent families (Transformers)
    first, then the recurrent ones, each group by name."""
    from ..families import FAMILIES

    family = FAMILIES.get(model)
    return ("0" if family is not None and not family.recurrent else "1") + str(model)


def label_order(best: pd.DataFrame) -> list[str]:
    """Transformers first, then by family, depth and width."""
    rows = best.drop_duplicates("label").sort_values(
        ["model", "depth", "width"],
        key=lambda s: s.map(family_key) if s.name == "model" else s,
    )
    return list(rows["label"])


def n_models(metrics: pd.DataFrame, task: str) -> int:
    """Distinct model shapes trained on ``task`` (to size a heatmap)."""
    return len(metrics.loc[metrics["task"] == task, ["model", "depth", "width"]].drop_duplicates())


def tasks_present(metrics: pd.DataFrame | None, tasks) -> list:
    """The entries of ``tasks`` (names, or tuples whose first item is the name) with results."""
    have = set() if metrics is None or metrics.empty else set(metrics["task"])
    return [t for t in tasks if (t[0] if isinstance(t, tuple) else t) in have]


def percent(x: float) -> str:
    """A proportion in %, one decimal; "100" and "0" only when exact (99.96% reads 99.9)."""
    if x >= 1:
        return "100"
    if x <= 0:
        return "0"
    return f"{100 * x:.1f}" if 100 * x < 99.95 else "99.9"


def above_chance(acc, chance):
    """(acc - chance) / (1 - chance), clipped to [0, 1]: 0 is chance, 1 is perfect."""
    span = np.maximum(1.0 - np.asarray(chance, dtype=float), 1e-12)
    return np.clip((np.asarray(acc, dtype=float) - np.asarray(chance, dtype=float)) / span, 0, 1)


def heatmap(
    ax,
    grid: pd.DataFrame,
    annot: pd.DataFrame | None = None,
    *,
    vmin: float = 0.0,
    vmax: float = 1.0,
    cmap: str = "viridis",
    cbar_label: str = ABOVE_CHANCE,
    styles: pd.DataFrame | None = None,
    fontsize: float | None = None,
    cbar: bool = True,
):
    """The one seaborn heatmap of the paper: ``grid`` coloured on [vmin, vmax], each cell
    annotated with the string in ``annot`` (none where it is missing) and styled with the text
    properties (a dict) in ``styles``; row labels read across; ``cbar=False`` leaves out the
    colourbar (panels that share one scale)."""
    import seaborn as sns  # here, not at the top: see THEME

    kws = {"fontsize": fontsize} if fontsize else {}
    sns.heatmap(
        grid.astype(float),
        ax=ax,
        annot=annot.fillna("").to_numpy() if annot is not None else False,
        fmt="",
        annot_kws=kws,
        vmin=vmin,
        vmax=vmax,
        cmap=cmap,
        cbar=cbar,
        cbar_kws={"label": cbar_label} if cbar else None,
        linewidths=0.5,
    )
    if styles is not None:
        for text in ax.texts:  # seaborn puts each annotation at the centre of its cell
            x, y = text.get_position()
            style = styles.iat[int(y), int(x)]
            if isinstance(style, dict):
                text.set(**style)
    for label in ax.get_yticklabels():  # row labels read across (seaborn turns crowded ones)
        label.set_rotation(0)
    return ax


def cell_annotation(row) -> str:
    """``99.8\\n[99.5, 100]``; ``*`` after the accuracy when the cell is not solved and a
    failure cannot count (learning rate at the grid's edge, or still improving)."""
    flagged = bool(row.get("at_edge", False)) or bool(row.get("improving", False))
    flag = "*" if flagged and row.get("status") != SOLVED else ""
    return f"{percent(row.acc)}{flag}\n[{percent(row.low)}, {percent(row.high)}]"


def cell_heatmap(ax, best: pd.DataFrame, order: list[str] | None = None, cbar: bool = True) -> None:
    """Cells (rows of :func:`separations.summary.cells`) as a model × N heatmap on the
    above-chance scale, annotated with test accuracy and interval, styled by status."""
    best = best.assign(
        norm=above_chance(best["acc"], best["chance"]),
        text=[cell_annotation(r) for _, r in best.iterrows()],
        style=[STATUS_STYLE.get(s, {}) for s in best["status"]],
    )
    best = best.drop_duplicates(["label", "length"], keep="last")
    order = order or label_order(best)

    def grid(column):
        return best.pivot(index="label", columns="length", values=column).reindex(order)

    heatmap(ax, grid("norm"), grid("text"), styles=grid("style"), fontsize=7, cbar=cbar)
    ax.set_xlabel("N (evaluation length)")
    ax.set_ylabel("")


#: how a reading note under a panel or figure is set: small and grey
NOTE_STYLE = {"fontsize": "x-small", "color": "0.3"}


def figure_note(fig, text: str) -> None:
    """A reading note centred under the whole figure."""
    fig.text(0.5, -0.02, text, ha="center", va="top", **NOTE_STYLE)


def encoding_note(ax, best: pd.DataFrame) -> None:
    """How to read a cell heatmap, under its axes."""
    threshold = f"{100 * float(best['threshold'].max()):g}"
    flagged = any(cell_annotation(row).split("\n")[0].endswith("*") for _, row in best.iterrows())
    text = (
        f"test accuracy (%) [95% interval]; bold: solved, italic: borderline, plain: failed "
        f"(interval vs threshold {threshold}%)"
    )
    if flagged:
        text += "\n* learning rate at the grid's edge or still improving: a failure does not count"
    ax.annotate(
        text,
        xy=(0, 0),
        xycoords="axes fraction",
        xytext=(0, -30),
        textcoords="offset points",
        va="top",
        ha="left",
        **NOTE_STYLE,
    )


def accuracy_heatmap(
    ax, metrics: pd.DataFrame, task: str, title: str, note: bool = True, cbar: bool = True
) -> bool:
    """Test accuracy at the validation-chosen learning rate, model × N (paper 1, Fig. 2 left);
    False (and nothing drawn) when the task has no results."""
    best = cells(metrics[metrics["task"] == task])
    if best.empty:
        return False
    cell_heatmap(ax, best, cbar=cbar)
    ax.set_title(title)
    if note:
        encoding_note(ax, best)
    return True


def separating_length(best: pd.DataFrame) -> tuple[int, bool]:
    """The longest N at which some cell is solved and another failed; without one, the longest
    N present. Returns (N, whether it separates)."""
    split = [
        int(n)
        for n, part in best.groupby("length")
        if (part["status"] == SOLVED).any() and (part["status"] == "failed").any()
    ]
    if split:
        return max(split), True
    return int(best["length"].max()), False


def seed_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Validation accuracy, step × seed, of one learning rate's runs; a run that stopped because
    it was solved keeps its last value to the longest run's last step."""
    table = runs.pivot_table(index="step", columns="seed", values="val_acc", aggfunc="mean")
    table = table.sort_index()
    for seed in table.columns:
        mine = runs[runs["seed"] == seed].sort_values("step")
        if bool(mine["solved"].iloc[-1]):
            last = mine["step"].iloc[-1]
            table.loc[table.index > last, seed] = float(mine["val_acc"].iloc[-1])
    return table


def training_curves(ax, metrics: pd.DataFrame, task: str, title: str) -> int | None:
    """Validation accuracy vs step of each model at its chosen learning rate (paper 1, Fig. 2
    middle): the mean over seeds, with a band from the lowest to the highest seed, at the length
    :func:`separating_length` chooses. Returns that N (None, nothing drawn, without results)."""
    df = metrics[metrics["task"] == task].copy()
    if df.empty:
        return None
    df["heads"] = df["heads"].fillna(0).astype(int)
    best = cells(df)
    length, separates = separating_length(best)
    df = df[df["length"] == length]
    best = best[best["length"] == length]
    best = best.set_index("label").loc[label_order(best)].reset_index()
    for i, cell in enumerate(best.itertuples()):
        runs = df[
            (df["model"] == cell.model)
            & (df["depth"] == cell.depth)
            & (df["width"] == cell.width)
            & (df["heads"] == cell.heads)
            & (df["lr"] == cell.best_lr)
        ]
        curve = seed_curves(runs) * 100
        colour = f"C{i}"
        mean = curve.mean(axis=1)
        ax.plot(
            curve.index,
            mean,
            marker=".",
            color=colour,
            label=f"{cell.label}, lr {cell.best_lr:g} ({cell.seeds} seeds)",
        )
        ax.fill_between(curve.index, curve.min(axis=1), curve.max(axis=1), color=colour, alpha=0.2)
    reference_lines(ax, 100.0 * float(best["chance"].max()), 100.0 * float(best["threshold"].max()))
    why = "longest N that separates" if separates else "longest N; no separation"
    label_panel(
        ax,
        f"{title}, N = {length}\n({why})",
        "validation accuracy (%)\nmean over seeds, band: min-max",
        (-2, 102),
        xlabel="training step",
    )
    return length


def curves_figure(results: dict, task: str, title: str, name: str):
    """Paper 1, Fig. 2 (middle, right): :func:`training_curves` of ``task`` in a figure of its
    own. Each model at its validation-chosen learning rate: mean over seeds, band from the lowest
    to the highest seed, at the longest N where the models separate (one solved, another failed),
    else the longest N trained; chance dotted, the threshold dashed. Without results, a note that
    there are none for ``name``."""
    metrics = results["metrics"]
    if not tasks_present(metrics, [task]):
        return note_figure(f"No {name} results in this sweep.")
    fig, ax = plt.subplots(figsize=(4.8, 3.4))
    training_curves(ax, metrics, task, title)
    return fig


def task_heatmap_figure(results: dict, task: str, title: str, name: str):
    """Paper 1, Fig. 2 (left): :func:`accuracy_heatmap` of ``task``, its height by the number of
    model shapes; without results, a note that there are none for ``name``."""
    rows = n_models(results["metrics"], task)
    if not rows:
        return note_figure(f"No {name} results in this sweep.")
    fig, ax = plt.subplots(figsize=(5.6, 1.3 + 0.55 * max(rows, 2)))
    accuracy_heatmap(ax, results["metrics"], task, title)
    return fig


def reference_lines(ax, chance: float, threshold: float | None = None) -> None:
    """Chance dotted and, when given, the threshold dashed (both in %), each in the legend."""
    ax.axhline(chance, color="grey", linestyle=":", linewidth=1, label="chance")
    if threshold is not None:
        ax.axhline(threshold, color="black", linestyle="--", linewidth=0.8, label="threshold")


def label_panel(ax, title: str, ylabel: str, ylim, *, xlabel="N", legend="x-small", loc="best"):
    """A line panel's axis labels, y range, title and legend."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_ylim(*ylim)
    ax.set_title(title)
    ax.legend(fontsize=legend, loc=loc)


def empty(ax, message: str) -> None:
    """A panel that only says ``message`` (used when a whole figure has no data)."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def note_figure(message: str, figsize=(4.8, 1.2)):
    """A figure with no data: one short centred note, so the paper still gets a valid PDF."""
    fig, ax = plt.subplots(figsize=figsize)
    empty(ax, message)
    return fig


def save(fig, out: str | Path) -> None:
    fmt = Path(out).suffix.lstrip(".") or "pdf"
    write_atomic(out, lambda tmp: fig.savefig(tmp, format=fmt, bbox_inches="tight"))
    plt.close(fig)


def cli(
    draw: Callable[[dict[str, pd.DataFrame]], plt.Figure],
    doc: str | None,
    argv: list[str] | None = None,
) -> int:
    """Command line of a figure script: ``--input NAME=PATH ... --out FILE``."""
    parser = argparse.ArgumentParser(description=doc)
    add_input_option(parser)
    parser.add_argument("--out", required=True, help="figure file (.pdf or .png)")
    parser.add_argument(
        "--verdicts",
        type=json.loads,
        help="config.yaml's verdicts block as JSON (thresholds, interval level), for the figures "
        "whose draw() takes settings",
    )
    args = parser.parse_args(argv)
    results = load_results(args.input, RESULT_SCHEMAS)
    wants_settings = "settings" in inspect.signature(draw).parameters
    fig = draw(results, settings=args.verdicts) if wants_settings else draw(results)
    save(fig, args.out)
    print(f"wrote {args.out}")
    return 0
