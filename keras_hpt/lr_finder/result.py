"""What a learning-rate range test found, and the rules that turn it into a suggestion."""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from keras_hpt.lr_finder import curve

_MIN_POINTS = 8
# Short confirmation runs favour the largest rate that still trains; Smith's
# rule of thumb puts the best rate a factor 3 to 4 below the largest that
# converges. Measured on benchmarks/lr_finder.py (6 tasks x 5 seeds, the
# factor chosen leaving each task out in turn): 3 to 4 both work, 3 kept.
_BACK_OFF = 3.0


@dataclass
class LRFinderResult:
    """The curve of a range test, its suggestions and how it ended.

    Attributes:
        learning_rates: The rates tried, one per step (or block of steps).
        losses: The true training loss of each of those steps.
        smoothed_losses: The centred (zero-lag) smoothing of `losses`, up to
            the first non-finite loss.
        stop_reason: `"completed"`, `"diverged"` (worse than the best by the
            stop factor), `"non_finite"` or `"data_exhausted"`.
        diverged_at: Index of the step where the test stopped for divergence
            or a non-finite loss, else `None`.
        confirmation: `{candidate rate: score}` of the confirmation runs
            (lower is better; `inf` for a run that diverged), or `None`.
        steps: Optimizer steps the test and its confirmation runs took.
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    stop_reason: str
    diverged_at: Optional[int] = None
    confirmation: Optional[Dict[float, float]] = None
    steps: int = 0
    smoothed_losses: np.ndarray = field(init=False)

    def __post_init__(self):
        self.learning_rates = np.asarray(self.learning_rates, dtype=np.float64)
        self.losses = np.asarray(self.losses, dtype=np.float64)
        finite = self.losses[: self._finite_count()]
        self.smoothed_losses = curve.smooth(self.learning_rates[: len(finite)], finite)

    @property
    def diverged(self) -> bool:
        """Whether the test stopped because the loss diverged or stopped being finite."""
        return self.stop_reason in ("diverged", "non_finite")

    def _finite_count(self) -> int:
        bad = np.flatnonzero(~np.isfinite(self.losses))
        return int(bad[0]) if len(bad) else len(self.losses)

    @property
    def default_rule(self) -> str:
        """`"confirmed"` when confirmation runs were made, else `"minimum"`."""
        return "confirmed" if self.confirmation else "minimum"

    @property
    def suggested_lr(self) -> Optional[float]:
        """The suggestion of the default rule, or `None` (see `reason`)."""
        return self.suggestion(self.default_rule)

    @property
    def reason(self) -> Optional[str]:
        """Why `suggested_lr` is `None`, or `None` when there is a suggestion."""
        return self._rule(self.default_rule)[1]

    def suggestion(self, method: str = "auto") -> Optional[float]:
        """The learning rate a rule suggests.

        Args:
            method: `"steepest"` (steepest descent of the smoothed loss
                against log10 of the rate), `"minimum"` (the rate of the
                lowest smoothed loss divided by 10), `"valley"` (fastai's
                rule), `"confirmed"` (the candidate that trained best in
                short confirmation runs, divided by 3: short runs favour the
                largest rate that still trains), or `"auto"` (the default
                rule).

        Returns:
            The suggested rate, or `None` if the curve does not support one.
        """
        return self._rule(self.default_rule if method == "auto" else method)[0]

    def candidates(self) -> List[float]:
        """The distinct rates the curve rules suggest, which confirmation runs compare."""
        rates = []
        lowest = self._rule("minimum")[0]
        for rate in (self._rule("steepest")[0], self._rule("valley")[0], lowest,
                     None if lowest is None else lowest * 10 / 3):
            if rate is not None and all(abs(np.log10(rate / r)) > 0.05 for r in rates):
                rates.append(rate)
        return sorted(rates)

    def _rule(self, method: str) -> Tuple[Optional[float], Optional[str]]:
        if method == "confirmed":
            if not self.confirmation:
                return None, "no confirmation runs were made (lr_find(confirm=True) makes them)"
            rate, score = min(self.confirmation.items(), key=lambda item: item[1])
            if not np.isfinite(score):
                return None, "every confirmation run diverged"
            return rate / _BACK_OFF, None
        if method not in curve.RULES:
            raise ValueError(
                "`method` must be one of 'auto', 'steepest', 'minimum', 'valley', 'confirmed'. "
                f"Received: method={method!r}"
            )
        count = len(self.smoothed_losses)
        if count < _MIN_POINTS:
            return None, (
                f"only {count} finite losses before the test stopped ({self.stop_reason}); "
                f"at least {_MIN_POINTS} are needed: lower min_lr or raise num_steps"
            )
        start, stop = curve.usable_range(count)
        window = self.smoothed_losses[start:stop]
        if curve.is_flat(window, self.losses[start:stop]):
            return None, ("the loss curve is flat: the model barely learns at any rate tried "
                          "(already trained, or a range far too low)")
        log_lrs = np.log10(self.learning_rates[start:stop])
        if method == "steepest":
            index = curve.steepest(log_lrs, window)
        elif method == "minimum":
            index = curve.minimum(window)
        else:
            index = curve.valley(window)
        rate = float(self.learning_rates[start + index])
        return (rate / 10 if method == "minimum" else rate), None

    def plot(self, ax=None):
        """Draws the raw and smoothed loss against the rate, the suggestion marked.

        Args:
            ax: A matplotlib `Axes`; a new figure is made if `None`.

        Returns:
            The matplotlib `Figure`.
        """
        from keras_hpt.reporting.plots import require_matplotlib

        if ax is None:
            figure = require_matplotlib()(figsize=(7, 4), layout="tight")
            ax = figure.subplots()
        figure = ax.figure
        finite = np.isfinite(self.losses)
        ax.plot(self.learning_rates[finite], self.losses[finite], color="0.7", lw=1,
                label="batch loss")
        count = len(self.smoothed_losses)
        ax.plot(self.learning_rates[:count], self.smoothed_losses, lw=2, label="smoothed")
        for method, marker in (("steepest", "v"), ("minimum", "s"), ("valley", "D")):
            rate = self.suggestion(method)
            if rate is not None:
                ax.plot([rate], [np.interp(np.log10(rate), np.log10(
                    self.learning_rates[:count]), self.smoothed_losses)], marker, ms=6,
                    label=f"{method}: {rate:.2g}")
        if self.suggested_lr is not None:
            ax.axvline(self.suggested_lr, color="red", ls="--",
                       label=f"suggested ({self.default_rule}): {self.suggested_lr:.2g}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        if count:
            low, high = np.min(self.smoothed_losses), self.smoothed_losses[0]
            span = max(high - low, 1e-12)
            ax.set_ylim(low - 0.2 * span, high + 0.6 * span)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize="small")
        return figure

    def to_dict(self) -> dict:
        """A JSON-serialisable summary: the curve, every rule's suggestion, how it ended."""
        def listed(values):
            return [None if not np.isfinite(v) else float(v) for v in values]

        return {
            "learning_rates": listed(self.learning_rates),
            "losses": listed(self.losses),
            "smoothed_losses": listed(self.smoothed_losses),
            "stop_reason": self.stop_reason,
            "diverged": self.diverged,
            "diverged_at": self.diverged_at,
            "suggested_lr": self.suggested_lr,
            "reason": self.reason,
            "default_rule": self.default_rule,
            "suggestions": {m: self.suggestion(m) for m in (*curve.RULES, "confirmed")},
            "confirmation": None if self.confirmation is None else [
                {"learning_rate": r, "score": None if not np.isfinite(s) else s}
                for r, s in sorted(self.confirmation.items())],
            "steps": self.steps,
        }
