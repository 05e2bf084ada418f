"""Training heads on cached frozen encoder features: examples, one fit, evaluation, save/load, ensembles.

The examples of a kind are all its unflagged rows (node features from a
:class:`research.encoder.FeatureCache`, Neumann projectors, labels, the fixed split); a fit takes
the row indices to train on and to select on, so any split or cross-validation fold (for example
fixed folds over material ids) plugs in without re-encoding. The loss is a function of
``(prediction, targets of the batch, scale)`` so that another loss (e.g. a minimum over candidate
orientations of a label) can be handed in.

Tensors are full rank, in each structure's Cartesian frame and the kind's unit (ε dimensionless,
e C/m², C GPa); metrics are :func:`gmtnet.metrics.evaluate` (paper forms, IEEE Voigt order).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from gmtnet.data import load_dataset
from gmtnet.kinds import get_kind
from gmtnet.loop import OptimConfig, make_optimizer, run_epoch
from gmtnet.metrics import evaluate as compute_metrics
from gmtnet.models.ensemble import EnsemblePrediction, ensemble_statistics, scalar_uncertainty
from gmtnet.symmetry import DEFAULT_SYMPREC, SymmetryConstraints, symmetry_constraints
from gmtnet.weights import ENSEMBLE_FILE, read_weights, write_weights
from research.encoder import FeatureCache, structure_hash
from research.head import EncoderTensorHead, HeadConfig, collate_features

__all__ = [
    "HeadExamples",
    "HeadTrainConfig",
    "prepare_head_examples",
    "frobenius_loss",
    "fit_head",
    "predict_head",
    "evaluate_predictions",
    "save_head",
    "load_head",
    "HeadEnsemble",
]

LossFn = Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]


@dataclass
class HeadExamples:
    """All unflagged rows of one kind with their cached features.

    ``features[i]``: ``(n_atoms_i, dim)`` float32; ``targets``: ``(N, 3, ..., 3)`` float64 (kind's
    unit, structure frame); ``projectors``: ``(N, 3**rank, 3**rank)`` float32; ``splits``: the
    fixed split of each row (``"train"``/``"val"``/``"test"``).
    """

    kind: str
    material_ids: list[str]
    splits: np.ndarray
    crystal_systems: list[str]
    features: list[np.ndarray]
    constraints: list[SymmetryConstraints]
    projectors: np.ndarray
    targets: np.ndarray
    irreps: str
    encoder: str

    def __len__(self) -> int:
        return len(self.features)

    def indices(self, split: str) -> np.ndarray:
        """Row indices of one split of the fixed train/val/test assignment."""
        return np.flatnonzero(self.splits == split)


def prepare_head_examples(kind: str, cache: FeatureCache, symprec: float = DEFAULT_SYMPREC, progress: bool = True) -> HeadExamples:
    """Features (from ``cache``; a missing entry raises, naming how to fill the cache), projectors
    and labels of every unflagged row of ``kind``."""
    k = get_kind(kind)
    df = load_dataset(k.name, include_flagged=False)
    feats, cons = [], []
    for s in tqdm(df["structure"], desc=f"{k.name}: features + projectors", disable=not progress, leave=False):
        f = cache.get(structure_hash(s))
        if f is None or len(f) != len(s):
            raise FileNotFoundError(
                f"{k.name}: no cached {cache.encoder} features for {s.composition.reduced_formula} in {cache.directory}; "
                "run `python -m research.encode_datasets` first"
            )
        feats.append(f)
        cons.append(symmetry_constraints(s, k, symprec=symprec))
    targets = np.stack(df[k.column].to_list()).astype(np.float64)
    projectors = np.stack([c.projector for c in cons]).astype(np.float32)
    return HeadExamples(k.name, df["material_id"].tolist(), df["split"].to_numpy(), df["crystal_system"].tolist(),
                        feats, cons, projectors, targets, cache.irreps, cache.encoder)


def frobenius_loss(pred: torch.Tensor, target: torch.Tensor, scale: float) -> torch.Tensor:
    """Mean over crystals of the full-rank Frobenius error divided by ``scale`` (as gmtnet.train)."""
    diff = (pred - target).reshape(len(pred), -1) / scale
    return torch.sqrt((diff**2).sum(dim=1) + 1e-12).mean()


@dataclass
class HeadTrainConfig:
    """Optimisation settings of :func:`fit_head`: :mod:`gmtnet.loop`'s optimiser and schedule
    (AdamW, warm-up + cosine), an EMA of the weights, the head's widths."""

    epochs: int = 60
    batch_size: int = 32
    lr: float = 3e-3
    min_lr: float = 1e-5
    weight_decay: float = 1e-5
    warmup_epochs: int = 3
    grad_clip: float = 10.0
    ema_decay: float = 0.98
    seed: int = 0
    time_limit: float | None = None
    scalars: int = 32
    hidden_mul: int = 16
    product_mul: int = 8


def predict_head(head: EncoderTensorHead, ex: HeadExamples, idx: Sequence[int], batch_size: int = 256) -> np.ndarray:
    """Predictions ``(len(idx), 3, ..., 3)`` float64, re-projected in float64 with each crystal's
    exact projector (forbidden components exactly zero, as :mod:`gmtnet.predict` does)."""
    idx = list(idx)
    out = []
    head.eval()
    with torch.inference_mode():
        for s in range(0, len(idx), batch_size):
            part = idx[s : s + batch_size]
            batch = collate_features([ex.features[i] for i in part], ex.projectors[part])
            out.append(head(batch).double().numpy())
    pred = np.concatenate(out) if out else np.zeros((0, *get_kind(ex.kind).shape))
    return np.stack([ex.constraints[i].project(p) for i, p in zip(idx, pred)]) if len(pred) else pred


def evaluate_predictions(pred: np.ndarray, ex: HeadExamples, idx: Sequence[int]) -> dict:
    """:func:`gmtnet.metrics.evaluate` of predictions for rows ``idx``."""
    idx = list(idx)
    return compute_metrics(pred, ex.targets[idx], ex.kind, [ex.constraints[i] for i in idx], [ex.crystal_systems[i] for i in idx])


def fit_head(
    ex: HeadExamples,
    train_idx: Sequence[int],
    val_idx: Sequence[int],
    cfg: HeadTrainConfig = HeadTrainConfig(),
    loss_fn: LossFn = frobenius_loss,
    progress: bool = True,
) -> tuple[EncoderTensorHead, dict]:
    """Train one head on rows ``train_idx``; keep the EMA weights with the lowest Fnorm on ``val_idx``.

    Returns:
        ``(head, summary)``: the head in eval mode; the summary has the best epoch, its validation
        Fnorm (kind's unit), the epochs run, the seconds and the per-epoch log.
    """
    train_idx, val_idx = np.asarray(train_idx), np.asarray(val_idx)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    scale = float(np.sqrt(np.mean(ex.targets[train_idx] ** 2)))
    hcfg = HeadConfig(kind=ex.kind, irreps_in=ex.irreps, encoder=ex.encoder, scalars=cfg.scalars,
                      hidden_mul=cfg.hidden_mul, product_mul=cfg.product_mul, target_scale=scale)
    head = EncoderTensorHead(hcfg)
    head.fit_normalisation(np.concatenate([ex.features[i] for i in train_idx]))
    # Exponential moving average of the parameters, matched by name, in a second head built from
    # the same config (a deep copy of e3nn's generated modules turns their constants into extra
    # buffers, which torch's AveragedModel then pairs by position and fails on).
    shadow = head
    if cfg.ema_decay:
        shadow = EncoderTensorHead(hcfg)
        shadow.load_state_dict(head.state_dict())
    ema = {n: p.detach().clone() for n, p in head.named_parameters()} if cfg.ema_decay else None
    opt, sched = make_optimizer(head.parameters(), OptimConfig.of(cfg))

    def batch_loss(part: np.ndarray) -> torch.Tensor:
        batch = collate_features([ex.features[i] for i in part], ex.projectors[part])
        return loss_fn(head(batch), targets[part], scale)

    def update_ema() -> None:
        with torch.no_grad():
            for n, p in head.named_parameters():
                ema[n].lerp_(p.detach(), 1.0 - cfg.ema_decay)

    targets = torch.as_tensor(ex.targets, dtype=torch.float32)
    best, best_epoch, best_state, log = math.inf, -1, None, []
    t0 = time.perf_counter()
    bar = tqdm(range(cfg.epochs), desc=f"head {ex.kind} seed {cfg.seed}", disable=not progress, leave=False)
    for epoch in bar:
        head.train()
        order = rng.permutation(train_idx)
        batches = [order[s : s + cfg.batch_size] for s in range(0, len(order), cfg.batch_size)]
        losses = run_epoch(batches, batch_loss, opt, sched, head.parameters, cfg.grad_clip,
                           None if ema is None else update_ema)
        if ema is not None:
            with torch.no_grad():
                for n, p in shadow.named_parameters():
                    p.copy_(ema[n])
        current = shadow
        val = evaluate_predictions(predict_head(current, ex, val_idx), ex, val_idx)["overall"]
        log.append({"epoch": epoch, "train_loss": float(np.mean(losses)), "val_fnorm": val["fnorm"], "val_ewt25": val["ewt25"]})
        if val["fnorm"] < best:
            best, best_epoch = val["fnorm"], epoch
            best_state = {n: v.detach().clone() for n, v in current.state_dict().items()}
        bar.set_postfix(loss=f"{np.mean(losses):.4f}", val=f"{val['fnorm']:.4g}", best=f"{best:.4g}")
        if cfg.time_limit is not None and time.perf_counter() - t0 > cfg.time_limit:
            break
    head.load_state_dict(best_state)
    head.eval()
    summary = {"kind": ex.kind, "seed": cfg.seed, "best_epoch": best_epoch, "best_val_fnorm": best, "epochs_run": len(log),
               "seconds": round(time.perf_counter() - t0, 1), "train_crystals": int(len(train_idx)),
               "val_crystals": int(len(val_idx)), "parameters": int(sum(p.numel() for p in head.parameters())),
               "train_config": asdict(cfg), "log": log}
    return head, summary


def save_head(head: EncoderTensorHead, directory: str | Path, extra: dict | None = None) -> Path:
    """``model.safetensors`` + ``config.json`` (``{"head": HeadConfig, ...extra}``) in ``directory``
    (:func:`gmtnet.weights.write_weights`, as the shipped networks)."""
    return write_weights(directory, head.state_dict(), {"head": head.config.to_dict(), **(extra or {})})


def load_head(directory: str | Path) -> EncoderTensorHead:
    """Rebuild a head from ``config.json`` and load its safetensors weights (no unpickling)."""
    config, state = read_weights(directory)
    head = EncoderTensorHead(HeadConfig.from_dict(config["head"]))
    head.load_state_dict(state)
    return head.eval()


class HeadEnsemble:
    """Several :class:`research.head.EncoderTensorHead` of one kind (different seeds), saved as
    ``member-<i>/`` directories plus ``ensemble.json`` (the std scale fitted on validation)."""

    def __init__(self, heads: Sequence, std_scale: float = 1.0) -> None:
        if len(heads) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(heads)}")
        kinds = {h.config.kind for h in heads}
        if len(kinds) != 1:
            raise ValueError(f"ensemble members predict different kinds: {sorted(kinds)}")
        self.heads = list(heads)
        self.kind = get_kind(kinds.pop())
        self.std_scale = float(std_scale)

    def predict(self, examples, idx: Sequence[int]) -> EnsemblePrediction:
        """Mean, calibrated std (``std * std_scale``) and scalar uncertainty for rows ``idx`` of
        :class:`HeadExamples`."""
        preds = np.stack([predict_head(h, examples, idx) for h in self.heads])
        stats = ensemble_statistics(preds, self.kind)
        std = stats.std * self.std_scale
        return EnsemblePrediction(self.kind, stats.mean, std, scalar_uncertainty(std, self.kind))

    def predict_structures(self, encoder, structures: Sequence, symprec: float | None = None) -> EnsemblePrediction:
        """End to end for pymatgen structures: encoder features (``encoder``: a
        :class:`research.encoder.SevenNetEncoder`, the one the heads were trained on), Neumann
        projectors (spglib), every member, float64 re-projection, mean / calibrated std.

        Returns the ensemble prediction in each structure's Cartesian frame, kind's unit.
        """
        if encoder.irreps_out != self.heads[0].config.irreps_in:
            raise ValueError(f"encoder {encoder.name!r} gives {encoder.irreps_out}, the heads expect {self.heads[0].config.irreps_in}")
        cons = [symmetry_constraints(s, self.kind, symprec=symprec or DEFAULT_SYMPREC) for s in structures]
        batch = collate_features([encoder.features(s) for s in structures], np.stack([c.projector for c in cons]))
        with torch.inference_mode():
            raw = np.stack([h(batch).double().numpy() for h in self.heads])
        preds = np.stack([[c.project(t) for c, t in zip(cons, member)] for member in raw])
        stats = ensemble_statistics(preds, self.kind)
        std = stats.std * self.std_scale
        return EnsemblePrediction(self.kind, stats.mean, std, scalar_uncertainty(std, self.kind))

    def save(self, directory: str | Path, extra: dict | None = None) -> Path:
        out = Path(directory)
        for i, h in enumerate(self.heads):
            save_head(h, out / f"member-{i}")
        meta = {"kind": self.kind.name, "members": len(self.heads), "std_scale": self.std_scale, **(extra or {})}
        (out / ENSEMBLE_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        return out

    @classmethod
    def load(cls, directory: str | Path) -> "HeadEnsemble":
        path = Path(directory)
        meta = json.loads((path / ENSEMBLE_FILE).read_text())
        heads = [load_head(path / f"member-{i}") for i in range(int(meta["members"]))]
        return cls(heads, std_scale=float(meta.get("std_scale", 1.0)))
