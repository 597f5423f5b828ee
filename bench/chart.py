"""The chart of durable append throughput against concurrency (matplotlib, Agg backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LABELS = {
    "store": "SqliteEventStore + DomainRules (group commit)",
    "raw": "raw sqlite3 executemany, rows/txn = the store's batch",
    "eventsourcing": "eventsourcing library, SQLite, one save per event",
}
STYLES: dict[str, dict[str, Any]] = {
    "store": {"color": "#1f77b4", "marker": "o"},
    "raw": {"color": "#7f7f7f", "marker": "s", "linestyle": "--"},
    "eventsourcing": {"color": "#d62728", "marker": "^"},
}


def draw(sweep: dict[str, Any], path: Path, title_note: str = "") -> Path:
    """Plot events/s against concurrent appenders for each series; write a PNG at ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    levels = sweep["levels"]
    figure, axes = plt.subplots(figsize=(8, 5), dpi=120)
    for name, values in sweep["series"].items():
        axes.plot(levels, values, label=LABELS.get(name, name), linewidth=2, **STYLES.get(name, {}))
        axes.annotate(
            f"{values[-1]:,.0f}",
            (levels[-1], values[-1]),
            textcoords="offset points",
            xytext=(6, 0),
            va="center",
            fontsize=8,
        )
    for level, value, batch in zip(levels, sweep["series"]["store"], sweep["batches"], strict=True):
        axes.annotate(
            f"{batch:.0f}/txn",
            (level, value),
            textcoords="offset points",
            xytext=(0, -14),
            ha="center",
            fontsize=7,
            color=STYLES["store"]["color"],
        )
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xticks(levels)
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    # Plain numbers at 1-2-5 steps: a log axis's default labels mix 10,000 and 4x10^4.
    values = [value for series in sweep["series"].values() for value in series if value > 0]
    low, high = min(values) / 1.5, max(values) * 1.5
    ticks = [
        step * 10**exponent
        for exponent in range(0, 8)
        for step in (1, 2, 5)
        if low <= step * 10**exponent <= high
    ]
    axes.set_ylim(low, high)
    axes.yaxis.set_major_locator(FixedLocator(ticks))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    axes.yaxis.set_minor_formatter(NullFormatter())
    axes.set_xlim(levels[0] / 1.3, levels[-1] * 1.8)
    axes.set_xlabel("concurrent single-event appenders")
    axes.set_ylabel("durable events / second (log scale)")
    axes.text(
        0.99,
        0.02,
        "n/txn: appends per transaction the store's group commit took",
        transform=axes.transAxes,
        ha="right",
        fontsize=7,
        color=STYLES["store"]["color"],
    )
    title = "Durable appends: throughput against concurrency"
    axes.set_title(title + (f"\n{title_note}" if title_note else ""), fontsize=11)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="best")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)
    return path
