"""Deep ensembles: per-component standard deviation, a scalar uncertainty, calibration.

:class:`ModelEnsemble` is what ships for every kind: several GMTNet networks of one architecture
(fine-tuned from one start on different folds of the training split, with different seeds, see
:mod:`gmtnet.train`), a calibration factor for their spread, and the :class:`~gmtnet.domain.TrainingDomain`
of their training crystals. It is saved as ``member-<i>/`` model directories plus ``ensemble.json``.

An ensemble's prediction is the mean of its members' (each exactly Neumann-projected, so the mean
is too); its per-component standard deviation is taken over the members, full rank, structure's
Cartesian frame, kind's unit. Components that symmetry forbids or ties are the same in every
member, so their deviation is exactly zero or tied as well.

The scalar uncertainty of a prediction is the Frobenius norm of the deviation in the paper's form
(ε 3x3, e 3x6 Voigt, C 6x6 Voigt; the Voigt maps of these kinds carry no factors), in the kind's
unit: the ensemble's estimate of the Fnorm error of that crystal. It equals the RMS deviation of
the members from their mean, sqrt(Σ_m ||T_m − T̄||² / (M − 1)), so for ε (3x3) it does not depend
on the Cartesian frame; for e and C the paper's Voigt forms count each shear pair once and it moves
slightly with the frame, as Fnorm does.

Calibration (:func:`calibration`): the share of reference components (paper form, components with
a nonzero deviation) within ±1σ, which is 68.3 % for a calibrated Gaussian, a reliability curve
over nominal levels, and the Spearman rank correlation between the scalar uncertainty and the
actual Frobenius error per crystal. :func:`fit_std_scale` gives the one factor that makes the ±1σ
share 68.3 % on a set of crystals (fit it on validation crystals, measure on others).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import erf, sqrt
from pathlib import Path

import numpy as np

from gmtnet.kinds import TensorKind, get_kind
from gmtnet.metrics import frobenius_errors, paper_form
from gmtnet.weights import CONFIG_FILE, ENSEMBLE_FILE, WEIGHTS_FILE

__all__ = [
    "ONE_SIGMA",
    "EnsemblePrediction",
    "ensemble_statistics",
    "scalar_uncertainty",
    "fit_std_scale",
    "calibration",
    "ENSEMBLE_FILE",
    "change_uncertainty",
    "ModelEnsemble",
    "load_ensemble",
    "save_ensemble",
]


#: Probability mass of a Gaussian within ±1σ.
ONE_SIGMA = erf(1 / sqrt(2))
#: Nominal central probabilities of the reliability curve.
RELIABILITY_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.683, 0.8, 0.9, 0.95)


@dataclass(frozen=True)
class EnsemblePrediction:
    """Mean ``(N, 3, ..., 3)``, per-component std (same shape) and scalar uncertainty ``(N,)``; all
    float64, kind's unit, structure frames."""

    kind: TensorKind
    mean: np.ndarray
    std: np.ndarray
    uncertainty: np.ndarray


def ensemble_statistics(member_predictions: np.ndarray, kind: str | TensorKind) -> EnsemblePrediction:
    """``(M, N, 3, ..., 3)`` member predictions (M ≥ 2) -> :class:`EnsemblePrediction`.

    The deviation uses ``ddof=1`` (the unbiased variance over members).
    """
    k = get_kind(kind)
    p = np.asarray(member_predictions, dtype=np.float64)
    if p.ndim != k.rank + 2 or p.shape[2:] != k.shape:
        raise ValueError(f"member predictions must have shape (M, N, {', '.join(['3'] * k.rank)}), got {p.shape}")
    if p.shape[0] < 2:
        raise ValueError(f"an ensemble needs at least 2 members, got {p.shape[0]}")
    mean, std = p.mean(axis=0), p.std(axis=0, ddof=1)
    return EnsemblePrediction(k, mean, std, scalar_uncertainty(std, k))


def scalar_uncertainty(std: np.ndarray, kind: str | TensorKind) -> np.ndarray:
    """Frobenius norm of the per-component deviation in the paper's form, ``(N,)``, kind's unit."""
    k = get_kind(kind)
    s = paper_form(std, k)
    return np.linalg.norm(s.reshape(len(s), -1), axis=1)


def change_uncertainty(before_members: np.ndarray, after_members: np.ndarray, kind: str | TensorKind,
                       std_scale: float = 1.0) -> tuple[float, float]:
    """Size of a predicted change and its uncertainty, from paired ensemble members.

    For a what-if edit (strain, substitution, ...) the same members predict before and after, so
    their errors are correlated and the change is better known than either prediction: its
    deviation is taken over the members' own changes ``after_m − before_m`` (same frame, kind's
    unit), not from the two deviations.

    Returns:
        ``(‖mean change‖_F, scalar uncertainty of the change)``, both in the paper's form and the
        kind's unit.
    """
    k = get_kind(kind)
    b, a = np.asarray(before_members, dtype=np.float64), np.asarray(after_members, dtype=np.float64)
    if a.shape != b.shape or a.shape[0] < 2:
        raise ValueError(f"need the same M ≥ 2 members before and after, got {b.shape} and {a.shape}")
    d = a - b
    size = float(np.linalg.norm(paper_form(d.mean(axis=0), k)))
    return size, float(scalar_uncertainty(d.std(axis=0, ddof=1)[None] * std_scale, k)[0])


def _normalised_errors(mean, std, true, k) -> np.ndarray:
    m, s, t = paper_form(mean, k), paper_form(std, k), paper_form(true, k)
    keep = s > 0  # forbidden or fixed components carry no uncertainty and are not counted
    return np.abs(m - t)[keep] / s[keep]


def fit_std_scale(mean: np.ndarray, std: np.ndarray, true: np.ndarray, kind: str | TensorKind, target: float = ONE_SIGMA) -> float:
    """Factor c such that a share ``target`` of components lies within ±c·σ on these crystals."""
    z = _normalised_errors(mean, std, true, get_kind(kind))
    if not len(z):
        raise ValueError("no component with a nonzero standard deviation")
    return float(np.quantile(z, target))


def calibration(mean: np.ndarray, std: np.ndarray, true: np.ndarray, kind: str | TensorKind, std_scale: float = 1.0) -> dict:
    """Calibration of ``std * std_scale`` against the references ``true`` (all ``(N, 3, ..., 3)``).

    Returns:
        ``within_1sigma`` (share of components, paper form, σ > 0), ``n_components``,
        ``spearman`` (scalar uncertainty vs Frobenius error per crystal) with its ``spearman_p``,
        ``reliability``: ``[{"nominal": p, "observed": share within z_p σ}]`` for Gaussian z_p,
        and ``std_scale``.
    """
    from scipy.stats import norm, spearmanr

    k = get_kind(kind)
    s = np.asarray(std) * std_scale
    z = _normalised_errors(mean, s, true, k)
    err = frobenius_errors(mean, true, k)
    unc = scalar_uncertainty(s, k)
    rho = spearmanr(unc, err)
    return {
        "within_1sigma": float((z <= 1.0).mean()) if len(z) else float("nan"),
        "n_components": int(len(z)),
        "n_crystals": int(len(err)),
        "spearman": float(rho.statistic),
        "spearman_p": float(rho.pvalue),
        "mean_uncertainty": float(unc.mean()),
        "mean_error": float(err.mean()),
        "reliability": [{"nominal": p, "observed": float((z <= norm.ppf(0.5 + p / 2)).mean())} for p in RELIABILITY_LEVELS],
        "std_scale": float(std_scale),
    }


@dataclass
class ModelEnsemble:
    """Trained networks of one kind whose mean is the prediction and whose spread is its uncertainty.

    Attributes:
        members: the networks (same kind and neighbour count, so one graph serves all).
        std_scale: calibration factor applied to the members' standard deviation (fitted on the
            validation split so that 68.3 % of reference components lie within ±1σ).
        domain: the training crystals' :class:`~gmtnet.domain.TrainingDomain`, or ``None``.
        uncertainty_p95: 95th percentile of the calibrated scalar uncertainty over the validation
            crystals (kind's unit); a prediction above it gets a warning. ``None`` if unknown.
        meta: the rest of ``ensemble.json`` (calibration and test metrics, commands).
    """

    members: list
    std_scale: float = 1.0
    domain: object | None = None
    uncertainty_p95: float | None = None
    meta: dict | None = None
    #: Evaluate the members together (:class:`~gmtnet.models.stacked.StackedGMTNet`, one forward
    #: pass) when they can be stacked; ``False`` runs them one after another (the reference path;
    #: the environment variable ``GMTNET_MEMBER_BY_MEMBER=1`` makes that the default, e.g. for the
    #: worker processes of a before/after screening benchmark).
    batched: bool = field(default_factory=lambda: os.environ.get("GMTNET_MEMBER_BY_MEMBER", "") != "1")
    _stacked: object | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.members:
            raise ValueError("an ensemble needs at least one member")
        first = self.members[0].config
        for m in self.members[1:]:
            if (m.config.kind, m.config.num_neighbors) != (first.kind, first.num_neighbors):
                raise ValueError("ensemble members must share the kind and the neighbour count")

    @property
    def config(self):
        """The first member's :class:`~gmtnet.models.ModelConfig` (architecture, kind, graph)."""
        return self.members[0].config

    @property
    def kind(self) -> TensorKind:
        return self.config.tensor_kind

    def __len__(self) -> int:
        return len(self.members)

    def parameters(self):
        """All members' parameters (for counting; the device is that of the first)."""
        for m in self.members:
            yield from m.parameters()

    def stacked(self):
        """The members as one :class:`~gmtnet.models.stacked.StackedGMTNet` (built on first use and
        kept; weights are copied, so call :meth:`restack` after changing a member), or ``None``
        when there is one member or they cannot be stacked (another architecture)."""
        if self._stacked is None and len(self.members) > 1:
            from gmtnet.models.stacked import StackedGMTNet, stacking_problem

            self._stacked = False if stacking_problem(self.members) else StackedGMTNet(self.members).eval()
        return self._stacked or None

    def restack(self) -> None:
        """Forget the stacked copy of the weights (after a member's weights changed)."""
        self._stacked = None

    def run(self, graphs: Sequence, projectors: np.ndarray | None, batch_size: int = 64,
            batched: bool | None = None) -> np.ndarray:
        """Every member's output for crystal graphs: ``(M, N, 3, ..., 3)`` float64, kind's unit,
        structure frames, each projected with its ``projectors[n]`` ``(3**rank, 3**rank)`` in float32
        by the network (the caller re-projects in float64 for exact zeros).

        ``batched`` (default :attr:`batched`): all members in one forward pass per
        ``ceil(batch_size / M)`` crystals (about the activation memory of one member on ``batch_size``);
        ``False``: member by member on batches of ``batch_size``, the reference the batched path
        is tested against. Both agree to float32 round-off.
        """
        from gmtnet.models.network import run_model

        use = self.batched if batched is None else batched
        stacked = self.stacked() if use else None
        if stacked is None:
            return np.stack([run_model(net, graphs, projectors, batch_size=batch_size) for net in self.members])
        # Batches of batch_size crystals as on the other path, each run in ceil(batch_size / M)-crystal
        # parts: the parts, and so the float32 sums, do not depend on where the input started (a
        # screen's chunk of batch_size crystals gives the bits that predict_many on all gives).
        m = len(self.members)
        part = -(-batch_size // m)
        out = [run_model(stacked, graphs[i : i + batch_size], None if projectors is None else projectors[i : i + batch_size],
                         batch_size=part, members=m) for i in range(0, len(graphs), batch_size)]
        return np.concatenate(out, axis=1) if out else run_model(stacked, [], None, members=m)


def load_ensemble(directory: str | Path, device="auto", members: int | None = None) -> ModelEnsemble:
    """Load an ensemble directory (``ensemble.json`` + ``member-<i>/``) or a single model directory
    (an ensemble of one, without uncertainty).

    Args:
        members: load only the first this many members (``1``: the fast single network).

    Raises:
        FileNotFoundError: missing weights; ValueError: ``members`` < 1.
    """
    from gmtnet.domain import TrainingDomain
    from gmtnet.models.network import load_model

    if members is not None and members < 1:
        raise ValueError(f"members must be at least 1, got {members}")
    path = Path(directory)
    meta_file = path / ENSEMBLE_FILE
    if not meta_file.is_file():
        return ModelEnsemble([load_model(path, device)])
    meta = json.loads(meta_file.read_text())
    n = int(meta["members"]) if members is None else min(members, int(meta["members"]))
    nets = [load_model(path / f"member-{i}", device) for i in range(n)]
    domain = TrainingDomain.from_dict(meta["domain"]) if meta.get("domain") else None
    p95 = meta.get("uncertainty_p95_val")
    return ModelEnsemble(nets, float(meta.get("std_scale", 1.0)), domain, None if p95 is None else float(p95), meta)


def save_ensemble(member_dirs: Sequence[str | Path], directory: str | Path, meta: dict) -> Path:
    """Copy trained member directories (weights, config, summary, log) into ``directory/member-<i>``
    and write ``ensemble.json`` (``meta`` plus the member count)."""
    import shutil

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for i, src in enumerate(member_dirs):
        dst = out / f"member-{i}"
        dst.mkdir(exist_ok=True)
        for name in (WEIGHTS_FILE, CONFIG_FILE, "summary.json", "log.csv"):
            if (Path(src) / name).is_file():
                shutil.copyfile(Path(src) / name, dst / name)
    (out / ENSEMBLE_FILE).write_text(json.dumps({**meta, "members": len(member_dirs)}, indent=2) + "\n")
    return out
