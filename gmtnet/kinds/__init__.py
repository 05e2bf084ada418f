"""The registry of tensor kinds: one module per predicted property, on the protocol of :mod:`.base`.

A kind (:class:`~gmtnet.kinds.base.TensorKind`) owns everything that depends on *which* tensor is
predicted: index symmetry and irreps (from its formula), per crystal or per atom, units, Voigt form
and labels, admissibility, derived scalars, directional surfaces, the kinds it pairs with, display
names. The rest of the library asks the kind; a new kind is one new module (or one object built in
a notebook or a test) passed to :func:`register_kind`.

Shipped kinds: :mod:`.dielectric` (ε₀, ε∞), :mod:`.piezoelectric` (e), :mod:`.elastic` (C), one
tensor per crystal; and :mod:`.born` (Born effective charges Z*, one tensor per atom), registered
after them and installed while its weights exist.

Conventions used throughout the project
---------------------------------------
* Tensors are stored **full rank** (3x3, 3x3x3, 3x3x3x3) in the Cartesian frame of the crystal
  structure they belong to, in the units given by :attr:`TensorKind.unit`.
* Voigt forms name their order explicitly: ``"ieee"`` (IEEE 176 / pymatgen / Materials Project:
  xx, yy, zz, yz, xz, xy) or ``"vasp"`` (VASP / JARVIS / GMTNet: xx, yy, zz, xy, yz, xz).
* For the shipped kinds the Voigt map carries no numerical factors: the piezoelectric *stress*
  constants e_iJ = e_ijk (C/m^2) and the *stiffness* C_IJ = C_ijkl (GPa). (Factors of 2 and 4 would
  appear for strain-type coefficients d and compliances s, which this project does not predict.)
* Kinds travel as objects: a name is resolved once, at the public edge, with :func:`get_kind`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gmtnet.kinds.base import (
    VOIGT_PAIRS,
    ScalarColumn,
    SurfaceQuantity,
    SymmetricMatrixKind,
    TensorKind,
    clip_spectrum,
)
from gmtnet.kinds.born import BORN
from gmtnet.kinds.dielectric import ELECTRONIC, STATIC
from gmtnet.kinds.elastic import ELASTIC
from gmtnet.kinds.piezoelectric import PIEZOELECTRIC

__all__ = [
    "TensorKind",
    "SymmetricMatrixKind",
    "ScalarColumn",
    "SurfaceQuantity",
    "VOIGT_PAIRS",
    "clip_spectrum",
    "KINDS",
    "SHIPPED",
    "PER_ATOM",
    "get_kind",
    "register_kind",
    "unregister_kind",
    "DATASETS",
    "scalar_column_table",
    "surface_quantity_table",
    "RegistryView",
]

#: name → kind, in registration order (the order of tables, tabs and CLI defaults).
KINDS: dict[str, TensorKind] = {}

#: The kinds this package ships (their weights are in ``gmtnet/resources/weights``).
SHIPPED: tuple[TensorKind, ...] = (STATIC, ELECTRONIC, PIEZOELECTRIC, ELASTIC)

#: The per-atom kinds this package registers (after :data:`SHIPPED`; installed while their
#: weights exist in ``gmtnet/resources/weights/<name>``).
PER_ATOM: tuple[TensorKind, ...] = (BORN,)

#: The three bundled datasets (a dataset may feed several kinds).
DATASETS: tuple[str, ...] = ("dielectric", "piezoelectric", "elastic")


def register_kind(kind: TensorKind, replace: bool = False) -> TensorKind:
    """Add ``kind`` to :data:`KINDS` (weights need not exist yet: :class:`gmtnet.predict.Predictor`
    loads the kinds whose weights exist and lists the others in ``missing``). The kinds it pairs
    with are looked up when used: a pairing with an unregistered or unloaded kind is skipped.

    Raises:
        TypeError: ``kind`` is not a :class:`TensorKind`.
        ValueError: the name is taken by another kind (unless ``replace``), or a scalar column or surface quantity name clashes with another
            kind's of different meaning.
    """
    if not isinstance(kind, TensorKind):
        raise TypeError(f"register_kind needs a TensorKind, got {type(kind).__name__}")
    old = KINDS.get(kind.name)
    if old is not None and old is not kind and not replace:
        raise ValueError(f"a kind named {kind.name!r} is registered already; pass replace=True or unregister_kind first")
    others = [k for k in KINDS.values() if k.name != kind.name]
    columns = {c.name: c for k in others for c in k.scalar_columns}
    for c in kind.scalar_columns:
        if c.name in columns and columns[c.name] != c:
            raise ValueError(f"scalar column {c.name!r} of {kind.name!r} clashes with another kind's")
    quantities = {q.name: q for k in others for q in k.surface_quantities}
    for q in kind.surface_quantities:
        if q.name in quantities and quantities[q.name] != q:
            raise ValueError(f"surface quantity {q.name!r} of {kind.name!r} clashes with another kind's")
    KINDS[kind.name] = kind
    return kind


def unregister_kind(kind: str | TensorKind) -> None:
    """Remove a kind from :data:`KINDS` (a test's kind, at teardown); ValueError if not registered
    or if a registered kind pairs with it."""
    name = kind.name if isinstance(kind, TensorKind) else kind
    if name not in KINDS:
        raise ValueError(f"no kind {name!r} is registered")
    users = [k.name for k in KINDS.values() if k.name != name and name in (k.bounded_below_by, *k.scalar_partners)]
    if users:
        raise ValueError(f"{users} pair with {name!r}: unregister them first")
    del KINDS[name]


def get_kind(kind: str | TensorKind) -> TensorKind:
    """Return the registry entry for ``kind`` (a name or a :class:`TensorKind`, returned as is).

    Raises:
        ValueError: if the name is not registered.
    """
    if isinstance(kind, TensorKind):
        return kind
    try:
        return KINDS[kind]
    except (KeyError, TypeError):
        raise ValueError(f"unknown tensor kind {kind!r}; expected one of {sorted(KINDS)}") from None


def scalar_column_table() -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """column → (unit, description, names of the registered kinds that fill it), registry order."""
    out: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    for k in KINDS.values():
        for c in k.scalar_columns:
            unit, text, names = out.get(c.name, (c.unit, c.description, ()))
            out[c.name] = (unit, text, (*names, k.name))
    return out


def surface_quantity_table() -> dict[str, SurfaceQuantity]:
    """quantity name → :class:`SurfaceQuantity` with ``kinds`` filled in, registry order."""
    out: dict[str, SurfaceQuantity] = {}
    for k in KINDS.values():
        for q in k.surface_quantities:
            prev = out.get(q.name)
            names = (*prev.kinds, k.name) if prev is not None else (k.name,)
            out[q.name] = SurfaceQuantity(q.name, names, q.label, q.unit, q.signed)
    return out


class RegistryView(Mapping):
    """A read-only mapping rebuilt from the registered kinds on every access (``table()``), so that
    module-level tables such as :data:`gmtnet.scalars.SCALAR_COLUMNS` include kinds registered later."""

    def __init__(self, table: Callable[[], dict]):
        self._table = table

    def __getitem__(self, key):
        return self._table()[key]

    def __iter__(self):
        return iter(self._table())

    def __len__(self):
        return len(self._table())

    def __repr__(self):
        return repr(self._table())


for _kind in (*SHIPPED, *PER_ATOM):
    register_kind(_kind)
del _kind
