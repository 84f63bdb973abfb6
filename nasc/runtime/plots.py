"""`nasc report --plot`: each store's trials by id on the metric people read, and the
controller's entropy and baseline per update.

    series(store) -> Series          what is drawn for one store (testable without matplotlib)
    plot(stores, out, window) -> path

The upper panel shows validation accuracy (or perplexity, or the reward when the trials
record neither) per trial id: finished trials as dots, pruned ones as rings at the
value they reached, failed ones as crosses along the bottom edge; a line for the best
so far and one for the mean of the last `window` finished trials (from the window-th
on). A second panel, drawn when a store has controller updates, shows the entropy
(left axis) and the REINFORCE baseline (right axis) per update; a last one, for a
search with --objectives, its trials on the first two objectives with the Pareto
front joined and named (a log axis for params, MACs and latency).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasc.errors import NascError
from nasc.runtime.store import Store

LABELS = {"acc": "validation accuracy", "ppl": "validation perplexity", "reward": "reward"}


@dataclass
class Series:
    """One store's points: trial ids and values of `kind` ("acc", "ppl" or "reward")."""

    label: str
    kind: str
    ids: list[int] = field(default_factory=list)  # finished trials, by id
    values: list[float] = field(default_factory=list)
    pruned: list[tuple[int, float]] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    steps: list[dict[str, Any]] = field(default_factory=list)  # controller updates

    def __repr__(self) -> str:
        return f"Series({self.label!r}, {self.kind}, {len(self.ids)} points)"

    def best(self) -> list[float]:
        """The best value so far at each point (lowest for perplexity)."""
        out: list[float] = []
        for v in self.values:
            out.append(v if not out else (min if self.kind == "ppl" else max)(out[-1], v))
        return out

    def mean(self, window: int) -> tuple[list[int], list[float]]:
        """The mean of the last `window` values, from the window-th point on."""
        ids = self.ids[window - 1:]
        return ids, [sum(self.values[k - window + 1:k + 1]) / window
                     for k in range(window - 1, len(self.values))]


def series(store: Store, kind: str | None = None) -> Series:
    """What `plot` draws for `store` (`kind` None: accuracy or perplexity if every finished
    trial has it, else the reward)."""
    from nasc.runtime.report import metric_of

    cfg = store.experiment()["config"]
    label = f"{cfg.get('strategy', {}).get('name', '?')} ({Path(store.path).name})"
    trials = store.trials()
    scored = [t for t in trials if t.status in ("done", "pruned")]
    if kind is None:
        kinds = {(metric_of(t) or ("reward", 0.0))[0] for t in scored}
        kind = kinds.pop() if len(kinds) == 1 else "reward"
    out = Series(label, kind, steps=store.controller_steps())
    for t in scored:
        found = metric_of(t)
        value = float(t.reward or 0.0) if kind == "reward" or found is None else found[1]
        if t.status == "pruned":
            out.pruned.append((t.id, value))
        else:
            out.ids.append(t.id)
            out.values.append(value)
    out.failed = [t.id for t in trials if t.status == "failed"]
    return out


def _title(stores: list[Store], all_series: list[Series]) -> str:
    if len(stores) > 1:
        return f"{len(stores)} searches: {LABELS[all_series[0].kind]} per trial"
    cfg = stores[0].experiment()["config"]
    s = all_series[0]
    best = f", best {s.best()[-1]:.4g}" if s.values else ""
    return (f"{cfg.get('strategy', {}).get('name', '?')} on {cfg.get('data')} "
            f"({Path(str(cfg.get('space'))).name}): {len(s.ids) + len(s.pruned)} finished, "
            f"{len(s.failed)} failed{best}")


def _draw_trials(ax: Any, s: Series, color: str, window: int) -> None:
    ax.scatter(s.ids, s.values, s=18, alpha=0.75, color=color, label=f"{s.label}: trials")
    if s.pruned:
        ax.scatter([i for i, _ in s.pruned], [v for _, v in s.pruned], s=22,
                   facecolors="none", edgecolors=color, label=f"{s.label}: pruned")
    if s.failed:  # along the bottom edge, whatever the axis' range
        ax.scatter(s.failed, [0.02] * len(s.failed), marker="x", s=22, color=color,
                   transform=ax.get_xaxis_transform(), label=f"{s.label}: failed")
    if s.values:
        ax.step(s.ids, s.best(), where="post", color=color, linewidth=1.5,
                label=f"{s.label}: best so far")
    ids, mean = s.mean(window)
    if ids:
        ax.plot(ids, mean, color=color, linestyle=":", label=f"{s.label}: mean of last {window}")


@dataclass
class Front:
    """A multi-objective store's points on its first two objectives, and its front."""

    axes: list[tuple[str, str]]  # (metric, "max" | "min") for x and y
    points: dict[int, tuple[float, float]]  # trial id -> (x, y)
    front: list[int]  # ids, by x

    def __repr__(self) -> str:
        return f"Front({self.axes}, {len(self.front)} of {len(self.points)} points)"


def front_of(store: Store) -> Front | None:
    """The store's points and Pareto front (None without --objectives)."""
    from nasc.runtime.multi import objective_pairs, pareto_trials, scored

    text = store.experiment()["config"].get("strategy", {}).get("objectives")
    if not text:
        return None
    pairs = objective_pairs(text)
    trials = store.trials()
    keep, values = scored(trials, pairs)
    points = {t.id: (v[0], v[1]) for t, v in zip(keep, values, strict=True)}
    front = sorted((t.id for t in pareto_trials(trials, text)), key=lambda i: points[i])
    return Front(pairs[:2], points, front)


def _draw_front(ax: Any, fronts: list[tuple[int, Front]]) -> None:
    for i, f in fronts:
        xs, ys = zip(*f.points.values(), strict=True) if f.points else ((), ())
        ax.scatter(xs, ys, s=14, alpha=0.4, color=f"C{i}")
        fx, fy = [f.points[j][0] for j in f.front], [f.points[j][1] for j in f.front]
        ax.plot(fx, fy, marker="o", markersize=6, color=f"C{i}", markeredgecolor="black",
                label=f"Pareto front: trials {', '.join(map(str, f.front))}"[:80])
    (x, dx), (y, dy) = fronts[0][1].axes
    ax.set_xlabel(f"{x} ({dx})")
    ax.set_ylabel(f"{y} ({dy})")
    for name, setter in ((x, ax.set_xscale), (y, ax.set_yscale)):
        if name in ("params", "macs", "latency"):
            setter("log")
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)


def _draw_controller(ax: Any, all_series: list[Series]) -> None:
    right = ax.twinx()
    for i, s in enumerate(all_series):
        steps = [r["step"] for r in s.steps]
        if steps:
            ax.plot(steps, [r.get("entropy", float("nan")) for r in s.steps], color=f"C{i}",
                    label=f"{s.label}: entropy")
            right.plot(steps, [r.get("baseline", float("nan")) for r in s.steps],
                       color=f"C{i}", linestyle="--", label=f"{s.label}: baseline")
    ax.set_xlabel("controller update")
    ax.set_ylabel("entropy (solid)")
    right.set_ylabel("baseline (dashed)")
    ax.grid(alpha=0.3)


def plot(stores: list[Store], out: str | Path, window: int = 20) -> Path:
    """Draw `stores` into `out` (.png, .svg or .pdf); see the module docstring."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise NascError("--plot needs matplotlib: pip install 'nasc[search]'") from None
    first = series(stores[0])
    all_series = [first] + [series(s, first.kind) for s in stores[1:]]
    fronts = [(i, f) for i, f in enumerate(front_of(s) for s in stores) if f is not None]
    controller = any(s.steps for s in all_series)
    panels = [3.0] + ([1.4] if controller else []) + ([2.4] if fronts else [])
    fig, axes = plt.subplots(len(panels), 1, squeeze=False, figsize=(9, 1.7 * sum(panels)),
                             gridspec_kw={"height_ratios": panels})
    ax = axes[0][0]
    for i, s in enumerate(all_series):
        _draw_trials(ax, s, f"C{i}", window)
    ax.set_xlabel("trial id")
    ax.set_ylabel(LABELS[first.kind])
    ax.set_title(_title(stores, all_series), fontsize=10)
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    if controller:
        _draw_controller(axes[1][0], all_series)
    if fronts:
        _draw_front(axes[-1][0], fronts)
    fig.tight_layout()
    path = Path(out)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
