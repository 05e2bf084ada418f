"""The prediction API: ``Predictor.load()`` then ``predict(structure, kind)``.

Where a prediction comes from, step by step (:meth:`Predictor.predict_many`):

1. validate the structure (ordered, periodic, not empty, at most :data:`~gmtnet.graph.MAX_ATOMS`);
2. detect its point group with spglib and build the Neumann projector
   (:func:`gmtnet.symmetry.symmetry_constraints`);
3. build the complete-shell neighbour graph (:func:`gmtnet.graph.build_graph`);
4. run each network of the kind's ensemble (:class:`~gmtnet.models.ensemble.ModelEnsemble`) in batches
   (float32, GPU when present);
5. project each output again in float64 with the exact projector, so that forbidden components are
   exactly zero and forced pairs exactly equal (float32 round-off would leave ~1e-5 GPa; the
   projector is built on the zero/equality pattern, see :class:`~gmtnet.symmetry.SymmetryConstraints`);
6. make each member's tensor physically admissible (:mod:`gmtnet.admissible`: ε eigenvalues ≥ 1
   and ε₀ ⪰ ε∞, C positive definite) by spectral clipping, which commutes with the projector, and
   project once more to clear the clipping's round-off;
7. average the members (the admissible sets are convex, so the mean stays admissible, and it stays
   exactly symmetric); their calibrated spread is the per-component standard deviation and the
   scalar uncertainty (:mod:`gmtnet.models.ensemble`); compare the structure with the training crystals
   (:mod:`gmtnet.domain`) for warnings.

Every tensor returned is full rank, in the Cartesian frame of the input structure, in the kind's
units (ε dimensionless, e C/m², C GPa); ``voigt`` is in the IEEE/pymatgen order
(xx, yy, zz, yz, xz, xy).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from gmtnet.models.ensemble import ModelEnsemble, load_ensemble, scalar_uncertainty
from gmtnet.graph import CrystalGraph, build_graph
from gmtnet.insulator import metal_warning
from gmtnet.interop import as_structure
from gmtnet.kinds import KINDS, TensorKind, get_kind
from gmtnet.symmetry import DEFAULT_SYMPREC, SiteSymmetry, SymmetryConstraints, symmetry_constraints
from gmtnet.tensors import to_voigt
from gmtnet.models.network import resolve_device
from gmtnet.weights import shipped_model_dir

__all__ = ["Prediction", "SymmetryReport", "PredictionError", "Predictor", "weights_dir", "installed_kinds"]


def weights_dir(kind: str | TensorKind) -> Path:
    """Where the weights of ``kind`` are: its own ``weights`` directory when it names one (a kind
    registered by a user or a test), else the shipped one. FileNotFoundError when there are none."""
    k = get_kind(kind)
    if k.weights is None:
        return shipped_model_dir(k.name)
    path = Path(k.weights)
    if not path.is_dir():
        raise FileNotFoundError(f"no weights for {k.name!r} at {path}")
    return path


@dataclass(frozen=True)
class SymmetryReport:
    """The crystal's symmetry and how the prediction obeys it.

    ``zero_ok``/``equality_ok`` are the paper's checks (forbidden components ≤ 1e-5 and forced
    pairs within 1e-4, absolute, in the kind's units); the maxima are the observed deviations.
    """

    spacegroup_number: int
    spacegroup_symbol: str
    point_group: str
    crystal_system: str
    n_independent: int
    symprec: float
    zero_ok: bool
    equality_ok: bool
    max_forbidden: float
    max_equality_violation: float


@dataclass(frozen=True)
class Prediction:
    """One predicted tensor.

    Attributes:
        kind: the tensor kind.
        tensor: full-rank array ``(3,)*rank``, float64, structure's Cartesian frame, kind's units.
        voigt: Voigt matrix in IEEE order (3x3, 3x6 or 6x6), same frame and units.
        symmetry: :class:`SymmetryReport`.
        constraints: the :class:`~gmtnet.symmetry.SymmetryConstraints` used (allowed form).
        admissible_shift: Frobenius norm (kind's units) of the change that making each member
            physically admissible (:mod:`gmtnet.admissible`) made to the mean; 0.0 when every
            member already was.
        std: calibrated per-component standard deviation over the ensemble, full rank, same
            frame and units (forbidden components exactly 0, forced pairs exactly equal);
            ``None`` for a single network.
        uncertainty: scalar uncertainty, the Frobenius norm of ``std`` in the paper's form
            (ε 3x3, e 3x6, C 6x6), kind's unit: the ensemble's estimate of the Fnorm error.
        warnings: plain-language warnings (empty when none): likely a metal for ε₀, ε∞ and e
            (:mod:`gmtnet.insulator`; first when present), out of the training domain, high
            uncertainty.
        members: ``(M, 3, ..., 3)`` each member's admissible tensor (same frame and units), for
            the uncertainty of derived quantities (:meth:`derived_std`); ``None`` for one network.
        std_scale: the calibration factor applied to the members' spread.
        sites: for a per-atom kind (``kind.per_atom``), the crystal's
            :class:`~gmtnet.symmetry.SiteSymmetry` (Wyckoff letters, site-symmetry groups); then
            ``tensor`` is ``(n_atoms, 3, ..., 3)`` in structure site order, ``voigt`` has the same
            leading atom axis, each atom's tensor obeys its site symmetry (and the sum rule when the
            model imposes it), and ``constraints`` is the crystal's form for one such tensor (for its
            point group), not a constraint on each atom.
    """

    kind: TensorKind
    tensor: np.ndarray
    voigt: np.ndarray
    symmetry: SymmetryReport
    constraints: SymmetryConstraints
    admissible_shift: float = 0.0
    std: np.ndarray | None = None
    uncertainty: float | None = None
    warnings: tuple[str, ...] = ()
    members: np.ndarray | None = None
    std_scale: float = 1.0
    sites: SiteSymmetry | None = None

    @property
    def unit(self) -> str:
        return self.kind.unit

    @property
    def std_voigt(self) -> np.ndarray | None:
        """``std`` as a Voigt matrix in IEEE order (the Voigt maps of these kinds pick components
        without factors, so the deviation maps the same way)."""
        return None if self.std is None else to_voigt(self.std, self.kind, "ieee")

    def derived_std(self, fn) -> np.ndarray | None:
        """Calibrated ensemble standard deviation of any quantity derived from the tensor.

        ``fn`` maps one full-rank tensor to a number or array (e.g. a rotation into the IEEE
        frame, Young's modulus along directions, eigenvalues); returns the members' standard
        deviation of ``fn`` (ddof=1) times :attr:`std_scale`, or ``None`` for a single network.
        """
        if self.members is None:
            return None
        values = np.stack([np.asarray(fn(m), dtype=np.float64) for m in self.members])
        return values.std(axis=0, ddof=1) * self.std_scale

    def in_frame(self, rotation: np.ndarray, constraints: SymmetryConstraints) -> "Prediction":
        """The same prediction in another Cartesian frame.

        Args:
            rotation: 3x3 orthogonal matrix taking structure-frame vectors into the new frame
                (e.g. :func:`gmtnet.tensors.ieee_rotation`).
            constraints: the symmetry constraints of the structure expressed in the new frame;
                projecting with them turns the rotation's round-off (~1e-16) in forbidden
                components into exact zeros again.

        The mean and every member are rotated; the deviation is recomputed from the rotated
        members (the deviation of a rotated tensor is not the rotated deviation), and with it the
        scalar uncertainty, which for e and C depends slightly on the frame (as Fnorm does).
        """
        from gmtnet.tensors import rotate

        k = self.kind
        if k.per_atom:  # each atom rotated; its site symmetry rotates with it (no crystal projection)
            tensor = rotate(self.tensor, rotation, rank=k.rank)
            if self.members is None:
                return replace(self, tensor=tensor, voigt=k.to_voigt(tensor, "ieee"), constraints=constraints)
            members = rotate(self.members, rotation, rank=k.rank)
            std = members.std(axis=0, ddof=1) * self.std_scale
            return replace(self, tensor=tensor, voigt=k.to_voigt(tensor, "ieee"), constraints=constraints,
                           members=members, std=std, uncertainty=float(np.linalg.norm(std)))
        tensor = constraints.project(rotate(self.tensor, rotation, rank=k.rank))
        if self.members is None:
            return _make_prediction(k, tensor, constraints, self.admissible_shift, warnings=self.warnings)
        members = np.stack([constraints.project(rotate(m, rotation, rank=k.rank)) for m in self.members])
        std = members.std(axis=0, ddof=1) * self.std_scale
        return _make_prediction(k, tensor, constraints, self.admissible_shift, std=std,
                                uncertainty=float(scalar_uncertainty(std[None], k)[0]), warnings=self.warnings,
                                members=members, std_scale=self.std_scale)

    def to_pymatgen(self):
        """The mean tensor as pymatgen's ``SquareTensor`` (ε₀, ε∞), ``PiezoTensor`` (e, C/m²) or
        ``ElasticTensor`` (C, GPa): full rank, structure frame (:func:`gmtnet.interop.to_pymatgen`)."""
        from gmtnet.interop import to_pymatgen

        return to_pymatgen(self)

    def __repr__(self) -> str:
        # The dataclass repr prints every member's full-rank array; this one fits a line.
        unc = "" if self.uncertainty is None else f", uncertainty={self.uncertainty:.3g}"
        return (f"Prediction(kind={self.kind.name!r}, unit={self.kind.unit_label!r}, point_group="
                f"{self.symmetry.point_group!r}, voigt_ieee={np.array2string(self.voigt, precision=4, suppress_small=True)}"
                f"{unc}, warnings={len(self.warnings)})")

    def _repr_html_(self) -> str:
        """Jupyter's view: Voigt matrix with ± 1σ, unit, frame, point group, warnings."""
        from gmtnet.interop import prediction_html

        return prediction_html(self)

    def to_dict(self) -> dict:
        """JSON-ready dict, with the frame, units and Voigt order spelled out."""
        return {
            "kind": self.kind.name,
            "unit": self.kind.unit_label,
            "frame": "Cartesian frame of the input structure",
            "voigt_order": "ieee (xx, yy, zz, yz, xz, xy)",
            "tensor": self.tensor.tolist(),
            "voigt": self.voigt.tolist(),
            "symmetry": dict(self.symmetry.__dict__),
            "admissible_shift": self.admissible_shift,
            "std": None if self.std is None else self.std.tolist(),
            "std_voigt": None if self.std is None else self.std_voigt.tolist(),
            "uncertainty": self.uncertainty,
            "ensemble_members": 1 if self.members is None else len(self.members),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class PredictionError:
    """Why one structure of a batch could not be predicted (the rest of the batch still is)."""

    index: int
    message: str


def installed_kinds() -> list[str]:
    """Names of the registered kinds whose weights exist, in registry order (the CLI's and the
    screen's default)."""
    out = []
    for name in KINDS:
        try:
            weights_dir(name)
        except FileNotFoundError:
            continue
        out.append(name)
    return out


class Predictor:
    """In-process GMTNet ensembles for every kind, loaded once (CPU or GPU).

    Example:
        >>> p = Predictor.load(device="auto")
        >>> r = p.predict(structure, "elastic")
        >>> r.voigt, r.std_voigt   # 6x6 GPa, IEEE order, structure frame: mean and calibrated 1σ
        >>> r.uncertainty, r.warnings
        >>> r.symmetry.point_group, r.symmetry.n_independent
        >>> fast = Predictor.load(members=1)   # one network per kind: screening speed, no σ
    """

    def __init__(self, models: dict[str, ModelEnsemble], device: torch.device, missing: Sequence[str] = ()):
        self.models = models
        self.device = device
        #: Registered kinds that were asked for by default but have no weights installed.
        self.missing: tuple[str, ...] = tuple(missing)
        # Member outputs of a kind that bounds another (ε∞ for ε₀ ⪰ ε∞), by kind and crystal, shared
        # by that kind's own predictions and the bounded kind's admissibility step, so that asking
        # for both runs its networks once (see _lower_members).
        self._bound_cache: dict[str, dict] = {}

    def clear_cache(self) -> None:
        """Forget the member outputs kept for reuse by a bounded kind (benchmarks time the networks)."""
        self._bound_cache.clear()

    @classmethod
    def load(
        cls,
        kinds: Iterable[str | TensorKind] | str | TensorKind | Path | None = None,
        device: str = "auto",
        model_dirs: dict[str, str | Path] | None = None,
        members: int | None = None,
    ) -> "Predictor":
        """Load the ensembles for ``kinds``: ``model_dirs[kind]``, else the kind's own
        ``weights`` directory, else the shipped one.

        ``kinds`` None loads every registered kind whose weights exist; the others are listed in
        :attr:`missing` (a kind can be registered before its weights ship). Kinds named explicitly
        must have weights. ``model_dirs`` values may be ensemble directories or single trained
        model directories (``python -m gmtnet train`` output). ``members``: load only the first
        this many networks of each ensemble; ``1`` is the fast single network (no uncertainty).

        ``Predictor.load(path)``: a directory written by ``python -m gmtnet train`` (or an
        ensemble directory) loads that run alone, for the kind it was trained for.

        Raises:
            ValueError: unknown kind, ``members`` < 1, or ``device="cuda"`` without a GPU.
            FileNotFoundError: missing weights for a kind named in ``kinds``.
        """
        dev = resolve_device(device)
        if isinstance(kinds, (str, Path)) and str(kinds) not in KINDS:
            run = load_ensemble(kinds, dev, members=members)  # one trained run: its own kind
            return cls({run.config.kind: run}, dev)
        requested = kinds is not None
        if kinds is None:
            chosen = list(KINDS.values())
        else:
            chosen = [get_kind(k) for k in ([kinds] if isinstance(kinds, (str, TensorKind)) else kinds)]
        dirs = model_dirs or {}
        models, missing = {}, []
        for k in chosen:
            try:
                directory = dirs.get(k.name) or weights_dir(k)
            except FileNotFoundError:
                if requested:
                    raise
                missing.append(k.name)
                continue
            models[k.name] = load_ensemble(directory, dev, members=members)
        for k, m in models.items():
            if m.config.kind != k:
                raise ValueError(f"model for {k!r} was trained for {m.config.kind!r}")
        return cls(models, dev, missing)

    @property
    def kinds(self) -> list[str]:
        return list(self.models)

    def _model(self, k: TensorKind) -> ModelEnsemble:
        if k.name not in self.models:
            why = " (its weights are not installed)" if k.name in self.missing else ""
            raise ValueError(f"no model loaded for {k.name!r}{why}; loaded: {self.kinds}")
        return self.models[k.name]

    def predict(self, structure, kind: str | TensorKind, symprec: float = DEFAULT_SYMPREC) -> Prediction:
        """Predict one tensor for one structure (see the module docstring for the steps).

        ``structure``: a pymatgen ``Structure`` or an ASE ``Atoms`` (converted with pymatgen's
        ``AseAtomsAdaptor``; the tensor is in the Atoms' Cartesian frame). For ε₀, ε∞ and e of a
        likely metal (:mod:`gmtnet.insulator`) the tensor comes back with a warning saying why.

        Raises:
            ValueError: unreadable input (disordered, empty, too many atoms, overlapping atoms).
        """
        result = self.predict_many([structure], kind, symprec=symprec)[0]
        if isinstance(result, PredictionError):
            raise ValueError(result.message)
        return result

    def predict_many(
        self, structures: Sequence, kind: str | TensorKind, symprec: float = DEFAULT_SYMPREC, batch_size: int = 64
    ) -> list[Prediction | PredictionError]:
        """Predict for many structures (pymatgen ``Structure`` or ASE ``Atoms``) in batches; a
        structure that fails gives a :class:`PredictionError` in its place and does not stop the
        others."""
        k = get_kind(kind)
        model = self._model(k)
        if k.per_atom:
            return self._predict_atoms(k, model, structures, symprec, batch_size)
        results: list[Prediction | PredictionError | None] = [None] * len(structures)
        structures = list(structures)
        ok, graphs, cons = [], [], []
        for i, s in enumerate(structures):
            try:
                s = structures[i] = as_structure(s)
                c = symmetry_constraints(s, k, symprec=symprec)
                g = build_graph(s, num_neighbors=model.config.num_neighbors)
            except (ValueError, TypeError, AttributeError) as err:
                results[i] = PredictionError(i, f"structure {i}: {err}")
                continue
            ok.append(i)
            graphs.append(g)
            cons.append(c)
        if ok:
            proj = np.stack([c.projector for c in cons])
            if self._bounds_another(k):
                symmetric = self._lower_members(k.name, [structures[i] for i in ok], symprec, graphs, proj, cons, batch_size)
            else:
                # (M, N, ...): every member, each output projected with its crystal's exact projector
                symmetric = _project_each(cons, model.run(graphs, proj, batch_size=batch_size))
            admissible = self._admissible(k, symmetric, structures, ok, graphs, proj, cons, batch_size, symprec)
            for j, (i, c) in enumerate(zip(ok, cons)):
                results[i] = _gate(k, structures[i], _ensemble_prediction(k, model, c, symmetric[:, j], admissible[:, j],
                                                                          structures[i], graphs[j]))
        return results  # type: ignore[return-value]

    def _predict_atoms(self, k: TensorKind, ens: ModelEnsemble, structures: Sequence, symprec: float,
                       batch_size: int) -> list[Prediction | PredictionError]:
        """One ``(n_atoms, 3, ..., 3)`` tensor per crystal for a per-atom kind: each member through
        :func:`gmtnet.models.per_atom.predict_atoms` (site symmetry and sum rule exact in float64),
        made admissible atom by atom, then averaged; σ and the scalar uncertainty (Frobenius norm
        of σ over all atoms, kind's unit) as for a per-crystal kind."""
        from gmtnet.models.per_atom import predict_atoms

        results: list[Prediction | PredictionError | None] = [None] * len(structures)
        ok, good, cons = [], [], []
        for i, s in enumerate(structures):
            try:
                s = as_structure(s)
                c = symmetry_constraints(s, k, symprec=symprec)
                build_graph(s, num_neighbors=ens.config.num_neighbors)  # refuses what the networks cannot take
            except (ValueError, TypeError, AttributeError) as err:
                results[i] = PredictionError(i, f"structure {i}: {err}")
                continue
            ok.append(i)
            good.append(s)
            cons.append(c)
        if ok:
            sum_rule = ens.config.sum_rule
            runs = [predict_atoms(m, good, batch_size=batch_size, symprec=symprec) for m in ens.members]
            for j, (i, c) in enumerate(zip(ok, cons)):
                site = runs[0][j].sites
                symmetric = np.stack([run[j].tensors for run in runs])
                admissible = np.stack([k.make_admissible(t) for t in symmetric])
                for m in np.flatnonzero(np.any(admissible != symmetric, axis=tuple(range(1, admissible.ndim)))):
                    admissible[m] = site.project(admissible[m], acoustic_sum_rule=sum_rule)
                mean = admissible.mean(axis=0)
                shift = float(np.linalg.norm(mean - symmetric.mean(axis=0)))
                extra: dict = {}
                if len(admissible) > 1:
                    mean = site.project(mean, acoustic_sum_rule=sum_rule)
                    std = admissible.std(axis=0, ddof=1) * ens.std_scale
                    extra = dict(std=std, uncertainty=float(np.linalg.norm(std)), members=admissible,
                                 std_scale=ens.std_scale)
                warnings = () if ens.domain is None else ens.domain.warnings(good[j], build_graph(good[j], num_neighbors=ens.config.num_neighbors))
                results[i] = _gate(k, good[j], _atoms_prediction(k, mean, c, site, shift, warnings, **extra))
        return results  # type: ignore[return-value]

    def _bounds_another(self, k: TensorKind) -> bool:
        """True when a loaded kind is bounded below by ``k`` (then ``k``'s members are cached)."""
        return any(KINDS[n].bounded_below_by == k.name for n in self.models if n in KINDS)

    def _lower_members(self, kind: str, structures, symprec, graphs, proj, cons, batch_size) -> np.ndarray:
        """``(M, N, ...)`` symmetric member tensors of ``kind`` (a bounding kind such as ε∞), from the
        cache where this crystal (same cell, same symprec, same loaded ensemble) was already run,
        else from the networks."""
        ens = self.models[kind]
        cache = self._bound_cache.setdefault(kind, {})
        if cache.get("ensemble") is not ens:  # another ensemble was put in place
            cache.clear()
            cache["ensemble"] = ens
        keys = [(symprec, *_cell_key(s)) for s in structures]
        todo = [j for j, key in enumerate(keys) if key not in cache]
        if todo:
            fresh = _project_each([cons[j] for j in todo], ens.run([graphs[j] for j in todo], proj[todo], batch_size=batch_size))
            for n, j in enumerate(todo):
                if len(cache) > _BOUND_CACHE_SIZE:
                    oldest = next(k for k in cache if k != "ensemble")  # insertion order
                    del cache[oldest]
                cache[keys[j]] = fresh[:, n]
        return np.stack([cache[key] for key in keys], axis=1)

    def _admissible(self, k, symmetric, structures, ok, graphs, proj, cons, batch_size, symprec=DEFAULT_SYMPREC) -> np.ndarray:
        """Admissible tensors for ``(M, N, ...)`` symmetric member predictions of kind ``k``.

        A kind bounded below by another (ε₀ ⪰ ε∞) is made admissible together with it when that
        kind is loaded, so a user who asks for both gets a consistent pair: member i with member i
        of the bound (with its mean when the counts differ); the bounding kind alone is made
        admissible the same way either way. Each changed member is projected again to clear the
        clipping's round-off.
        """
        lower = k.bounded_below_by
        if lower is None or lower not in self.models:
            out = np.stack([k.make_admissible(s) for s in symmetric])
        else:
            ensemble = self.models[lower]
            bound_kind = ensemble.kind
            if ensemble.config.num_neighbors != self.models[k.name].config.num_neighbors:
                graphs = [build_graph(structures[i], num_neighbors=ensemble.config.num_neighbors) for i in ok]
            bound = self._lower_members(lower, [structures[i] for i in ok], symprec, graphs, proj, cons, batch_size)
            if len(bound) != len(symmetric):
                bound = np.broadcast_to(bound.mean(axis=0), symmetric.shape)
            out = np.stack([k.admissible_above(s, bound_kind.make_admissible(b)) for s, b in zip(symmetric, bound)])
        changed = np.any(out != symmetric, axis=tuple(range(2, out.ndim)))
        for m, n in zip(*np.nonzero(changed)):
            out[m, n] = cons[n].project(out[m, n])
        return out


def _gate(k: TensorKind, structure, prediction: Prediction) -> Prediction:
    """The prediction with the likely-metal warning first, for the kinds defined for insulators
    only. Why a warning and not a refusal: the rule is a heuristic from the composition (it flags
    1.9 % of the bundled insulators, :mod:`gmtnet.insulator`), so the tensor is still returned,
    and a batch keeps one result per structure."""
    if not k.insulators_only:
        return prediction
    warning = metal_warning(structure, k.title[0].lower() + k.title[1:])
    return prediction if warning is None else replace(prediction, warnings=(warning, *prediction.warnings))


_BOUND_CACHE_SIZE = 1024


def _cell_key(structure) -> tuple[bytes, bytes, bytes]:
    """What makes two structures the same input: lattice, fractional coordinates, atomic numbers."""
    return (structure.lattice.matrix.tobytes(), structure.frac_coords.tobytes(),
            np.array(structure.atomic_numbers).tobytes())


def _project_each(cons: Sequence[SymmetryConstraints], tensors: np.ndarray) -> np.ndarray:
    """``(M, N, ...)`` raw member outputs, each crystal's projected (float64) with its own exact
    projector (all members of a crystal in one call)."""
    out = np.empty(tensors.shape)
    for n, c in enumerate(cons):
        out[:, n] = c.project(tensors[:, n])
    return out


def _ensemble_prediction(k: TensorKind, ens: ModelEnsemble, c: SymmetryConstraints, symmetric: np.ndarray,
                         admissible: np.ndarray, structure, graph: CrystalGraph) -> Prediction:
    """One crystal's prediction from its ``(M, ...)`` symmetric and admissible member tensors."""
    mean = admissible.mean(axis=0)
    # 0.0 exactly when no member needed clipping (unchanged members are the same arrays bit for bit)
    shift = float(np.linalg.norm(mean - symmetric.mean(axis=0)))
    if len(admissible) > 1:  # the mean of projected tensors is invariant up to round-off: clear it
        mean = c.project(mean)
    warnings = () if ens.domain is None else ens.domain.warnings(structure, graph)
    if len(admissible) < 2:
        return _make_prediction(k, mean, c, admissible_shift=shift, warnings=warnings)
    std = admissible.std(axis=0, ddof=1) * ens.std_scale
    unc = float(scalar_uncertainty(std[None], k)[0])
    if ens.uncertainty_p95 is not None and unc > ens.uncertainty_p95:
        unit = f" {k.unit}" if k.unit else ""
        # the crystals the threshold was measured on: the validation split, or for a grouped-CV
        # committee the out-of-fold crystals (``ensemble.json``'s ``uncertainty_reference``)
        ref = (ens.meta or {}).get("uncertainty_reference", "validation crystals")
        warnings += (f"Uncertainty {unc:.3g}{unit} is higher than for 95 % of the {ref} "
                     f"({ens.uncertainty_p95:.3g}{unit}).",)
    return _make_prediction(k, mean, c, admissible_shift=shift, std=std, uncertainty=unc, warnings=warnings,
                            members=admissible, std_scale=ens.std_scale)


def _atoms_prediction(k: TensorKind, tensor: np.ndarray, c: SymmetryConstraints, site: SiteSymmetry,
                      shift: float, warnings: tuple, **uncertainty) -> Prediction:
    """A per-atom kind's prediction: the symmetry report checks each atom against its site symmetry
    (``max_forbidden``: largest change the site projection makes; no equality check of its own)."""
    sym = c.symmetry
    index, blocks = site.projector_blocks(k.rank)
    n_independent = int(round(sum(np.trace(b) for (a, b_), b in zip(index.T, blocks) if a == b_)))
    off = float(np.abs(tensor - site.project(tensor)).max()) if tensor.size else 0.0
    report = SymmetryReport(
        spacegroup_number=sym.spacegroup_number, spacegroup_symbol=sym.spacegroup_symbol,
        point_group=sym.point_group, crystal_system=sym.crystal_system, n_independent=n_independent,
        symprec=sym.symprec, zero_ok=off <= 1e-5, equality_ok=off <= 1e-4, max_forbidden=off,
        max_equality_violation=off,
    )
    return Prediction(kind=k, tensor=tensor, voigt=k.to_voigt(tensor, "ieee"), symmetry=report, constraints=c,
                      admissible_shift=shift, warnings=warnings, sites=site, **uncertainty)


def _make_prediction(
    kind: TensorKind, tensor: np.ndarray, c: SymmetryConstraints, admissible_shift: float = 0.0, **uncertainty
) -> Prediction:
    # ``tensor`` comes from SymmetryConstraints.project: forbidden components are exactly 0.0 and
    # forced pairs exactly equal by construction of the projector (no clean-up needed here).
    sym = c.symmetry
    check = c.check(tensor)
    report = SymmetryReport(
        spacegroup_number=sym.spacegroup_number,
        spacegroup_symbol=sym.spacegroup_symbol,
        point_group=sym.point_group,
        crystal_system=sym.crystal_system,
        n_independent=c.n_independent,
        symprec=sym.symprec,
        **check,
    )
    return Prediction(
        kind=kind,
        tensor=tensor,
        voigt=to_voigt(tensor, kind, "ieee"),
        symmetry=report,
        constraints=c,
        admissible_shift=admissible_shift,
        **uncertainty,
    )
