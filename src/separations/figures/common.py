"""Shared plotting: paper-style heatmaps and training curves, atomic saving, the CLI."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from ..results import load_results, write_atomic  # noqa: E402
from ..summary import best_over_lr, model_label  # noqa: E402

sns.set_theme(context="paper", style="whitegrid", font_scale=0.9)


def label_order(best: pd.DataFrame) -> list[str]:
    """Transformers first, then by family, depth and width."""
    rows = best.drop_duplicates("label").sort_values(
        ["model", "depth", "width"],
        key=lambda s: s.map({"transformer": "0"}).fillna(s.astype(str)) if s.name == "model" else s,
    )
    return list(rows["label"])


def n_models(metrics: pd.DataFrame, task: str) -> int:
    """Distinct model shapes trained on ``task`` (to size a heatmap)."""
    return len(metrics.loc[metrics["task"] == task, ["model", "depth", "width"]].drop_duplicates())


def accuracy_heatmap(ax, metrics: pd.DataFrame, task: str, title: str) -> None:
    """Best-over-learning-rate accuracy, model × N (paper 1, Fig. 2 left)."""
    best = best_over_lr(metrics[metrics["task"] == task])
    if best.empty:
        return empty(ax, f"no {task} results in this sweep")
    grid = best.pivot_table(index="label", columns="length", values="acc", aggfunc="max")
    grid = grid.reindex(label_order(best))
    sns.heatmap(
        grid * 100,
        ax=ax,
        annot=True,
        fmt=".0f",
        vmin=0,
        vmax=100,
        cmap="viridis",
        cbar_kws={"label": "accuracy (%)"},
        linewidths=0.5,
    )
    ax.set_xlabel("N (evaluation length)")
    ax.set_ylabel("")
    for label in ax.get_yticklabels():  # model labels read across (seaborn turns crowded ones)
        label.set_rotation(0)
    ax.set_title(title)


def training_curves(
    ax, metrics: pd.DataFrame, task: str, length: int | None, title: str
) -> int | None:
    """Validation accuracy vs step of each model's best learning rate at one N (Fig. 2 middle).

    With ``length=None`` or a length the sweep lacks, the largest N of the task is used; the N
    drawn is returned.
    """
    df = metrics[metrics["task"] == task]
    if df.empty:
        empty(ax, f"no {task} results in this sweep")
        return None
    if length not in set(df["length"]):
        length = int(df["length"].max())
    df = df[df["length"] == length]
    best = best_over_lr(df)
    for _, cell in best.iterrows():
        runs = df[
            (df["model"] == cell.model)
            & (df["depth"] == cell.depth)
            & (df["width"] == cell.width)
            & (df["lr"] == cell.best_lr)
        ]
        if cell.model == "transformer":
            runs = runs[runs["heads"].fillna(0) == cell.heads]
        curve = runs.groupby("step")["val_acc"].mean()
        ax.plot(
            curve.index,
            curve.values * 100,
            marker=".",
            label=f"{model_label(cell.model, cell.depth, cell.width)}, lr {cell.best_lr:g}",
        )
    chance = 100.0 * float(df["chance"].max())
    if chance > 0:
        ax.axhline(chance, color="grey", linestyle=":", linewidth=1, label="chance")
    ax.set_xlabel("training step")
    ax.set_ylabel("validation accuracy (%)")
    ax.set_ylim(-2, 102)
    ax.set_title(f"{title}, N = {length}")
    ax.legend(fontsize="small", loc="best")
    return length


def empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


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
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a result table (names as in config.yaml `results`)",
    )
    parser.add_argument("--out", required=True, help="figure file (.pdf or .png)")
    args = parser.parse_args(argv)
    save(draw(load_results(args.input)), args.out)
    print(f"wrote {args.out}")
    return 0
