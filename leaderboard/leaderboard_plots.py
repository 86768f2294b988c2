"""The leaderboard's figures (PNG bytes, rendered in memory with matplotlib's Agg backend)."""
from __future__ import annotations

import io

import numpy as np


def curves_png(table: dict) -> bytes | None:
    """Learning curves of a single-env table: mean MSRE over seeds per block (log scale),
    with the reference T-BPTT final error and the oracle floor as dashed lines."""
    if not table["rows"]:
        return None
    plt = _pyplot()
    env_id = table["env_ids"][0]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    reference = oracle = None
    for row in table["rows"]:
        result = row["entry"]["results"][env_id]
        curve = np.mean(np.array(result["curves"]), axis=0)
        steps = (np.arange(len(curve)) + 1) * result["curve_window"]
        ax.plot(steps, np.maximum(curve, 1e-12), label=label(row["entry"]["method_name"]), linewidth=1.2)
        reference = result["reference_msre"]
        if result["oracle_ratio"] is not None:
            oracle = float(np.mean(np.array(result["final_msre"]) / np.array(result["oracle_ratio"])))
    ax.axhline(reference, color="black", linestyle="--", linewidth=0.8, label="reference T-BPTT (final)")
    if oracle:
        ax.axhline(oracle, color="grey", linestyle=":", linewidth=0.8, label="oracle floor (final)")
    ax.set(yscale="log", xlabel="step", ylabel="MSRE (mean over seeds)", title=label(table["title"]))
    ax.legend(fontsize=7, loc="best")
    return _png(fig)


def normalised_png(table: dict) -> bytes | None:
    """Normalised error per method (mean over seeds ± SE; log scale), best at the top, with
    T-BPTT's 1 as a dashed line; entries not yet verified are hatched, failed ones grey."""
    if not table["rows"]:
        return None
    plt = _pyplot()
    rows = table["rows"][::-1]  # barh draws bottom-up: the first row at the top
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.2))
    for y, row in enumerate(rows):
        se, status = row.get("se"), row["status"]
        se = se if se is not None and np.isfinite(se) else None
        ax.barh(y, row["score"], xerr=se,
                color="#bbbbbb" if status == "failed" else f"C{y % 10}", hatch="//" if status == "unverified" else None,
                edgecolor="black", linewidth=0.4, capsize=2)
        ax.text(row["score"] + (se or 0.0), y, f"  {row['score']:.3g}", va="center", fontsize=7)  # past the error bar
    names = [label(r["entry"]["method_name"]) + {"verified": "", "unverified": "\n(not yet verified)",
                                                 "failed": "\n(verification failed)"}[r["status"]] for r in rows]
    ax.set_yticks(range(len(rows)), names, fontsize=8)
    ax.axvline(1.0, color="black", linestyle="--", linewidth=0.8)
    ax.set(xscale="log", xlabel="normalised error = MSRE / reference T-BPTT MSRE (lower is better)",
           title=label(table["title"]))
    _plain_log_ticks(ax, [r["score"] for r in rows])
    return _png(fig)


def _plain_log_ticks(ax, values: list[float]) -> None:
    """Log-scale x ticks at 1-2-5 steps labelled as plain numbers (no overlapping 10^x minor labels),
    with room on the right for the value labels."""
    from matplotlib.ticker import FixedLocator, NullFormatter, NullLocator

    low, high = min(min(values), 1.0) / 1.5, max(max(values), 1.0) * 2.5
    ticks = [m * 10.0 ** e for e in range(-6, 7) for m in (1, 2, 5) if low <= m * 10.0 ** e <= high]
    ax.set_xlim(low, high)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])


def per_game_png(table: dict) -> bytes | None:
    """Normalised error per game (mean over seeds, ± SE; log scale) for each row of an Atari-average table."""
    if not table["rows"]:
        return None
    plt = _pyplot()
    games = table["env_ids"]
    fig, ax = plt.subplots(figsize=(min(14, max(6, 0.35 * len(games) * len(table["rows"]) + 2)), 4.2))
    width = 0.8 / len(table["rows"])
    x = np.arange(len(games))
    for i, row in enumerate(table["rows"]):
        results = [row["entry"]["results"][g] for g in games]
        ax.bar(x + i * width, [r["normalised_mean"] for r in results], width,
               yerr=[np.nan_to_num(r["normalised_se"] or 0.0) for r in results], label=label(row["entry"]["method_name"]))
    ax.axhline(1.0, color="black", linestyle="--", linewidth=0.8)
    ax.set_xticks(x + 0.4 - width / 2, [label(g.split("/")[-1]) for g in games], rotation=60, ha="right", fontsize=7)
    ax.set(yscale="log", ylabel="error / T-BPTT error", title=label(table["title"]) + ", per game")
    ax.legend(fontsize=7)
    return _png(fig)


def label(text: str) -> str:
    """Text shown literally by matplotlib (``$`` would start math mode)."""
    return text.replace("\\", "\\\\").replace("$", r"\$")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()
