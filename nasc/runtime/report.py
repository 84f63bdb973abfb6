"""Reading finished (or running) searches: leaderboard, JSON, the reward plot, export.

    report_json(store)               {"experiment": {...}, "trials": [...]} (ISO times)
    report_csv(stores)               every trial, one CSV row each
    leaderboard(store, top)          a fixed-width table of the best trials (NAS-Bench-201:
                                     and the validation pick's 200-epoch test accuracy)
    plot(stores, out_png)            metric per trial id, best so far, failures; controller
    export_arch(store, rank)         (architecture text, its trial) of the rank-th best
    export_controller(store)         (controller file bytes, step) of the latest checkpoint
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nasc.errors import NascError
from nasc.runtime.store import Store, Trial, unpack_state


def ranked(store: Store) -> list[Trial]:
    """Finished trials by reward, best first; a reused duplicate is left out."""
    done = [t for t in store.trials("done") if t.reused_from is None]
    return sorted(done, key=lambda t: (-(t.reward or 0.0), t.id))


def iso(timestamp: float | None) -> str | None:
    """A Unix time as ISO 8601 in UTC, to the second ('2026-12-01T03:15:25+00:00')."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat(timespec="seconds")


def _row(t: Trial) -> dict[str, Any]:
    row = t.to_json()
    row["status"] = "pending" if t.status == "running" else t.status
    row.update(created=iso(t.created), started=iso(t.started), finished=iso(t.finished))
    return row


def report_json(store: Store) -> dict[str, Any]:
    """The store as one JSON document (every time in ISO 8601, UTC)."""
    exp = store.experiment()
    experiment = {"store": str(store.path), "config": exp["config"],
                  "created": iso(exp["created"]), "nasc_version": exp["nasc_version"],
                  "grammar": exp["grammar"], "counts": store.counts()}
    trials = [_row(t) for t in store.trials()]
    return {"experiment": experiment, "trials": trials, "controller": store.controller_steps(),
            "pareto": pareto_ids(store)}


def pareto_ids(store: Store) -> list[int] | None:
    """The ids of the Pareto front of a search with --objectives (None without)."""
    objectives = store.experiment()["config"].get("strategy", {}).get("objectives")
    if not objectives:
        return None
    from nasc.runtime.multi import pareto_trials

    return [t.id for t in pareto_trials(store.trials(), objectives)]


CSV_COLUMNS = ("store", "id", "status", "reward", "accuracy", "perplexity", "params", "macs",
               "seconds", "created", "started", "finished", "reused_from", "pareto", "error",
               "arch")


def report_csv(stores: list[Store]) -> str:
    """Every trial of every store, one CSV row each: the columns of `CSV_COLUMNS`, then
    each other final metric the trials recorded (`summary`) as its own column."""
    import csv
    import io

    rows = []
    for store in stores:
        front = set(pareto_ids(store) or [])
        for t in store.trials():
            row = {**t.summary, **{k: v for k, v in _row(t).items() if k in CSV_COLUMNS}}
            row.update(store=str(store.path), pareto=int(t.id in front))
            rows.append(row)
    extra = sorted({k for r in rows for k in r} - set(CSV_COLUMNS))
    out = io.StringIO()
    writer = csv.DictWriter(out, [*CSV_COLUMNS, *extra], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def metric_of(t: Trial) -> tuple[str, float] | None:
    """("acc", accuracy) or ("ppl", perplexity): the final metric people read beside the
    reward (the summary's, else the best validation accuracy or the last perplexity)."""
    for key, short in (("accuracy", "acc"), ("perplexity", "ppl")):
        if key in t.summary:
            return short, float(t.summary[key])
    if t.metrics and "valid_acc" in t.metrics[-1]:
        return "acc", max(float(m.get("valid_acc", 0.0)) for m in t.metrics)
    if t.metrics and "valid_ppl" in t.metrics[-1]:
        return "ppl", float(t.metrics[-1]["valid_ppl"])
    return None


def metric_text(t: Trial) -> str:
    """'acc 0.978', 'ppl 85.3' or ''."""
    found = metric_of(t)
    if found is None:
        return ""
    return f"{found[0]} {found[1]:.3f}" if found[0] == "acc" else f"{found[0]} {found[1]:.1f}"


def _score(t: Trial) -> str:
    return metric_text(t).partition(" ")[2]


def leaderboard(store: Store, top: int = 10) -> str:
    """The header line (strategy, counts, best) and a table of the `top` trials."""
    cfg = store.experiment()["config"]
    counts = store.counts()
    best = ranked(store)[:top]
    metric = "ppl" if cfg.get("data", "").startswith("ptb") else "acc"
    lines = [f"{store.path}: {cfg.get('strategy', {}).get('name', '?')} on {cfg.get('data')} "
             f"({cfg.get('space')}), {counts['done']} done, {counts['failed']} failed, "
             f"{_pruned(counts)}{counts['pending'] + counts['running']} unfinished"]
    if best:
        from nasc.runtime.nb201 import pick_line

        line = pick_line(best[0])
        if line is not None:
            lines.append(line)
    steps = store.controller_steps()
    if steps:
        last = steps[-1]
        lines.append(f"controller: {len(steps)} updates; at the last, baseline "
                     f"{last.get('baseline', 0.0):.4f}, entropy {last.get('entropy', 0.0):.3f}")
    front = set(pareto_ids(store) or [])
    if front:
        lines.append(f"Pareto front ({cfg['strategy']['objectives']}): {len(front)} trials, "
                     f"marked *: {', '.join(map(str, sorted(front)))}")
    rows = [("rank", "trial", "reward", metric, "params", "MACs", "seconds", "architecture")]
    for rank, t in enumerate(best, 1):
        mark = "*" if t.id in front else ""
        rows.append((str(rank), f"{mark}{t.id}", f"{t.reward:.4f}", _score(t), f"{t.params or 0:,}",
                     f"{t.macs or 0:,}", f"{t.seconds or 0:.1f}", t.arch))
    widths = [max(len(r[i]) for r in rows) for i in range(7)]
    for r in rows:
        lines.append("  ".join(r[i].rjust(widths[i]) for i in range(7)) + "  " + r[7])
    if not best:
        lines.append("(no finished trials yet)")
    return "\n".join(lines)


def _pruned(counts: dict[str, int]) -> str:
    return f"{counts['pruned']} pruned, " if counts.get("pruned") else ""


def plot(stores: list[Store], out: str | Path, window: int = 20) -> Path:
    """The trials of `stores` and their controllers' updates, drawn (`nasc.runtime.plots`)."""
    from nasc.runtime.plots import plot as draw

    return draw(stores, out, window)


def export_arch(store: Store, rank: int = 1) -> tuple[str, Trial]:
    """The architecture text of the `rank`-th best finished trial (with a comment header)."""
    best = ranked(store)
    if rank < 1 or rank > len(best):
        raise NascError(f"{store.path}: no rank {rank} ({len(best)} finished trials)")
    trial = best[rank - 1]
    cfg = store.experiment()["config"]
    header = (f"# exported from {store.path}: trial {trial.id}, rank {rank}, "
              f"reward {trial.reward:.6g}, space {cfg.get('space')}, data {cfg.get('data')}")
    return header + "\n" + trial.arch.replace("; ", "\n") + "\n", trial


def export_controller(store: Store) -> tuple[bytes, int]:
    """The trained controller of a `reinforce` store, as the file `nasc sample --controller`
    reads, and the update step it is from."""
    checkpoint = store.latest_checkpoint()
    if checkpoint is None:
        raise NascError(f"{store.path}: no controller checkpoint (only a reinforce search "
                        f"has one, after its first update)")
    _, body, _ = unpack_state(checkpoint.state)
    return body, checkpoint.step
