"""What a tensor kind is: the one protocol every kind module implements.

A :class:`TensorKind` owns everything that depends on *which* tensor is predicted, so that the
library, CLI, screening and app ask the kind instead of branching on its rank or name:

* index symmetry, from its ``formula`` in e3nn ``CartesianTensor`` notation (``"ij=ji"``,
  ``"ijk=ikj"``, ``"ijkl=jikl=klij"``, ``"ij"`` for none): the permutation group, the component
  orbits, the index-permutation average (:meth:`TensorKind.symmetrize`), the O(3) irreps
  (:meth:`TensorKind.derived_irreps`) and the Voigt matrix form, all derived from the formula;
* one tensor per crystal or one per atom (``per_atom``; a per-atom kind gets per-site scalars,
  their extremes over the sites as columns and the surface of one site, from its rank);
* units, display names, Voigt labels and the dataset holding the labels;
* admissibility (:meth:`TensorKind.make_admissible`, :meth:`TensorKind.min_eigenvalue`), by
  default none;
* derived scalars as table columns (:attr:`TensorKind.scalar_columns`, :meth:`TensorKind.scalars`)
  and for display (:meth:`TensorKind.derived_properties`);
* directional surfaces (:attr:`TensorKind.surface_quantities`, :meth:`TensorKind.surface_function`);
* the kinds it pairs with: ``bounded_below_by`` (ε₀ ⪰ ε∞) and ``scalar_partners`` (d = e·S needs C).

Conventions: tensors are full rank (``(3,) * rank``, with a leading atom axis for per-atom kinds)
in the Cartesian frame of their structure, in :attr:`TensorKind.unit`. The Voigt form is a matrix:
index pairs that the formula makes symmetric are contracted, from the last, until two axes remain,
with no numerical factors (C_IJ = C_ijkl, e_iJ = e_ijk; a rank-2 tensor stays its 3x3 matrix).
Voigt orders are named: ``"ieee"`` (xx, yy, zz, yz, xz, xy) or ``"vasp"`` (xx, yy, zz, xy, yz, xz).

numpy only at import (e3nn is imported by :meth:`TensorKind.derived_irreps` alone). The kind
modules sit below the rest of the library: they import only this package, :mod:`gmtnet.sphere`
and :mod:`gmtnet.frames`, and the modules that ask a kind (properties, scalars, surfaces, tensors)
import them, never the other way round.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import ClassVar

import numpy as np

from gmtnet.sphere import principal_axes

__all__ = [
    "VOIGT_PAIRS",
    "DerivedValue",
    "quadratic_form",
    "longitudinal",
    "TensorKind",
    "SymmetricMatrixKind",
    "ScalarColumn",
    "SurfaceQuantity",
    "clip_spectrum",
]

#: Index pairs of each Voigt position, per order.
VOIGT_PAIRS: dict[str, tuple[tuple[int, int], ...]] = {
    "ieee": ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)),
    "vasp": ((0, 0), (1, 1), (2, 2), (0, 1), (1, 2), (0, 2)),
}


def voigt_pairs(order: str) -> tuple[tuple[int, int], ...]:
    """The six index pairs of ``order``; ValueError for an unknown order."""
    try:
        return VOIGT_PAIRS[order]
    except KeyError:
        raise ValueError(f"unknown Voigt order {order!r}; use 'ieee' or 'vasp'") from None


def clip_spectrum(matrix: np.ndarray, floor: float) -> np.ndarray:
    """Nearest (Frobenius) symmetric matrix with every eigenvalue ≥ ``floor``; batches allowed.

    The input is symmetrised first. Matrices already admissible are returned unchanged
    (bit for bit), so that clipping never adds round-off where nothing had to change.
    """
    m = np.asarray(matrix, dtype=float)
    m = 0.5 * (m + np.swapaxes(m, -1, -2))
    w, v = np.linalg.eigh(m)
    if np.all(w >= floor):
        return m
    clipped = np.einsum("...ij,...j,...kj->...ik", v, np.maximum(w, floor), v)
    # Only the matrices that needed it change; the others keep their exact values.
    needs = np.any(w < floor, axis=-1)[..., None, None]
    out = np.where(needs, clipped, m)
    return 0.5 * (out + np.swapaxes(out, -1, -2))


@dataclass(frozen=True)
class DerivedValue:
    """One displayed quantity: a value, its unit and, where it has any, its direction(s).

    Attributes:
        value: float, bool (a yes/no check), or ``(k,)`` array (e.g. three principal values).
        unit: unit string (``""`` for dimensionless).
        direction: ``(3,)`` unit vector or ``(k, 3)`` unit vectors (one per value), structure frame.
        direction2: second ``(3,)`` unit vector (⟂ ``direction``), for shear modulus / Poisson ratio.
        note: short explanation shown as a tooltip or footnote.
    """

    value: float | bool | np.ndarray
    unit: str = ""
    direction: np.ndarray | None = None
    direction2: np.ndarray | None = None
    note: str = ""


def quadratic_form(matrix: np.ndarray, n: np.ndarray) -> np.ndarray:
    """nᵀ M n for one ``(3, 3)`` matrix and ``(..., 3)`` unit vectors ``n`` (M's unit)."""
    return np.einsum("...i,ij,...j->...", n, np.asarray(matrix, dtype=float), n)


def longitudinal(tensor: np.ndarray, n: np.ndarray) -> np.ndarray:
    """T_{i…} n_i … (every index contracted with n) for one rank-r tensor and ``(..., 3)`` unit
    vectors ``n``, in T's unit: nᵀTn for rank 2 (only T's symmetric part counts), e(n) for rank 3."""
    t = np.asarray(tensor, dtype=float)
    idx = "ijklmnop"[: t.ndim]
    return np.einsum(f"{idx}," + ",".join(f"...{c}" for c in idx) + "->...", t, *([n] * t.ndim))


@dataclass(frozen=True)
class ScalarColumn:
    """A derived scalar of one tensor as a table column (screening, Browse).

    Attributes:
        name: column name, unique over all kinds (two kinds may share a column, e.g. ``eps_min``).
        unit: unit of the values (``""`` for dimensionless).
        description: what it is, in a line.
        boolean: True for a yes/no column (stored as a nullable boolean), else float64.
    """

    name: str
    unit: str
    description: str
    boolean: bool = False


@dataclass(frozen=True)
class SurfaceQuantity:
    """A directional quantity f(n) that can be drawn as a surface.

    Attributes:
        name: registry key (two kinds may share one, e.g. ``"dielectric"`` for ε₀ and ε∞).
        kinds: names of the kinds it applies to (filled in by the registry's view
            :data:`gmtnet.surfaces.SURFACE_QUANTITIES`; a kind declares its own with ``()``).
        label: display label, e.g. ``"Young's modulus E(n)"``.
        unit: unit of the values (``""`` for dimensionless).
        signed: True when f(n) can be negative (drawn with a diverging colour scale).
    """

    name: str
    kinds: tuple[str, ...]
    label: str
    unit: str
    signed: bool = False


@dataclass(frozen=True, eq=False)
class TensorKind:
    """One predicted tensor property (the base protocol; kinds with physics subclass it).

    Attributes:
        name: registry key, e.g. ``"elastic"``.
        title: human-readable name.
        symbol: symbol used in tables and plots.
        rank: tensor rank.
        formula: intrinsic index symmetry in e3nn ``CartesianTensor`` notation; its first word
            must have ``rank`` distinct letters.
        irreps: O(3) irreps spanned by tensors with that index symmetry (parity ``e``/``o``);
            ``""`` derives them from the formula with e3nn (:meth:`derived_irreps`).
        unit: physical unit of every component (``""`` for dimensionless).
        voigt_shape: shape of the Voigt matrix; ``()`` derives it from the formula.
        voigt_prefix: letter of the Voigt component names (``C11``, ``e15``); default the symbol.
        dataset: name of the bundled dataset holding the labels (``""``: none bundled).
        column: column of :func:`gmtnet.data.load_dataset` holding the labels.
        per_atom: one tensor per atom (``(n_atoms, 3, ..., 3)``) instead of one per crystal.
        sum_rule: (per-atom kinds) the tensors sum to zero over a crystal's atoms, as Born charges
            do (the acoustic sum rule): a model of the kind imposes it exactly
            (:attr:`gmtnet.models.config.ModelConfig.sum_rule`).
        bounded_below_by: name of a kind whose tensor bounds this one from below (ε₀ ⪰ ε∞): a
            prediction is made admissible together with it (:meth:`admissible_above`).
        scalar_partners: names of kinds whose tensor of the same crystal :meth:`scalars` uses.
        insulators_only: defined for insulators only: a likely metal gets a warning
            (:mod:`gmtnet.insulator`).
        weights: directory of the kind's weights (an ensemble directory or a trained run);
            None: the shipped ``gmtnet/resources/weights/<name>``. It need not exist: the
            :class:`~gmtnet.predict.Predictor` loads the kinds whose weights exist.
    """

    name: str
    title: str
    symbol: str
    rank: int
    formula: str
    irreps: str = ""
    unit: str = ""
    voigt_shape: tuple[int, ...] = ()
    voigt_prefix: str = ""
    dataset: str = ""
    column: str = ""
    per_atom: bool = False
    sum_rule: bool = False
    bounded_below_by: str | None = None
    scalar_partners: tuple[str, ...] = ()
    insulators_only: bool = False
    weights: str | None = None

    def __post_init__(self) -> None:
        words = self.formula.split("=")
        if not self.name or not self.name.isidentifier():
            raise ValueError(f"a kind name must be an identifier, got {self.name!r}")
        if self.rank < 1 or len(words[0]) != self.rank or len(set(words[0])) != self.rank:
            raise ValueError(f"{self.name}: formula {self.formula!r} does not name {self.rank} distinct indices")
        if any(sorted(w) != sorted(words[0]) for w in words[1:]):
            raise ValueError(f"{self.name}: every word of {self.formula!r} must permute {words[0]!r}")
        if self.sum_rule and not self.per_atom:
            raise ValueError(f"{self.name}: sum_rule (Σ over atoms = 0) needs per_atom=True")
        if not self.voigt_shape:
            object.__setattr__(self, "voigt_shape", tuple(3 if len(g) == 1 else 6 for g in self._voigt_groups))
        elif tuple(self.voigt_shape) != tuple(3 if len(g) == 1 else 6 for g in self._voigt_groups):
            raise ValueError(f"{self.name}: voigt_shape {self.voigt_shape} does not follow from {self.formula!r}")
        if not self.voigt_prefix:
            object.__setattr__(self, "voigt_prefix", self.symbol)
        if not self.irreps:
            object.__setattr__(self, "irreps", self.derived_irreps())

    # ------------------------------------------------------------------ shape and display
    @property
    def shape(self) -> tuple[int, ...]:
        """Full-rank Cartesian shape of one tensor, ``(3,) * rank`` (per atom for per-atom kinds)."""
        return (3,) * self.rank

    def tensor_shape(self, n_atoms: int | None = None) -> tuple[int, ...]:
        """Shape of one crystal's prediction: :attr:`shape`, or ``(n_atoms, *shape)`` per atom."""
        if not self.per_atom:
            return self.shape
        if n_atoms is None:
            raise ValueError(f"{self.name} is per atom: give the number of atoms")
        return (n_atoms, *self.shape)

    @property
    def unit_label(self) -> str:
        """Unit for display; ``"dimensionless"`` when there is none."""
        return self.unit or "dimensionless"

    @property
    def label(self) -> str:
        """``"symbol (unit)"`` for axis and column titles."""
        return f"{self.symbol} ({self.unit_label})"

    def check(self, tensor, what: str | None = None) -> np.ndarray:
        """``tensor`` as float64, ValueError unless its last axes have the kind's shape."""
        t = np.asarray(tensor, dtype=float)
        if t.shape[t.ndim - self.rank:] != self.shape:
            raise ValueError(f"{what or self.name + ' tensor'} must end in shape {self.shape}, got array of shape {t.shape}")
        return t

    def check_single(self, tensor) -> np.ndarray:
        """``tensor`` as float64, ValueError unless it is exactly one crystal's tensor: the kind's
        shape, or ``(n_atoms, *shape)`` with n_atoms ≥ 1 for a per-atom kind."""
        t = np.asarray(tensor, dtype=float)
        if self.per_atom:
            if t.ndim != self.rank + 1 or t.shape[1:] != self.shape or not len(t):
                raise ValueError(f"{self.name} tensor must have shape (n_atoms, {', '.join(['3'] * self.rank)}), got {t.shape}")
        elif t.shape != self.shape:
            raise ValueError(f"{self.name} tensor must have shape {self.shape}, got {t.shape}")
        return t

    # ------------------------------------------------------------------ index symmetry
    @cached_property
    def permutations(self) -> tuple[tuple[int, ...], ...]:
        """The group of index permutations generated by the formula (e.g. ``ijkl=jikl=klij``), sorted."""
        words = self.formula.split("=")
        gens = [tuple(words[0].index(c) for c in w) for w in words[1:]]
        group = {tuple(range(self.rank))}
        while True:
            new = {tuple(p[g[i]] for i in range(self.rank)) for p in group for g in gens} | group
            if new == group:
                return tuple(sorted(group))
            group = new

    @cached_property
    def index_orbits(self) -> tuple[tuple[int, ...], ...]:
        """Orbits of row-major flat component indices under :attr:`permutations`, by smallest member."""
        orbits: dict[int, set[int]] = {}
        for idx in itertools.product(range(3), repeat=self.rank):
            flat = {int(np.ravel_multi_index(tuple(idx[p] for p in perm), self.shape)) for perm in self.permutations}
            orbits.setdefault(min(flat), set()).update(flat)
        return tuple(tuple(sorted(o)) for _, o in sorted(orbits.items()))

    @cached_property
    def _averaging_steps(self) -> tuple[tuple[int, ...], ...]:
        """Involutions g₁, g₂, … whose averages ½(1 + g) applied in turn give the group average.

        Chosen as a chain of subgroups H₀ = {1} ⊂ H₁ ⊂ … with H_{k+1} = H_k ∪ g H_k, g an involution
        normalising H_k (then ½(1 + g)·avg(H_k) = avg(H_{k+1})); the smallest transpositions first
        (ε: ij↔ji; e: jk; C: ij, kl, then the pair swap), the order the averages were written in.
        """
        group = set(self.permutations)
        ident = tuple(range(self.rank))

        def compose(a, b):
            return tuple(a[b[i]] for i in range(self.rank))

        def moved(p):
            return [i for i in range(self.rank) if p[i] != i]

        candidates = sorted((p for p in group if p != ident and compose(p, p) == ident),
                            key=lambda p: (len(moved(p)), moved(p)[0], p))
        sub, steps = {ident}, []
        while sub != group:
            for g in candidates:
                if g in sub:
                    continue
                if {compose(compose(g, h), g) for h in sub} == sub:  # g normalises the subgroup
                    sub = sub | {compose(g, h) for h in sub}
                    steps.append(g)
                    break
            else:  # no involution chain (a cyclic formula such as ijk=jki): fall back to the full average
                return ()
        return tuple(steps)

    def symmetrize(self, tensor) -> np.ndarray:
        """Average a tensor over the kind's intrinsic index permutations; leading axes are kept."""
        t = self.check(tensor)
        lead = list(range(t.ndim - self.rank))
        steps = self._averaging_steps
        if not steps and len(self.permutations) > 1:
            return sum(np.transpose(t, lead + [len(lead) + i for i in p]) for p in self.permutations) / len(self.permutations)
        for g in steps:
            t = 0.5 * (t + np.transpose(t, lead + [len(lead) + i for i in g]))
        return t

    def derived_irreps(self) -> str:
        """The irreps of e3nn's ``CartesianTensor(formula)`` (every index a polar vector), simplified."""
        from e3nn import o3

        indices = self.formula.split("=")[0]
        rtp = o3.ReducedTensorProducts(self.formula, **{i: "1o" for i in indices})
        return str(rtp.irreps_out.simplify())

    # ------------------------------------------------------------------ Voigt form
    @cached_property
    def _voigt_groups(self) -> tuple[tuple[int, ...], ...]:
        """The tensor axes behind each Voigt axis: symmetric adjacent pairs contracted from the last
        until two axes remain (rank 2 stays a matrix)."""
        perms = set(self.permutations)
        groups: list[tuple[int, ...]] = [(a,) for a in range(self.rank)]
        a = self.rank - 2
        while len(groups) > 2 and a >= 0:
            swap = list(range(self.rank))
            swap[a], swap[a + 1] = a + 1, a
            if tuple(swap) in perms and (a,) in groups and (a + 1,) in groups:
                i = groups.index((a,))
                groups[i:i + 2] = [(a, a + 1)]
                a -= 2
            else:
                a -= 1
        return tuple(groups)

    def to_voigt(self, tensor, order: str = "ieee") -> np.ndarray:
        """Full rank ``(..., 3, ..., 3)`` → Voigt matrix ``(..., *voigt_shape)`` in ``order``
        (no numerical factors; the symmetric part is read off from the listed pairs)."""
        t = np.asarray(tensor)
        if t.shape[t.ndim - self.rank:] != self.shape:
            raise ValueError(f"{self.name} tensor must end in shape {self.shape}, got array of shape {t.shape}")
        pairs = voigt_pairs(order)
        index: list[np.ndarray] = []
        for axis, group in enumerate(self._voigt_groups):
            where = [None] * len(self._voigt_groups)
            where[axis] = slice(None)
            if len(group) == 1:
                index.append(np.arange(3)[tuple(where)])
            else:
                index += [np.array([p[0] for p in pairs])[tuple(where)], np.array([p[1] for p in pairs])[tuple(where)]]
        if all(len(g) == 1 for g in self._voigt_groups):
            return t.copy()
        return t[(Ellipsis, *index)]

    def from_voigt(self, voigt, order: str = "ieee") -> np.ndarray:
        """Voigt matrix ``(..., *voigt_shape)`` in ``order`` → full rank, index symmetry filled in."""
        v = np.asarray(voigt)
        if v.shape[v.ndim - len(self.voigt_shape):] != tuple(self.voigt_shape):
            raise ValueError(f"{self.name} Voigt matrix must end in shape {tuple(self.voigt_shape)}, got array of shape {v.shape}")
        if all(len(g) == 1 for g in self._voigt_groups):
            return v.copy()
        pos = np.empty((3, 3), dtype=int)
        for n, (i, j) in enumerate(voigt_pairs(order)):
            pos[i, j] = pos[j, i] = n
        grid = np.indices(self.shape)
        index = [grid[g[0]] if len(g) == 1 else pos[grid[g[0]], grid[g[1]]] for g in self._voigt_groups]
        return v[(Ellipsis, *index)]

    def voigt_position(self, idx: tuple[int, ...], order: str = "ieee") -> tuple[int, int]:
        """Voigt matrix position of the Cartesian component ``idx``."""
        pos = np.empty((3, 3), dtype=int)
        for n, (i, j) in enumerate(voigt_pairs(order)):
            pos[i, j] = pos[j, i] = n
        r, c = (idx[g[0]] if len(g) == 1 else int(pos[idx[g[0]], idx[g[1]]]) for g in self._voigt_groups)
        return int(r), int(c)

    def voigt_labels(self, order: str = "ieee") -> np.ndarray:
        """Component names of the Voigt matrix: Cartesian (``εxy``) for a plain matrix form, else
        1-based Voigt indices in ``order`` (``C11`` … ``C66``, ``e11`` … ``e36``)."""
        rows, cols = self.voigt_shape
        if all(len(g) == 1 for g in self._voigt_groups):
            xyz = "xyz"
            return np.array([[f"{self.voigt_prefix}{xyz[i]}{xyz[j]}" for j in range(cols)] for i in range(rows)])
        return np.array([[f"{self.voigt_prefix}{i + 1}{j + 1}" for j in range(cols)] for i in range(rows)])

    def voigt_axis_labels(self, order: str = "ieee") -> tuple[list[str], list[str]]:
        """Row and column titles of the Voigt matrix in ``order``: ``x, y, z`` for a plain matrix
        form, else ``1 (x)`` for a Cartesian axis and ``4 (yz)`` for a contracted pair."""
        xyz = "xyz"
        if all(len(g) == 1 for g in self._voigt_groups):
            return list(xyz), list(xyz)
        pairs = [xyz[i] + xyz[j] for i, j in voigt_pairs(order)]
        out = [[f"{i + 1} ({xyz[i]})" for i in range(3)] if len(g) == 1 else [f"{i + 1} ({p})" for i, p in enumerate(pairs)]
               for g in self._voigt_groups]
        return out[0], out[1]

    @property
    def voigt_symmetric(self) -> bool:
        """True when the Voigt matrix is symmetric (its two axes are interchanged by the formula)."""
        g = self._voigt_groups
        if len(g) != 2 or len(g[0]) != len(g[1]):
            return False
        swap = list(range(self.rank))
        for a, b in zip(g[0], g[1]):
            swap[a], swap[b] = b, a
        return tuple(swap) in set(self.permutations)

    # ------------------------------------------------------------------ admissibility (none by default)
    #: Smallest eigenvalue allowed by :meth:`min_eigenvalue`'s operator; None when unbounded.
    floor: ClassVar[float | None] = None

    def make_admissible(self, tensor) -> np.ndarray:
        """The admissible tensor nearest to ``tensor`` (unchanged by default), full rank, same units."""
        return np.asarray(tensor, dtype=float)

    def min_eigenvalue(self, tensor) -> np.ndarray | None:
        """Smallest eigenvalue of the operator the kind bounds (None when it bounds none)."""
        return None

    def is_admissible(self, tensor, rtol: float = 1e-9) -> np.ndarray | bool:
        """True where ``tensor`` satisfies the kind's bound (eigenvalues ≥ :attr:`floor`, to ``rtol``)."""
        lam = self.min_eigenvalue(tensor)
        if lam is None or self.floor is None:
            return True
        scale = np.maximum(np.abs(np.asarray(tensor)).reshape(*np.shape(lam), -1).max(axis=-1), 1.0)
        return lam >= self.floor - rtol * scale

    def admissible_above(self, tensor, lower) -> np.ndarray:
        """Admissible ``tensor`` given the (admissible) tensor of :attr:`bounded_below_by`."""
        raise ValueError(f"{self.name} is bounded by no other kind")

    # ------------------------------------------------------------------ derived quantities
    # A per-crystal kind derives nothing by default (a subclass with physics declares its own). A
    # per-atom kind has a default derived from its rank alone: scalars of each site's tensor
    # (:attr:`site_scalar_columns`), their extremes over the sites as table columns, and the
    # longitudinal surface T(n) = T_{i…} n_i … of one chosen site.

    @property
    def site_scalar_columns(self) -> tuple[ScalarColumn, ...]:
        """Scalars of one site's tensor (per-atom kinds; none per crystal), named without the kind:
        rank 2: ``iso`` = tr(T)/3 (the isotropic part) and ``aniso`` = ‖T − (tr T/3)·1‖_F (how far
        the site's tensor is from isotropic, antisymmetric part included); other ranks: ``norm`` =
        ‖T‖_F. All in the kind's unit."""
        if not self.per_atom:
            return ()
        s, u = self.symbol, self.unit
        if self.rank == 2:
            return (ScalarColumn("iso", u, f"isotropic part tr({s})/3 of a site's {s}"),
                    ScalarColumn("aniso", u, f"anisotropy ‖{s} − (tr {s}/3)·1‖_F of a site's {s}"))
        return (ScalarColumn("norm", u, f"Frobenius norm of a site's {s}"),)

    def site_scalars(self, tensor) -> list[dict[str, float]]:
        """:attr:`site_scalar_columns` of every site of ``(n_atoms, *shape)`` (kind's unit), one
        dict per site in site order; ValueError for a per-crystal kind."""
        if not self.per_atom:
            raise ValueError(f"{self.name} is one tensor per crystal, not per site")
        t = self.check_single(tensor)
        if self.rank == 2:
            iso = np.trace(t, axis1=-2, axis2=-1) / 3.0
            aniso = np.linalg.norm((t - iso[:, None, None] * np.eye(3)).reshape(len(t), -1), axis=1)
            return [{"iso": float(i), "aniso": float(a)} for i, a in zip(iso, aniso)]
        return [{"norm": float(x)} for x in np.linalg.norm(t.reshape(len(t), -1), axis=1)]

    @property
    def scalar_columns(self) -> tuple[ScalarColumn, ...]:
        """The table columns :meth:`scalars` fills: none per crystal by default; a per-atom kind's
        are the smallest and largest over the sites of each site scalar, ``{name}_{scalar}_min`` /
        ``_max``."""
        return tuple(ScalarColumn(f"{self.name}_{c.name}_{m}", c.unit, f"{w} over the sites: {c.description}")
                     for c in self.site_scalar_columns for m, w in (("min", "smallest"), ("max", "largest")))

    @property
    def surface_quantities(self) -> tuple[SurfaceQuantity, ...]:
        """Directional quantities :meth:`surface_function` evaluates: none per crystal by default; a
        per-atom kind: the longitudinal T(n) of one site (:mod:`gmtnet.surfaces` takes the site)."""
        if not self.per_atom:
            return ()
        idx = "ijklmnop"[: self.rank]
        return (SurfaceQuantity(f"{self.name}_site", (), f"{self.symbol}(n) = {self.symbol}_{idx} "
                                + " ".join(f"n_{c}" for c in idx) + " of one site", self.unit, signed=True),)

    def scalars(self, tensor: np.ndarray, partners: Mapping[str, np.ndarray | None] | None = None) -> dict:
        """Values of :attr:`scalar_columns` for one full-rank tensor (per atom: ``(n_atoms, *shape)``);
        ``partners`` maps the names in :attr:`scalar_partners` to the same crystal's tensors (or None)."""
        if not self.per_atom:
            return {}
        sites = self.site_scalars(tensor)
        return {f"{self.name}_{c.name}_{m}": float(f(np.array([x[c.name] for x in sites])))
                for c in self.site_scalar_columns for m, f in (("min", np.min), ("max", np.max))}

    def surface_function(self, tensor: np.ndarray, quantity: str) -> Callable[[np.ndarray], np.ndarray]:
        """f: unit vectors ``(..., 3)`` → values of ``quantity`` for one tensor (per atom: one site's)."""
        if self.per_atom and quantity in {q.name for q in self.surface_quantities}:
            t = np.asarray(tensor, dtype=float)
            if t.shape != self.shape:
                raise ValueError(f"{quantity} is drawn for one site: give a tensor of shape {self.shape}, got {t.shape}")
            return lambda n: longitudinal(t, n)
        raise ValueError(f"{self.name} has no directional quantity {quantity!r}")

    #: True when :meth:`derived_properties` has costly directional ``extrema`` worth a switch.
    costly_extrema: ClassVar[bool] = False

    def derived_properties(self, tensor: np.ndarray, structure=None, extrema: bool = True) -> dict:
        """name → :class:`DerivedValue` for display: none per crystal by default; a per-atom kind's
        site scalars, each as the values of all sites in site order."""
        if not self.per_atom:
            return {}
        sites = self.site_scalars(tensor)
        return {f"{c.name} per site": DerivedValue(np.array([x[c.name] for x in sites]), c.unit,
                                                   note=f"{c.description}; sites in structure order")
                for c in self.site_scalar_columns}

    def paired_tensors(self, tensor: np.ndarray, partners: Mapping[str, np.ndarray]) -> dict:
        """Tensors derived from this one and the same crystal's :attr:`scalar_partners` (given by
        name in ``partners``), for display: title → ``(voigt, unit, note)`` with ``voigt`` in IEEE
        order, labelled like this kind's Voigt matrix; none by default."""
        return {}

    def to_pymatgen(self, tensor: np.ndarray):
        """pymatgen's tensor object for one full-rank tensor (generic ``Tensor`` by default)."""
        from pymatgen.core.tensors import Tensor

        return Tensor(np.array(tensor, dtype=np.float64))


@dataclass(frozen=True, eq=False)
class SymmetricMatrixKind(TensorKind):
    """A symmetric rank-2 tensor (``formula="ij=ji"``): principal values, nᵀTn, no bound.

    ``column_prefix`` names its table columns ``{prefix}_min``, ``_mid``, ``_max``, ``_mean``
    (default: the kind's name).
    """

    column_prefix: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.rank != 2 or self.permutations != ((0, 1), (1, 0)):
            raise ValueError(f"{self.name}: a symmetric matrix kind needs rank 2 and formula 'ij=ji'")

    @property
    def _prefix(self) -> str:
        return self.column_prefix or self.name

    @property
    def scalar_columns(self) -> tuple[ScalarColumn, ...]:  # type: ignore[override]
        s, p = self.symbol, self._prefix
        return (
            ScalarColumn(f"{p}_min", self.unit, f"smallest principal value of {s}"),
            ScalarColumn(f"{p}_mid", self.unit, f"middle principal value of {s}"),
            ScalarColumn(f"{p}_max", self.unit, f"largest principal value of {s}"),
            ScalarColumn(f"{p}_mean", self.unit, f"tr({s})/3"),
        )

    @property
    def surface_quantities(self) -> tuple[SurfaceQuantity, ...]:  # type: ignore[override]
        return (SurfaceQuantity(self.name, (), f"{self.symbol}(n) = nᵀ{self.symbol}n", self.unit, signed=True),)

    def scalars(self, tensor, partners=None) -> dict:
        t = np.asarray(tensor, dtype=float)
        w = np.linalg.eigvalsh(0.5 * (t + t.T))
        p = self._prefix
        return {f"{p}_min": float(w[0]), f"{p}_mid": float(w[1]), f"{p}_max": float(w[2]),
                f"{p}_mean": float(np.trace(t) / 3.0)}

    def surface_function(self, tensor, quantity):
        if quantity != self.surface_quantities[0].name:
            return super().surface_function(tensor, quantity)
        t = np.asarray(tensor, dtype=float)
        return lambda n: quadratic_form(t, n)

    def derived_properties(self, tensor, structure=None, extrema=True) -> dict:
        t = np.asarray(tensor, dtype=float)
        w, axes = principal_axes(t)
        return {
            "principal values": DerivedValue(w, self.unit, axes, note=f"eigenvalues of {self.symbol}, ascending; directions are the principal axes"),
            f"average {self.symbol}": DerivedValue(float(np.trace(t) / 3.0), self.unit, note=f"tr({self.symbol})/3"),
        }
