"""`nasc search`'s progress line: one line on stderr that fits the terminal."""

from __future__ import annotations

import shutil
import sys
import time
from typing import Any

import click


class ProgressLine:
    """One status line on stderr: trials done, failures, the best reward and its accuracy
    (or perplexity), ETA; it fits the terminal's width (no wrapped, stale lines)."""

    def __init__(self, total: int, workers: int = 1) -> None:
        self.total, self.workers = total, max(1, workers)
        self.best: Any = None  # the best finished trial so far
        self.tty = sys.stderr.isatty()
        self.seen = 0
        self.first: float | None = None  # when this run's first trial finished
        self.durations: list[float] = []  # this run's trials' own seconds

    def __repr__(self) -> str:
        return f"ProgressLine({self.seen}/{self.total})"

    def eta(self, trial: Any, remaining: int) -> float:
        """Seconds left: from the trials' own durations over the workers until more trials
        finished than there are workers (start-up and bursts mislead a wall-clock rate),
        then from the wall-clock rate since the first one finished."""
        now = time.monotonic()
        self.first = now if self.first is None else self.first
        self.durations.append(float(trial.seconds or 0.0))
        if self.seen > self.workers and now > self.first:
            return remaining * (now - self.first) / (self.seen - 1)
        return remaining * sum(self.durations) / len(self.durations) / self.workers

    def line(self, counts: dict[str, int], eta: float, width: int) -> str:
        finished = counts["done"] + counts["failed"] + counts["pruned"]
        pruned = f"{counts['pruned']} pruned, " if counts["pruned"] else ""
        best = "-"
        if self.best is not None:
            from nasc.runtime.report import metric_text

            metric = metric_text(self.best)
            best = f"{self.best.reward:.4f}" + (f" ({metric})" if metric else "")
        text = (f"{finished}/{self.total} trials, {counts['failed']} failed, {pruned}"
                f"best {best}, ETA {_duration(eta)}")
        bar = 24
        filled = int(bar * min(finished / max(self.total, 1), 1.0))
        full = f"[{'#' * filled}{'.' * (bar - filled)}] {text}"
        return full if len(full) <= width else text[:width]

    def __call__(self, event: dict[str, Any]) -> None:
        counts, trial = event["counts"], event["trial"]
        finished = counts["done"] + counts["failed"] + counts["pruned"]
        if trial.status == "done" and (self.best is None or
                                       (trial.reward or 0.0) > (self.best.reward or 0.0)):
            self.best = trial
        self.seen += 1
        eta = self.eta(trial, max(self.total - finished, 0))
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        line = self.line(counts, eta, width)
        if self.tty:
            click.echo("\r" + line.ljust(width), err=True, nl=False)
        elif finished == self.total or self.seen % max(1, self.total // 10) == 0:
            click.echo(line, err=True)

    def close(self) -> None:
        if self.tty:
            click.echo("", err=True)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"
