"""Training and evaluation harness: one code path for every kind and architecture.

``train(TrainConfig(kind="elastic", model="gmtnet"))`` trains on the bundled data's fixed split
(unflagged rows only), keeps the best-on-validation weights, and can resume. ``evaluate_model``
computes the paper's metrics on the test split. Both are what ``python -m gmtnet train`` and
``python -m gmtnet evaluate`` run.

Loss: the mean over crystals of the Frobenius norm of the full-rank error, divided by the kind's
target scale (the RMS label component on the training split). It is the training-time form of the
paper's Fnorm, and behaves like an L1 loss per crystal, which keeps the few very large DFT tensors
(|e| up to 46 C/m², ε up to 100) from dominating. Where the label's orientation is known only up
to a set of candidates (``gmtnet.orientation``: IEEE-frame sources), the error is measured to the
candidate closest to the prediction; candidates are padded to one count per batch with a mask.

Cross-validation: ``TrainConfig(cv_fold=k)`` trains on the non-test rows of the other folds (the
``fold`` column) and keeps the final (EMA) weights, with no validation-based selection, so the
held-out fold k stays untouched until ``evaluate_model(..., fold=k)``.

Per-atom kinds (``kind.per_atom``, Born charges Z*): the same loop and fold options on
:class:`AtomExamples` (site symmetry instead of the point-group projector, per-atom labels), loss
:func:`gmtnet.models.per_atom.per_atom_loss` (mean over crystals of the mean over atoms of
||ΔT_κ||_F / target scale), validation by :func:`gmtnet.metrics.per_atom_metrics` (the log's
``val_fnorm`` is the mean per-atom error, ``val_ewt25`` the atoms' EwT25); a kind with ``sum_rule``
gets a model that imposes Σ_κ T_κ = 0 exactly. No user data file, DFPT union or relative loss.

Ensemble members (:mod:`gmtnet.models.ensemble`): ``TrainConfig(init_from=DIR, exclude_fold=m, seed=m)``
starts from trained weights (keeping their architecture and target scale) and fine-tunes on the
training split without fold m, selecting on the validation split, so members differ in data,
seed and batch order while the validation and test splits stay unseen by every member.
"""

from __future__ import annotations

import csv
import json
import math
import platform
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from pymatgen.core import Lattice, Structure
from tqdm.auto import tqdm

from gmtnet.data import LABEL_ORIENTATIONS, N_FOLDS, label_candidates, load_dataset, orient_labels
from gmtnet.graph import CrystalGraph, GraphBatch, build_graph, collate
from gmtnet.kinds import get_kind
from gmtnet.metrics import evaluate as compute_metrics
from gmtnet.metrics import per_atom_metrics
from gmtnet.orientation import pad_candidates
from gmtnet.loop import OptimConfig, ema_model, make_optimizer, run_epoch
from gmtnet.models.config import ARCHITECTURES, ModelConfig
from gmtnet.models.network import build_model, load_model, resolve_device, run_model, save_model
from gmtnet.models.per_atom import per_atom_loss
from gmtnet.symmetry import DEFAULT_SYMPREC, SiteSymmetry, SymmetryConstraints, analyze_site_symmetry, symmetry_constraints
from gmtnet.tensors import rotate

__all__ = ["TrainConfig", "Examples", "prepare_examples", "AtomExamples", "prepare_atom_examples", "predict_atom_examples", "train", "evaluate_model", "evaluate_examples", "candidate_loss"]

LOSSES = ("fnorm", "relative")
#: Label sources of the ε∞ union: index 0 is the bundled Materials Project set (PBE, scale fixed
#: at 1: what the model predicts), 1 the DFPT set (PBEsol, learned scale).
SOURCES = ("materials_project", "dfpt_pbesol")
#: Architectures whose output is re-projected in float64 at evaluation (GMTNet's symmetry
#: enforcement). MEGNet is frame-averaged inside the model (float32), ETGNN not at all, as the
#: paper ran them.
REPROJECTED = frozenset({"gmtnet"})
CHECKPOINT_FILE = "checkpoint.pt"


@dataclass
class TrainConfig:
    """Everything a training run depends on (saved to ``config.json`` beside the weights).

    ``ema_decay``: validation, checkpoints and the saved weights use an exponential moving
    average of the weights (per optimizer step; 0 disables it). With a few hundred training
    crystals the raw weights' validation error jumps from epoch to epoch; the average is smoother
    and generalises better.

    ``time_limit`` (seconds of training, optional) stops after the epoch that crosses it, for
    runs on a time budget; the summary then records how many epochs ran.

    ``cv_fold`` (0..N_FOLDS-1, optional): train on the non-test rows outside this fold and keep
    the last weights (no validation split, no selection); evaluate on the fold afterwards.

    ``exclude_fold`` (optional): train on the training split without this fold (validation
    selection as usual); how ensemble members get different data.

    ``init_from`` (a model directory, optional): start from those weights, with their architecture,
    hyper-parameters and target scale (``model_options`` must then be empty); fine-tuning.

    ``data`` (a file, optional): train on a user's own tensors instead of the bundled data
    (:func:`gmtnet.userdata.read_tensor_file`: extended XYZ, JSON lines or Parquet), with its
    ``split`` column or a seeded 90/10 train/val split; ``data_frame`` (``"structure"`` or
    ``"ieee"``), ``data_unit`` and ``data_voigt_order`` state what the file does not, and
    ``data_tensor_key`` names the tensor's key or column. Not combinable with the folds.

    ``group_cv_fold`` (0..N_FOLDS-1, optional): like ``cv_fold`` on the grouped folds
    (``group_fold`` column: one chemical system per fold), so the held-out fold is chemistry the
    model has not seen.

    ``add_dfpt`` (ε∞ only): also train on the usable DFPT rows (:func:`gmtnet.data.load_dfpt`,
    PBEsol), same split and fold columns. Their labels are another functional's, so the loss
    compares them with the prediction times a learned per-source scale exp(s_DFPT) (the bundled
    Materials Project rows' scale is fixed at 1): the network itself keeps predicting the
    Materials Project (PBE) level, and the saved model is the same architecture as without it.
    The learned scale is in ``summary.json`` (``source_scales``).

    ``loss``: ``"fnorm"`` (||pred − label||_F / target scale, the default) or ``"relative"``
    (||pred − label||_F / ||label||_F, the per-crystal quantity EwT thresholds).
    ``label_orientation`` (piezoelectric only): ``"lattice"`` (the default: every orientation the
    IEEE back-rotation leaves, signs as the source gave them) or ``"physics"``
    (:func:`gmtnet.data.orient_labels`: the candidate the ionic physics estimate points to, sign
    open where it could not decide).
    """

    kind: str
    model: str = "gmtnet"
    epochs: int = 200
    batch_size: int = 32
    lr: float = 2e-3
    min_lr: float = 1e-5
    weight_decay: float = 1e-6
    warmup_epochs: int = 5
    grad_clip: float = 10.0
    ema_decay: float = 0.99
    seed: int = 0
    device: str = "auto"
    max_train: int | None = None
    symprec: float = DEFAULT_SYMPREC
    time_limit: float | None = None
    cv_fold: int | None = None
    exclude_fold: int | None = None
    init_from: str | None = None
    model_options: dict = field(default_factory=dict)
    data: str | None = None
    data_frame: str | None = None
    data_unit: str | None = None
    data_voigt_order: str | None = None
    data_tensor_key: str = "tensor"
    group_cv_fold: int | None = None
    add_dfpt: bool = False
    loss: str = "fnorm"
    label_orientation: str = "lattice"

    def __post_init__(self) -> None:
        get_kind(self.kind)
        if self.model not in ARCHITECTURES:
            raise ValueError(f"unknown model {self.model!r}; expected one of {ARCHITECTURES}")
        if self.cv_fold is not None and not 0 <= self.cv_fold < N_FOLDS:
            raise ValueError(f"cv_fold must be in 0..{N_FOLDS - 1}, got {self.cv_fold}")
        if self.exclude_fold is not None:
            if not 0 <= self.exclude_fold < N_FOLDS:
                raise ValueError(f"exclude_fold must be in 0..{N_FOLDS - 1}, got {self.exclude_fold}")
            if self.cv_fold is not None:
                raise ValueError("cv_fold and exclude_fold cannot be combined")
        folds_given = [f for f in (self.cv_fold, self.exclude_fold, self.group_cv_fold) if f is not None]
        if len(folds_given) > 1:
            raise ValueError("cv_fold, exclude_fold and group_cv_fold cannot be combined")
        if self.group_cv_fold is not None and not 0 <= self.group_cv_fold < N_FOLDS:
            raise ValueError(f"group_cv_fold must be in 0..{N_FOLDS - 1}, got {self.group_cv_fold}")
        if self.add_dfpt and self.kind != "dielectric_electronic":
            raise ValueError(f"add_dfpt adds ε∞ labels: kind must be 'dielectric_electronic', not {self.kind!r}")
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; expected one of {LOSSES}")
        if self.data is not None and (folds_given or self.add_dfpt):
            raise ValueError("a user data file has no cross-validation folds: drop cv_fold / exclude_fold")
        if get_kind(self.kind).per_atom and (self.data is not None or self.add_dfpt or self.loss != "fnorm"):
            raise ValueError(f"{self.kind!r} is per atom: it trains on its bundled labels with the fnorm loss "
                             "(no user data file, add_dfpt or relative loss)")
        if self.label_orientation not in LABEL_ORIENTATIONS:
            raise ValueError(f"unknown label_orientation {self.label_orientation!r}; expected one of {LABEL_ORIENTATIONS}")
        if self.label_orientation != "lattice" and (self.kind != "piezoelectric" or self.data is not None):
            raise ValueError("label_orientation='physics' orients the bundled piezoelectric labels only")
        if self.init_from is not None and self.model_options:
            raise ValueError("init_from takes the architecture of the loaded model; drop model_options")


@dataclass
class Examples:
    """Pre-processed crystals of one split: graphs, projectors, labels (kind's units, structure frame).

    ``candidates`` ``(N, K, 3, ..., 3)`` holds every structure-frame tensor each label may be
    (the label first; padding repeats it), ``candidate_mask`` ``(N, K)`` marks the real ones;
    K = 1 for a kind without orientation ambiguity. ``targets`` is ``candidates[:, 0]``.
    """

    material_ids: list[str]
    crystal_systems: list[str]
    graphs: list[CrystalGraph]
    constraints: list[SymmetryConstraints]
    projectors: np.ndarray  # (N, d, d) float32
    targets: np.ndarray  # (N, 3, ..., 3) float64
    candidates: np.ndarray  # (N, K, 3, ..., 3) float64
    candidate_mask: np.ndarray  # (N, K) bool
    point_groups: list[str] = field(default_factory=list)
    sources: np.ndarray | None = None  # (N,) int index into SOURCES; None: all bundled

    def __len__(self) -> int:
        return len(self.graphs)


def prepare_examples(
    kind: str,
    split: str,
    num_neighbors: int,
    symprec: float = DEFAULT_SYMPREC,
    limit: int | None = None,
    seed: int = 0,
    progress: bool = True,
    random_frame_seed: int | None = None,
    folds: tuple[int, ...] | None = None,
    split_and_folds: bool = False,
    frame: pd.DataFrame | None = None,
    fold_column: str = "fold",
) -> Examples:
    """Graphs, Neumann projectors, labels and label candidates for the unflagged rows of one split.

    ``limit`` keeps a seeded random subset (for quick runs and the teaching notebook).
    ``random_frame_seed`` puts every crystal (and its label) in its own random rotated or
    reflected Cartesian frame, to test that symmetry handling does not depend on the frame.
    ``folds``: take the rows of these cross-validation folds instead of ``split`` (or, with
    ``split_and_folds``, the rows of ``split`` that are in these folds).
    ``frame``: take the rows from this frame (layout of :func:`gmtnet.data.load_dataset`, e.g.
    :func:`gmtnet.userdata.read_tensor_file`) instead of the bundled dataset.
    """
    k = get_kind(kind)
    df = load_dataset(k.name, include_flagged=False) if frame is None else frame
    if folds is not None and split_and_folds:
        df = df[(df["split"] == split) & df[fold_column].isin(folds)]
    elif folds is not None:
        df = df[df[fold_column].isin(folds)]
    else:
        df = df[df["split"] == split]
    if limit is not None and limit < len(df):
        df = df.sample(n=limit, random_state=seed)
    sources = df["label_source"].to_numpy(dtype=np.int64) if "label_source" in df.columns else np.zeros(len(df), np.int64)
    ids, systems, groups, graphs, cons, cands = [], [], [], [], [], []
    rng = None if random_frame_seed is None else np.random.default_rng(random_frame_seed)
    rows = zip(df.itertuples(index=False), label_candidates(df, k), strict=True)
    what = f"folds {list(folds)}" if folds is not None else split
    for row, candidates in tqdm(rows, total=len(df), desc=f"{k.name} {what}: graphs", disable=not progress, leave=False):
        structure = row.structure
        if rng is not None:
            q = random_orthogonal(rng)
            structure = Structure(Lattice(structure.lattice.matrix @ q.T), structure.species, structure.frac_coords)
            candidates = rotate(candidates, q, rank=k.rank)
        cons.append(symmetry_constraints(structure, k, symprec=symprec))
        graphs.append(build_graph(structure, num_neighbors=num_neighbors))
        ids.append(row.material_id)
        systems.append(row.crystal_system)
        groups.append(row.point_group)
        cands.append(candidates)
    if cands:
        padded, mask = pad_candidates(cands, k.shape)
    else:
        padded, mask = np.zeros((0, 1, *k.shape)), np.zeros((0, 1), dtype=bool)
    projectors = np.stack([c.projector for c in cons]).astype(np.float32) if cons else np.zeros((0, 3**k.rank, 3**k.rank), np.float32)
    return Examples(ids, systems, graphs, cons, projectors, padded[:, 0].copy(), padded, mask, groups, sources)


@dataclass
class AtomExamples:
    """Pre-processed crystals of one split for a per-atom kind: graphs, site-symmetry projector
    blocks and per-atom labels (``targets[b]``: ``(n_b, 3, ..., 3)`` float64, kind's unit,
    structure frame, site order). Orientation is never ambiguous for per-atom labels."""

    material_ids: list[str]
    crystal_systems: list[str]
    graphs: list[CrystalGraph]
    sites: list[SiteSymmetry]
    blocks: list[tuple[np.ndarray, np.ndarray]]
    targets: list[np.ndarray]
    structures: list[Structure] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.graphs)


def prepare_atom_examples(
    kind: str,
    split: str,
    num_neighbors: int,
    symprec: float = DEFAULT_SYMPREC,
    limit: int | None = None,
    seed: int = 0,
    progress: bool = True,
    folds: tuple[int, ...] | None = None,
    fold_column: str = "fold",
    random_frame_seed: int | None = None,
) -> AtomExamples:
    """:func:`prepare_examples` for a per-atom kind (unflagged rows of ``split``, or of ``folds``
    in ``fold_column``): site symmetry (:func:`gmtnet.symmetry.analyze_site_symmetry`) instead of
    the point-group projector. ``random_frame_seed`` puts every crystal and its labels in its own
    random rotated or reflected frame (T_κ → R T_κ Rᵀ for rank 2)."""
    k = get_kind(kind)
    if not k.per_atom:
        raise ValueError(f"{k.name!r} is one tensor per crystal: use prepare_examples")
    df = load_dataset(k.name, include_flagged=False)
    df = df[df[fold_column].isin(folds)] if folds is not None else df[df["split"] == split]
    if limit is not None and limit < len(df):
        df = df.sample(n=limit, random_state=seed)
    rng = None if random_frame_seed is None else np.random.default_rng(random_frame_seed)
    ex = AtomExamples([], [], [], [], [], [], [])
    what = f"folds {list(folds)}" if folds is not None else split
    for row in tqdm(df.itertuples(index=False), total=len(df), desc=f"{k.name} {what}: graphs", disable=not progress, leave=False):
        structure = row.structure
        labels = np.asarray(getattr(row, k.column), dtype=float)
        if labels.shape != k.tensor_shape(len(structure)):
            raise ValueError(f"{row.material_id}: labels of shape {labels.shape} for {len(structure)} atoms")
        if rng is not None:
            q = random_orthogonal(rng)
            structure = Structure(Lattice(structure.lattice.matrix @ q.T), structure.species, structure.frac_coords)
            labels = rotate(labels, q, rank=k.rank)
        site = analyze_site_symmetry(structure, symprec=symprec)
        ex.material_ids.append(row.material_id)
        ex.crystal_systems.append(row.crystal_system)
        ex.graphs.append(build_graph(structure, num_neighbors=num_neighbors))
        ex.sites.append(site)
        ex.blocks.append(site.projector_blocks(k.rank))
        ex.targets.append(labels)
        ex.structures.append(structure)
    return ex


def _atom_batch(ex: AtomExamples, idx) -> GraphBatch:
    return collate([ex.graphs[i] for i in idx], site_projectors=[ex.blocks[i] for i in idx],
                   atom_targets=[ex.targets[i] for i in idx])


def predict_atom_examples(model, ex: AtomExamples, batch_size: int = 64) -> list[np.ndarray]:
    """Per-atom predictions of a network, or the members' mean of a list of networks, on ``ex``:
    per crystal ``(n_b, 3, ..., 3)`` float64 (kind's unit, structure frame), re-projected in
    float64 with the crystal's site symmetry (and the sum rule when the model imposes it)."""
    members = model if isinstance(model, list) else [model]
    device = next(members[0].parameters()).device
    sum_rule = members[0].config.sum_rule
    out: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, len(ex), batch_size):
            idx = list(range(start, min(len(ex), start + batch_size)))
            batch = _atom_batch(ex, idx).to(device)
            pred = np.mean([m.eval()(batch).double().cpu().numpy() for m in members], axis=0)
            bounds = np.cumsum([0] + [ex.graphs[i].num_atoms for i in idx])
            for i, lo, hi in zip(idx, bounds[:-1], bounds[1:]):
                out.append(ex.sites[i].project(pred[lo:hi], acoustic_sum_rule=sum_rule))
    return out


def union_frame(kind: str = "dielectric_electronic") -> pd.DataFrame:
    """The unflagged bundled rows of ``kind`` (``label_source`` 0) and, for ε∞ (the only kind the
    DFPT set labels), the unflagged DFPT rows (1), with the columns :func:`prepare_examples` reads."""
    from gmtnet.data import load_dfpt

    cols = ["material_id", "structure", get_kind(kind).column, "split", "fold", "group_fold", "crystal_system", "point_group"]
    bundled = load_dataset(kind, include_flagged=False)[cols].assign(label_source=0)
    if kind != "dielectric_electronic":
        return bundled
    dfpt = load_dfpt(include_flagged=False)[cols].assign(label_source=1)
    return pd.concat([bundled, dfpt], ignore_index=True)


def random_orthogonal(rng: np.random.Generator) -> np.ndarray:
    """A Haar-random 3x3 orthogonal matrix, proper or improper with equal probability."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.diag(r))


def _target_scale(targets: np.ndarray) -> float:
    """RMS label component (kind's units): the model predicts in units of this."""
    return float(np.sqrt(np.mean(targets**2)))


def _seed_everything(seed: int) -> None:
    np.random.seed(seed)
    torch.manual_seed(seed)


def candidate_loss(pred: torch.Tensor, candidates: torch.Tensor, mask: torch.Tensor, scale: float, relative: bool = False) -> torch.Tensor:
    """Mean over crystals of min over candidates of ||pred − candidate||_F / scale
    (``relative``: / ||candidate||_F instead).

    Args:
        pred: ``(B, 3, ..., 3)``; candidates: ``(B, K, 3, ..., 3)``; mask: ``(B, K)`` bool.
    """
    flat = candidates.reshape(len(pred), candidates.shape[1], -1)
    denom = torch.sqrt((flat**2).sum(dim=2, keepdim=True) + 1e-12) if relative else scale
    diff = (pred.reshape(len(pred), 1, -1) - flat) / denom
    dist = torch.sqrt((diff**2).sum(dim=2) + 1e-12)
    dist = torch.where(mask, dist, torch.full_like(dist, math.inf))
    return dist.min(dim=1).values.mean()


def evaluate_examples(model, ex: Examples, reproject: bool, batch_size: int = 128) -> tuple[np.ndarray, dict]:
    """Predictions and metrics (:func:`gmtnet.metrics.evaluate`) of a network, or the members' mean
    of a list of networks, on the examples ``ex``.

    Returns:
        ``(pred, metrics)``: ``pred`` ``(N, 3, ..., 3)`` float64, kind's unit, structure frames,
        re-projected in float64 with each crystal's exact projector when ``reproject``.
    """
    members = model if isinstance(model, list) else [model]
    pred = np.mean([run_model(m, ex.graphs, ex.projectors, batch_size=batch_size) for m in members], axis=0)
    if reproject:
        pred = np.stack([c.project(p) for c, p in zip(ex.constraints, pred)]) if len(pred) else pred
    metrics = compute_metrics(
        pred, ex.targets, members[0].config.kind, ex.constraints, ex.crystal_systems,
        candidates=ex.candidates, candidate_mask=ex.candidate_mask, point_groups=ex.point_groups,
    )
    return pred, metrics


def train(config: TrainConfig, out_dir: str | Path, resume: bool = False, progress: bool = True, command: str = "") -> dict:
    """Train one model; writes ``model.safetensors``, ``config.json``, ``log.csv``, ``summary.json``
    and a resumable ``checkpoint.pt`` into ``out_dir``. Returns the summary dict."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _seed_everything(config.seed)
    device = resolve_device(config.device)
    init = None if config.init_from is None else load_model(config.init_from, "cpu")
    if init is not None:
        if (init.config.kind, init.config.architecture) != (config.kind, config.model):
            raise ValueError(f"{config.init_from} holds a {init.config.kind}/{init.config.architecture} model, "
                             f"not {config.kind}/{config.model}")
        model_cfg = init.config
    else:
        model_cfg = ModelConfig(kind=config.kind, architecture=config.model, **config.model_options)
    t_prep = time.perf_counter()
    frame = union_frame(config.kind) if config.add_dfpt else None
    if config.label_orientation != "lattice":
        frame = orient_labels(load_dataset(config.kind, include_flagged=False), config.label_orientation)
    per_atom = get_kind(config.kind).per_atom
    if per_atom:  # Born charges: site symmetry and per-atom labels; same folds and splits
        train_ex, val_ex = _atom_splits(config, model_cfg.num_neighbors, progress)
    elif config.data is not None:
        from gmtnet.userdata import read_tensor_file

        user = read_tensor_file(config.data, config.kind, frame=config.data_frame, unit=config.data_unit,
                                voigt_order=config.data_voigt_order, tensor_key=config.data_tensor_key,
                                symprec=config.symprec, seed=config.seed)
        train_ex = prepare_examples(config.kind, "train", model_cfg.num_neighbors, config.symprec, config.max_train, config.seed, progress, frame=user)
        val_ex = prepare_examples(config.kind, "val", model_cfg.num_neighbors, config.symprec, progress=progress, frame=user)
        if not len(train_ex) or not len(val_ex):
            raise ValueError(f"{config.data}: need at least one training and one validation crystal, "
                             f"got {len(train_ex)} and {len(val_ex)}")
    elif config.exclude_fold is not None:
        keep = tuple(f for f in range(N_FOLDS) if f != config.exclude_fold)
        train_ex = prepare_examples(config.kind, "train", model_cfg.num_neighbors, config.symprec, config.max_train, config.seed, progress, folds=keep, split_and_folds=True, frame=frame)
        val_ex = prepare_examples(config.kind, "val", model_cfg.num_neighbors, config.symprec, progress=progress)
    elif config.cv_fold is None and config.group_cv_fold is None:
        train_ex = prepare_examples(config.kind, "train", model_cfg.num_neighbors, config.symprec, config.max_train, config.seed, progress, frame=frame)
        # Selection on the bundled validation rows only: the level the model is meant to predict.
        val_ex = prepare_examples(config.kind, "val", model_cfg.num_neighbors, config.symprec, progress=progress)
    else:
        held, column = (config.cv_fold, "fold") if config.cv_fold is not None else (config.group_cv_fold, "group_fold")
        others = tuple(f for f in range(N_FOLDS) if f != held)
        train_ex = prepare_examples(config.kind, "train", model_cfg.num_neighbors, config.symprec, config.max_train, config.seed, progress, folds=others, frame=frame, fold_column=column)
        val_ex = None
    prep_seconds = time.perf_counter() - t_prep
    if init is None:
        model_cfg.target_scale = _target_scale(np.concatenate(train_ex.targets) if per_atom else train_ex.targets)
        model = build_model(model_cfg).to(device)
    else:  # the loaded weights predict in units of their own target scale: keep it
        model = init.to(device).train()
    n_params = sum(p.numel() for p in model.parameters())
    ema = ema_model(model, config.ema_decay)
    # log of each label source's scale; index 0 (the bundled set) stays 0 through the mask.
    source_log_scale = torch.zeros(len(SOURCES), requires_grad=True) if config.add_dfpt else None
    groups = [{"params": list(model.parameters())}]
    if source_log_scale is not None:
        groups.append({"params": [source_log_scale], "weight_decay": 0.0})
    opt, sched = make_optimizer(groups, OptimConfig.of(config))
    start_epoch, best, best_epoch, elapsed = 0, math.inf, -1, 0.0
    ckpt_path = out / CHECKPOINT_FILE
    if resume and ckpt_path.is_file():
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        if ema is not None:
            ema.load_state_dict(state["ema"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["torch_rng"])
        start_epoch, best, best_epoch, elapsed = state["epoch"] + 1, state["best"], state["best_epoch"], state["elapsed"]
        if source_log_scale is not None and state.get("source_log_scale") is not None:
            with torch.no_grad():
                source_log_scale.copy_(state["source_log_scale"])
    elif not resume:
        (out / "log.csv").unlink(missing_ok=True)

    extra = {"train": asdict(config), "command": command}
    if not per_atom:
        candidates = torch.as_tensor(train_ex.candidates, dtype=torch.float32)
        candidate_mask = torch.as_tensor(train_ex.candidate_mask)
        label_sources = torch.as_tensor(np.array(train_ex.sources if train_ex.sources is not None else np.zeros(len(train_ex), np.int64)))
    learned = (torch.arange(len(SOURCES)) > 0).float()
    relative = config.loss == "relative"
    reproject = config.model in REPROJECTED
    log_new = not (out / "log.csv").is_file()

    def atom_batch_loss(idx: list[int]) -> torch.Tensor:
        batch = _atom_batch(train_ex, idx).to(device)
        return per_atom_loss(model(batch), batch.atom_targets, batch.node_graph, batch.num_graphs, model_cfg.target_scale)

    def batch_loss(idx: list[int]) -> torch.Tensor:
        batch = collate([train_ex.graphs[i] for i in idx], train_ex.projectors[idx]).to(device)
        pred = model(batch)
        if source_log_scale is not None:  # compare each label with the prediction at its source's level
            factor = torch.exp(source_log_scale * learned)[label_sources[idx]].to(device)
            pred = pred * factor.view(-1, *([1] * (pred.dim() - 1)))
        return candidate_loss(pred, candidates[idx].to(device), candidate_mask[idx].to(device), model_cfg.target_scale, relative)

    with open(out / "log.csv", "a", newline="") as fh:
        log = csv.writer(fh)
        if log_new:
            log.writerow(["epoch", "train_loss", "val_fnorm", "val_ewt25", "lr", "seconds"])
        bar = tqdm(range(start_epoch, config.epochs), desc=f"train {config.kind}/{config.model}", disable=not progress, initial=start_epoch, total=config.epochs)
        for epoch in bar:
            t0 = time.perf_counter()
            model.train()
            order = torch.randperm(len(train_ex)).tolist()
            batches = [order[s : s + config.batch_size] for s in range(0, len(order), config.batch_size)]
            losses = run_epoch(batches, atom_batch_loss if per_atom else batch_loss, opt, sched, model.parameters, config.grad_clip,
                               None if ema is None else lambda: ema.update_parameters(model))
            best_model = model if ema is None else ema.module
            best_model.eval()
            if val_ex is None:  # cross-validation: no selection, the last weights are the model
                elapsed += time.perf_counter() - t0
                val_fnorm, val_ewt25, best, best_epoch = math.nan, math.nan, math.nan, epoch
                save_model(best_model, out, extra)
            else:
                if per_atom:  # the same two columns: mean per-atom ||ΔT||_F and the atoms' EwT25
                    atoms = per_atom_metrics(predict_atom_examples(best_model, val_ex), val_ex.targets)
                    val = {"overall": {"fnorm": atoms["fnorm"], "ewt25": atoms["atom_ewt25"]}}
                else:
                    _, val = evaluate_examples(best_model, val_ex, reproject)
                elapsed += time.perf_counter() - t0
                val_fnorm, val_ewt25 = val["overall"]["fnorm"], val["overall"]["ewt25"]
                if val_fnorm < best:
                    best, best_epoch = val_fnorm, epoch
                    save_model(best_model, out, extra)
            log.writerow([epoch, f"{np.mean(losses):.5f}", f"{val_fnorm:.5f}", f"{val_ewt25:.4f}", f"{opt.param_groups[0]['lr']:.2e}", f"{time.perf_counter() - t0:.2f}"])
            fh.flush()
            bar.set_postfix(loss=f"{np.mean(losses):.4f}", val_fnorm=f"{val_fnorm:.4g}", best=f"{best:.4g}")
            stop = config.time_limit is not None and elapsed > config.time_limit
            torch.save(
                {"model": model.state_dict(), "ema": None if ema is None else ema.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                 "torch_rng": torch.get_rng_state(), "epoch": epoch, "best": best, "best_epoch": best_epoch, "elapsed": elapsed,
                 "source_log_scale": None if source_log_scale is None else source_log_scale.detach().clone()},
                ckpt_path,
            )
            if stop:
                break
        epochs_run = epoch + 1 if config.epochs > start_epoch else start_epoch
    summary = {
        "kind": config.kind,
        "model": config.model,
        "parameters": int(n_params),
        "train_crystals": len(train_ex),
        "val_crystals": 0 if val_ex is None else len(val_ex),
        "cv_fold": config.cv_fold,
        "group_cv_fold": config.group_cv_fold,
        "exclude_fold": config.exclude_fold,
        "add_dfpt": config.add_dfpt,
        "loss": config.loss,
        "label_orientation": config.label_orientation,
        "source_scales": None if source_log_scale is None else dict(zip(SOURCES, torch.exp(source_log_scale * learned).tolist(), strict=True)),
        "init_from": config.init_from,
        "data": config.data,
        "epochs": config.epochs,
        "epochs_run": epochs_run,
        "best_epoch": best_epoch,
        "best_val_fnorm": best,
        "train_seconds": round(elapsed, 1),
        "data_prep_seconds": round(prep_seconds, 1),
        "device": _device_name(device),
        "target_scale": model_cfg.target_scale,
        "command": command,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _atom_splits(config: TrainConfig, num_neighbors: int, progress: bool) -> tuple[AtomExamples, AtomExamples | None]:
    """Training and validation examples of a per-atom kind, by the same fold options as the
    per-crystal kinds (validation ``None`` for cross-validation runs: no selection)."""
    kw = dict(symprec=config.symprec, progress=progress)
    if config.cv_fold is not None or config.group_cv_fold is not None:
        held, column = (config.cv_fold, "fold") if config.cv_fold is not None else (config.group_cv_fold, "group_fold")
        # the test split carries fold −1 in the fold columns: never in a training fold
        others = tuple(f for f in range(N_FOLDS) if f != held)
        return prepare_atom_examples(config.kind, "train", num_neighbors, limit=config.max_train, seed=config.seed,
                                     folds=others, fold_column=column, **kw), None
    train_ex = prepare_atom_examples(config.kind, "train", num_neighbors, limit=config.max_train, seed=config.seed, **kw)
    if config.exclude_fold is not None:
        fold = load_dataset(config.kind, include_flagged=False).set_index("material_id")["fold"]
        keep = [i for i, mid in enumerate(train_ex.material_ids) if int(fold[mid]) != config.exclude_fold]
        train_ex = AtomExamples(*([getattr(train_ex, f.name)[i] for i in keep] for f in fields(AtomExamples)))
    return train_ex, prepare_atom_examples(config.kind, "val", num_neighbors, **kw)


def trained_label_orientation(model_dir: str | Path) -> str:
    """How the labels of the model (or ensemble) in ``model_dir`` were oriented in training:
    ``ensemble.json``'s ``label_orientation``, else the first run's ``config.json``
    (``train.label_orientation``), else ``"lattice"`` (runs made before the option existed)."""
    root = Path(model_dir)
    meta = root / "ensemble.json"
    if meta.is_file() and "label_orientation" in (m := json.loads(meta.read_text())):
        return m["label_orientation"]
    for cfg in (root / "config.json", root / "member-0" / "config.json"):
        if cfg.is_file():
            return json.loads(cfg.read_text()).get("train", {}).get("label_orientation", "lattice")
    return "lattice"


def evaluate_model(
    model_dir: str | Path,
    split: str = "test",
    device: str = "auto",
    progress: bool = True,
    random_frame_seed: int | None = None,
    fold: int | None = None,
    predictions_path: str | Path | None = None,
    label_orientation: str | None = None,
) -> dict:
    """The paper's metrics for a saved model or ensemble (the members' mean) on one split of its
    kind (unflagged rows).

    ``label_orientation``: the labels to grade against (:func:`gmtnet.data.orient_labels`); by
    default those the model trained on (:func:`trained_label_orientation`).

    Metrics are ambiguity-aware (closest label candidate) over all rows, and strict over the rows
    with one candidate (``"unique_rows"``); see :func:`gmtnet.metrics.evaluate`.
    With ``random_frame_seed``, every crystal is first put in a random rotated/reflected frame.
    ``fold``: evaluate on that cross-validation fold instead of ``split``.
    ``predictions_path``: also save ``material_ids``, ``pred`` and ``candidates`` (kind's units,
    structure frame) and ``candidate_mask`` there as ``.npz``.
    """
    from gmtnet.models.ensemble import load_ensemble

    ensemble = load_ensemble(model_dir, device)
    model = ensemble.members[0]
    cfg = model.config
    folds = None if fold is None else (fold,)
    orientation = label_orientation or trained_label_orientation(model_dir)
    frame = None if orientation == "lattice" else orient_labels(load_dataset(cfg.kind, include_flagged=False), orientation)
    ex = prepare_examples(cfg.kind, split, cfg.num_neighbors, progress=progress, random_frame_seed=random_frame_seed, folds=folds,
                          frame=frame)
    t0 = time.perf_counter()
    pred, metrics = evaluate_examples(ensemble.members, ex, cfg.architecture in REPROJECTED)
    if predictions_path is not None:
        np.savez_compressed(
            predictions_path, material_ids=np.array(ex.material_ids), pred=pred,
            candidates=ex.candidates, candidate_mask=ex.candidate_mask,
        )
    metrics.update(
        kind=cfg.kind,
        model=cfg.architecture,
        split=split if fold is None else f"fold {fold}",
        label_orientation=orientation,
        random_frame_seed=random_frame_seed,
        unit=cfg.tensor_kind.unit_label,
        model_dir=str(model_dir),
        device=_device_name(next(model.parameters()).device),
        seconds=round(time.perf_counter() - t0, 2),
    )
    return metrics


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
