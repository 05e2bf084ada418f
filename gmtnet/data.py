"""The bundled Materials Project tensor datasets: loading, quality flags, the fixed split, summaries.

Three datasets ship in ``gmtnet/resources/data/`` (built by ``scripts/build_datasets.py`` from the
matminer 0.4.0 CSVs and a legacy Materials Project elastic set; provenance, licence, counts and
how to cite are in ``DATA_CARD.md`` there):

* ``dielectric`` (1,056 rows): ``tensor`` = static ε₀ (electronic + ionic) and
  ``tensor_electronic`` = high-frequency ε∞, dimensionless;
* ``piezoelectric`` (941 rows): ``tensor`` = stress constants e_ijk, C/m²;
* ``elastic`` (2,272 rows: 1,181 matminer + 1,091 legacy): ``tensor`` = stiffness C_ijkl, GPa.

Every tensor is full rank, shape ``(3,) * rank``, float64, in source units and in the Cartesian
frame of the row's ``structure`` (the cell it was computed on; tensors the source gave in the
IEEE frame were rotated back). A kind's label column is its :attr:`gmtnet.kinds.TensorKind.column`.
Where the IEEE convention leaves the orientation open, ``candidates`` lists every structure-frame
tensor the label may be (:mod:`gmtnet.orientation`); :func:`label_candidates` gives them for any
kind.

Quality flags (:data:`FLAGS`) mark rows whose label disagrees with the structure's own symmetry
(frame mismatch or DFT noise) or is unphysically large. Flagged rows stay in the data as
references; training and test use ``load_dataset(kind, include_flagged=False)``.

The train/val/test split is fixed per Materials Project id over the union of the three datasets
(:func:`assign_splits`, seed :data:`SPLIT_SEED` for the matminer ids, :data:`NEW_IDS_SPLIT_SEED`
for the ids added with the legacy elastic rows), so no material is in two splits across kinds.
The non-test ids are also cut into :data:`N_FOLDS` fixed cross-validation folds
(:func:`assign_folds`, the ``fold`` column; :data:`TEST_FOLD` for test rows), and into as many
*grouped* folds (:func:`assign_group_folds`, the ``group_fold`` column): every material of one
chemical system in the same fold, so a model is scored on chemistry it has not seen.

A fourth file, :data:`DFPT_DATASET`, holds 1,520 DFPT ε∞ tensors with per-atom Born effective
charges from ABINIT/PBEsol (:func:`load_dfpt`); crystals that match a bundled cell share its split.

Importing this module does not import torch.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pymatgen.core import Lattice, Structure

from gmtnet.kinds import DATASETS, KINDS, TensorKind
from gmtnet.tensors import to_voigt

__all__ = [
    "LABEL_ORIENTATIONS",
    "load_piezo_orientation",
    "orient_labels",
    "RESIDUAL_THRESHOLD",
    "LARGE_EPS_LIMIT",
    "SPLIT_SEED",
    "SPLITS",
    "SPLIT_FRACTIONS",
    "NEW_IDS_SPLIT_SEED",
    "N_FOLDS",
    "FOLD_SEED",
    "TEST_FOLD",
    "FLAGS",
    "CRYSTAL_SYSTEMS",
    "POINT_GROUP_CLASSES",
    "point_group_class",
    "resolve_kind",
    "dataset_file",
    "assign_splits",
    "assign_folds",
    "GROUP_FOLD_SEED",
    "DFPT_DATASET",
    "DFPT_SPLIT_SEED",
    "DFPT_FLAGS",
    "NEAR_METALLIC_EPS",
    "chemical_system",
    "assign_group_folds",
    "load_dataset",
    "load_dfpt",
    "label_candidates",
    "summary_table",
]

#: Largest accepted symmetry residual max_g ||ρ(g)T − T||_F / ||T||_F (relative, dimensionless)
#: of a label under its structure's point operations (spglib at ``DEFAULT_SYMPREC``). Above it a
#: row is flagged ``"asymmetric"``: the tensor is in another frame than the structure (residual
#: ~2; IEEE-frame rows whose frame no lattice rotation explains) or carries DFT/finite-difference noise
#: of more than 1 %. About 9 % of the rows (383 of 4,269: dielectric 46, piezoelectric 144,
#: elastic 193); the same 1 % criterion as the QC tables in ``shared/data/qc``.
RESIDUAL_THRESHOLD = 0.01

#: Largest accepted |ε₀_ij| (dimensionless). Larger static permittivities come from soft polar
#: modes near a ferroelectric instability; the GMTNet paper drops those rows (flag ``"large_eps"``).
LARGE_EPS_LIMIT = 100.0

#: Seed of ``numpy.random.default_rng`` for the train/val/test assignment. Changing it changes
#: every split; the shipped files record the seed they were built with.
SPLIT_SEED = 2025

#: Seed of the split of the material ids that came with the legacy elastic rows (not in any
#: matminer file). A separate assignment, so every original id keeps the split it had.
NEW_IDS_SPLIT_SEED = 2026

#: Number of cross-validation folds over the non-test material ids, their seed, and the ``fold``
#: value of test rows (which are in no fold: the test split stays a holdout for shipped models).
N_FOLDS = 5
FOLD_SEED = 2027
TEST_FOLD = -1

#: Seed of the grouped cross-validation folds (:func:`assign_group_folds`, column ``group_fold``).
GROUP_FOLD_SEED = 2028

#: The DFPT ε∞ + Born-charge set (Petretto et al. 2018, ABINIT/PBEsol), a separate file: its
#: labels are another functional's, and it has no ε₀ (see :func:`load_dfpt`).
DFPT_DATASET = "dielectric_dfpt"
#: Seed of the split of the DFPT crystals that match no bundled Materials Project cell (those that
#: match one take that material's split and folds, so a test crystal stays out of training).
DFPT_SPLIT_SEED = 2029
#: Largest accepted eigenvalue of a DFPT ε∞ (dimensionless). Above it the PBEsol gap has nearly
#: closed and ε∞ diverges with it (flag ``"near_metallic"``); 50 lies above the 99th percentile of
#: the largest eigenvalue of the usable Materials Project ε∞ (39.8); it flags 10 of 1,520 rows.
NEAR_METALLIC_EPS = 50.0

#: Split names, in the order of :data:`SPLIT_FRACTIONS`.
SPLITS: tuple[str, ...] = ("train", "val", "test")
#: Fractions of the material ids assigned to each split.
SPLIT_FRACTIONS: tuple[float, ...] = (0.8, 0.1, 0.1)

#: Quality flags a row can carry, with their meaning.
FLAGS: dict[str, str] = {
    "asymmetric": (
        f"symmetry residual of the label > {RESIDUAL_THRESHOLD} under the structure's point "
        "operations (frame mismatch or noisy DFT)"
    ),
    "asymmetric_electronic": (
        f"dielectric only: the same for ε∞ (`tensor_electronic`) > {RESIDUAL_THRESHOLD}"
    ),
    "large_eps": (
        f"dielectric only: some |ε₀_ij| > {LARGE_EPS_LIMIT:g} (soft modes; dropped by the GMTNet paper)"
    ),
}

#: Quality flags of the DFPT rows (``dielectric_dfpt.parquet``).
DFPT_FLAGS: dict[str, str] = {
    "asymmetric_electronic": f"symmetry residual of ε∞ > {RESIDUAL_THRESHOLD} under the structure's point operations",
    "near_metallic": f"largest ε∞ eigenvalue > {NEAR_METALLIC_EPS:g} or ε∞ not positive definite (gap nearly closed)",
    "born_asymmetric": "Born charges break the site symmetry by > 1 % (relative) or the acoustic sum rule by > 1e-3 e",
}

#: Crystal systems in order of increasing symmetry.
CRYSTAL_SYSTEMS: tuple[str, ...] = (
    "triclinic",
    "monoclinic",
    "orthorhombic",
    "tetragonal",
    "trigonal",
    "hexagonal",
    "cubic",
)

#: Point groups by class: centrosymmetric (the 11 Laue groups), polar (the 10 pyroelectric groups,
#: with a unique polar axis or none fixed), other (non-centrosymmetric, non-polar). Hermann-Mauguin
#: symbols as spglib writes them.
POINT_GROUP_CLASSES: dict[str, frozenset[str]] = {
    "centrosymmetric": frozenset({"-1", "2/m", "mmm", "4/m", "4/mmm", "-3", "-3m", "6/m", "6/mmm", "m-3", "m-3m"}),
    "polar": frozenset({"1", "2", "m", "mm2", "4", "4mm", "3", "3m", "6", "6mm"}),
    "other": frozenset({"222", "-4", "422", "-42m", "32", "-6", "622", "-6m2", "23", "432", "-43m"}),
}

_STRUCTURE_COLUMNS = ("lattice", "species", "frac_coords")


def point_group_class(point_group: str) -> str:
    """``"centrosymmetric"``, ``"polar"`` or ``"other"`` for a Hermann-Mauguin point group."""
    for name, members in POINT_GROUP_CLASSES.items():
        if point_group in members:
            return name
    raise ValueError(f"unknown point group {point_group!r}")


def resolve_kind(kind: str | TensorKind) -> TensorKind:
    """The registry entry for a kind name, a :class:`~gmtnet.kinds.TensorKind` or a dataset name.

    A dataset name resolves to its primary kind (the one labelled by the ``tensor`` column).

    Raises:
        ValueError: naming the value and the accepted names.
    """
    if isinstance(kind, TensorKind):
        return kind
    if isinstance(kind, str):
        if kind in KINDS:
            return KINDS[kind]
        for k in KINDS.values():
            if k.dataset == kind and k.column == "tensor":
                return k
    choices = sorted(set(KINDS) | set(DATASETS))
    raise ValueError(f"unknown tensor kind or dataset {kind!r}; expected one of {choices}")


def dataset_file(dataset: str) -> Traversable:
    """The shipped Parquet file of a dataset (``"dielectric"``, ``"piezoelectric"``, ``"elastic"``,
    or :data:`DFPT_DATASET`)."""
    if dataset not in (*DATASETS, DFPT_DATASET):
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {[*DATASETS, DFPT_DATASET]}")
    return resources.files("gmtnet.resources.data").joinpath(f"{dataset}.parquet")


def assign_splits(
    material_ids,
    seed: int = SPLIT_SEED,
    fractions: tuple[float, ...] = SPLIT_FRACTIONS,
) -> dict[str, str]:
    """Seeded assignment of material ids to :data:`SPLITS`.

    The unique ids are sorted (so the result does not depend on their order or repetition), then
    permuted with ``numpy.random.default_rng(seed)``; the first ``round(fractions[0] * n)`` go to
    ``"train"``, the next ``round(fractions[1] * n)`` to ``"val"``, the rest to ``"test"``.

    Args:
        material_ids: iterable of id strings (e.g. the union over every dataset).
        seed: generator seed.
        fractions: one fraction per split, summing to 1.

    Returns:
        ``{material_id: split_name}``.
    """
    if len(fractions) != len(SPLITS) or not np.isclose(sum(fractions), 1.0) or min(fractions) < 0:
        raise ValueError(
            f"fractions must be {len(SPLITS)} non-negative numbers summing to 1, got {fractions}"
        )
    ids = sorted(set(material_ids))
    order = np.random.default_rng(seed).permutation(len(ids))
    bounds = np.round(np.cumsum(fractions)[:-1] * len(ids)).astype(int)
    labels = np.empty(len(ids), dtype=object)
    for name, members in zip(SPLITS, np.split(order, bounds), strict=True):
        labels[members] = name
    return dict(zip(ids, labels.tolist(), strict=True))


def assign_folds(split_of: dict[str, str], n_folds: int = N_FOLDS, seed: int = FOLD_SEED) -> dict[str, int]:
    """Seeded cross-validation folds over the non-test material ids.

    The sorted non-test ids are permuted with ``numpy.random.default_rng(seed)`` and dealt round
    robin into ``n_folds`` folds (sizes differ by at most one); test ids get :data:`TEST_FOLD`.

    Args:
        split_of: ``{material_id: split}`` as from :func:`assign_splits`.

    Returns:
        ``{material_id: fold}`` for every id of ``split_of``.
    """
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    ids = sorted(m for m, split in split_of.items() if split != "test")
    order = np.random.default_rng(seed).permutation(len(ids))
    folds = {m: TEST_FOLD for m, split in split_of.items() if split == "test"}
    for position, i in enumerate(order):
        folds[ids[i]] = int(position % n_folds)
    return folds


def chemical_system(species) -> str:
    """The sorted, dash-joined set of element symbols (``"O-Si"``) of a sequence of symbols."""
    return "-".join(sorted(set(species)))


def assign_group_folds(
    split_of: dict[str, str],
    group_of: dict[str, str],
    n_folds: int = N_FOLDS,
    seed: int = GROUP_FOLD_SEED,
) -> dict[str, int]:
    """Grouped cross-validation folds: all non-test ids of one group land in the same fold.

    The groups (e.g. chemical systems, :func:`chemical_system`) are sorted by name, permuted with
    ``numpy.random.default_rng(seed)``, then taken largest first (stable, so the permutation breaks
    ties) and each put into the fold with the fewest ids so far (lowest index on ties). Test ids
    get :data:`TEST_FOLD`.

    Args:
        split_of: ``{material_id: split}``.
        group_of: ``{material_id: group}`` for every id of ``split_of``.

    Returns:
        ``{material_id: fold}`` for every id of ``split_of``.
    """
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2, got {n_folds}")
    missing = sorted(set(split_of) - set(group_of))
    if missing:
        raise ValueError(f"{len(missing)} ids have no group, e.g. {missing[:3]}")
    members: dict[str, list[str]] = {}
    for m, split in split_of.items():
        if split != "test":
            members.setdefault(group_of[m], []).append(m)
    names = sorted(members)
    order = [names[i] for i in np.random.default_rng(seed).permutation(len(names))]
    order.sort(key=lambda g: -len(members[g]))
    sizes = [0] * n_folds
    folds = {m: TEST_FOLD for m, split in split_of.items() if split == "test"}
    for g in order:
        f = int(np.argmin(sizes))
        sizes[f] += len(members[g])
        for m in members[g]:
            folds[m] = f
    return folds


# --------------------------------------------------------------------------- loading


def _field_shape(field: pa.Field) -> tuple[int, ...] | None:
    """Array shape stored in a field's metadata (``b"shape": b"3,3"``), or None for scalars."""
    meta = field.metadata or {}
    raw = meta.get(b"shape")
    return None if raw is None else tuple(int(n) for n in raw.decode().split(","))


def _array_column(column: pa.ChunkedArray, shape: tuple[int, ...]) -> list[np.ndarray]:
    """Fixed-size list column -> one read-only float64 array of ``shape`` per row.

    A leading -1 in ``shape`` (a list of fixed-size lists, e.g. ``candidates``) gives each row
    its own length along the first axis.
    """
    if shape[0] == -1:
        offsets = column.combine_chunks().offsets.to_numpy()
        inner = column.combine_chunks().flatten()
        flat = inner.flatten().to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
        stacked = flat.reshape((-1, *shape[1:]))
        stacked.setflags(write=False)
        return [stacked[a:b] for a, b in zip(offsets[:-1], offsets[1:], strict=True)]
    flat = column.combine_chunks().flatten().to_numpy(zero_copy_only=False).astype(np.float64, copy=False)
    stacked = flat.reshape((len(column), *shape))
    # The arrays are shared by every copy of the cached frame: in-place edits would corrupt it.
    stacked.setflags(write=False)
    return list(stacked)


def _structures(table: pa.Table) -> list[Structure]:
    """Rebuild pymatgen Structures from the lattice (Å, rows a, b, c), species and fractional coords."""
    nsites = table.column("nsites").to_numpy()
    lattices = table.column("lattice").combine_chunks().flatten().to_numpy().reshape(-1, 3, 3)
    coords = table.column("frac_coords").combine_chunks().flatten().to_numpy().reshape(-1, 3)
    per_row = np.split(coords, np.cumsum(nsites)[:-1])
    species = table.column("species").to_pylist()
    return [Structure(Lattice(m), s, c) for m, s, c in zip(lattices, species, per_row, strict=True)]


def _decode(table: pa.Table) -> pd.DataFrame:
    """Parquet table written by ``scripts/build_datasets.py`` -> DataFrame with Python objects."""
    columns: dict[str, object] = {}
    for field in table.schema:
        name = field.name
        if name in _STRUCTURE_COLUMNS:
            if "structure" not in columns:
                columns["structure"] = _structures(table)
            continue
        shape = _field_shape(field)
        column = table.column(name)
        if shape is not None:
            columns[name] = _array_column(column, shape)
        elif pa.types.is_list(field.type):
            columns[name] = [tuple(v) for v in column.to_pylist()]
        else:
            columns[name] = column.to_pandas()
    return pd.DataFrame(columns)


def label_candidates(frame: pd.DataFrame, kind: str | TensorKind) -> list[np.ndarray]:
    """Per row every structure-frame tensor its label may be, ``(k, 3, ..., 3)``, kind's units.

    The ``candidates`` column where the kind's label is ``tensor`` and the dataset has one (labels
    the source gave in the IEEE frame, see :mod:`gmtnet.orientation`); otherwise the label alone.
    """
    k = resolve_kind(kind)
    if k.column == "tensor" and "candidates" in frame.columns:
        return list(frame["candidates"])
    return [np.asarray(t)[None] for t in frame[k.column]]


@cache
def _read_dataset(dataset: str) -> pd.DataFrame:
    with dataset_file(dataset).open("rb") as fh:
        table = pq.read_table(fh)
    return _decode(table)


def load_dataset(kind: str | TensorKind, include_flagged: bool = True) -> pd.DataFrame:
    """One bundled dataset as a DataFrame, one row per Materials Project material.

    Args:
        kind: a kind name from :data:`gmtnet.kinds.KINDS` (``"dielectric"``,
            ``"dielectric_electronic"``, ``"piezoelectric"``, ``"elastic"``), a
            :class:`~gmtnet.kinds.TensorKind` or a dataset name. The rows are those of
            ``kind.dataset``; the label is the column ``kind.column``.
        include_flagged: False drops every row with a flag (any of :data:`FLAGS`, whichever
            tensor it concerns); that is the set training and test use.

    Returns:
        A shallow copy of a cached frame with the columns

        * ``material_id`` (str), ``formula`` (reduced), ``structure`` (pymatgen Structure, the
          calculated cell; Å), ``nsites``;
        * ``tensor``: full-rank float64 array ``(3,) * rank`` in the frame of ``structure``:
          ε₀ (dimensionless), e (C/m²) or C (GPa); dielectric also ``tensor_electronic`` (ε∞);
          piezoelectric also ``ieee_rotation`` ``(3, 3)``, mapping the structure frame to the
          IEEE-176 frame of the source (``rotate(tensor, ieee_rotation)``);
        * ``split``: ``"train"``, ``"val"`` or ``"test"``; ``fold``: cross-validation fold
          0..``N_FOLDS``-1, or :data:`TEST_FOLD` for test rows;
        * piezoelectric and elastic: ``source`` (raw dataset), ``orientation`` (see
          :data:`gmtnet.orientation.ORIENTATIONS`) and ``candidates`` ``(k, 3, ..., 3)`` (every
          structure-frame tensor the label may be, same units; see :func:`label_candidates`);
        * ``spacegroup_number``, ``spacegroup_symbol``, ``point_group``, ``crystal_system``
          (spglib at ``DEFAULT_SYMPREC``), ``spacegroup_number_mp`` (the source's label);
        * ``symmetry_residual`` (and ``symmetry_residual_electronic``): relative, see
          :data:`RESIDUAL_THRESHOLD`; ``flags``: tuple of :data:`FLAGS` names;
        * extras: dielectric ``band_gap`` (eV, PBE), ``n`` (refractive index),
          ``pot_ferroelectric``; piezoelectric ``eij_max`` (C/m²), ``point_group_mp``,
          ``ieee_rotation_corrected``; elastic ``K_VRH``, ``G_VRH`` (GPa, matminer rows; NaN for
          legacy rows) and ``K_Voigt``, ``G_Voigt`` (GPa, legacy rows; NaN for matminer rows).
          ``spacegroup_number_mp`` is NaN where the source gives none (legacy elastic rows).

        The tensor arrays are read-only (they are shared with the cache); copy before editing.

    Raises:
        ValueError: for an unknown kind or dataset name.
    """
    k = resolve_kind(kind)
    frame = _read_dataset(k.dataset)
    if not include_flagged:
        return frame[frame["flags"].map(len) == 0].reset_index(drop=True)
    return frame.copy(deep=False)


#: Where the labels' orientation comes from: the lattice analysis of :mod:`gmtnet.orientation`
#: (``"lattice"``: every candidate the IEEE back-rotation leaves, signs as the source gave them) or
#: the physics-oriented piezoelectric labels (``"physics"``, :func:`load_piezo_orientation`).
LABEL_ORIENTATIONS = ("lattice", "physics")
PIEZO_ORIENTATION_FILE = "piezoelectric_orientation.parquet"


@cache
def load_piezo_orientation() -> pd.DataFrame:
    """The physics-oriented piezoelectric labels (``scripts/orient_piezo.py``), one row per
    IEEE-frame piezo row: ``material_id``, ``choice`` (index into ``candidates``, -1 when the
    physics estimate could not decide), ``kept`` (the candidates it did not rule out), ``cosines``, ``born`` (Z* source of the estimate: ``dft``,
    ``formal`` or ``none``), ``stable``, ``e_ion_norm`` (C/m²), ``n_candidates``, ``candidates``
    ``(k, 3, 3, 3)`` (C/m², structure frame, every tensor the label may be once its sign is open
    too; the label as back-rotated first) and ``e_ion`` ``(3, 3, 3)`` (the ionic estimate, C/m²,
    structure frame; empty without one). How the rule was checked: the data card.
    """
    with resources.files("gmtnet.resources.data").joinpath(PIEZO_ORIENTATION_FILE).open("rb") as fh:
        df = pd.read_parquet(fh)
    df["candidates"] = [np.asarray(c, dtype=float).reshape(n, 3, 3, 3) for c, n in zip(df["candidates"], df["n_candidates"])]
    df["e_ion"] = [np.asarray(e, dtype=float).reshape(3, 3, 3) if len(e) else np.zeros((0,)) for e in df["e_ion"]]
    return df


def orient_labels(frame: pd.DataFrame, orientation: str = "lattice") -> pd.DataFrame:
    """``frame`` (a piezoelectric :func:`load_dataset` frame) with the labels oriented as asked.

    ``"lattice"`` returns it unchanged. ``"physics"`` replaces, for every IEEE-frame row, the
    ``candidates`` by the sign-open candidates the physics estimate did not rule out (one where
    it decided; training and grading take the closest, as for any ambiguous row); ``tensor``
    becomes the first of them. Rows outside the orientation file
    (flagged, unresolved) are left as they are.
    """
    if orientation not in LABEL_ORIENTATIONS:
        raise ValueError(f"unknown label orientation {orientation!r}; expected one of {LABEL_ORIENTATIONS}")
    if orientation == "lattice":
        return frame
    if "candidates" not in frame.columns or "eij_max" not in frame.columns:
        raise ValueError("physics orientation applies to the piezoelectric dataset only")
    table = load_piezo_orientation().set_index("material_id")
    out = frame.copy()
    cands, tensors = [], []
    for mid, c0, t0 in zip(out["material_id"], out["candidates"], out["tensor"]):
        if mid not in table.index:
            cands.append(c0)
            tensors.append(t0)
            continue
        row = table.loc[mid]
        c = row["candidates"][np.asarray(row["kept"], dtype=int)]
        cands.append(c)
        tensors.append(c[0])
    out["candidates"] = cands
    out["tensor"] = tensors
    return out


def load_dfpt(include_flagged: bool = True) -> pd.DataFrame:
    """The DFPT set: 1,520 ε∞ tensors and per-atom Born effective charges (ABINIT, PBEsol).

    Petretto et al., Sci. Data 5, 180065 (2018), as distributed in the GitHub repository
    shiangfang/e3nn-models (MIT); provenance, QC and the comparison with the Materials Project
    ε∞ are in ``DATA_CARD.md``. Columns as :func:`load_dataset` where they share a name, plus

    * ``tensor_electronic``: ε∞ (3x3, dimensionless, frame of ``structure``);
    * ``born_charges``: ``(nsites, 3, 3)`` Z* in units of e, frame of ``structure``, index
      convention Z*_κ,αβ = Ω ∂P_α/∂u_κβ (first index the field/polarization direction α, second the
      displacement β; ABINIT's, see the data card); the acoustic sum rule holds to 1e-7 e;
    * ``born_site_residual`` (relative), ``born_asr`` (e): the build's checks;
    * ``mp_material_id``: the bundled Materials Project cell the crystal matches (StructureMatcher),
      or None; ``in_dielectric_set``: whether that cell is in the dielectric set;
    * ``split``, ``fold``: the matched material's where there is one, else a seeded assignment
      (:data:`DFPT_SPLIT_SEED`); ``group_fold``: grouped fold (chemical system), shared with every
      dataset;
    * ``flags``: :data:`DFPT_FLAGS` names.

    ``material_id`` is ``dfpt-NNNN``, the frame index in the source file.
    """
    frame = _read_dataset(DFPT_DATASET)
    if not include_flagged:
        return frame[frame["flags"].map(len) == 0].reset_index(drop=True)
    return frame.copy(deep=False)


# --------------------------------------------------------------------------- summaries


def _label_form(k: TensorKind) -> str:
    rows, cols = k.voigt_shape
    return f"{k.symbol} {rows}x{cols}" + (" Voigt" if k.voigt_shape != k.shape else "") + (" per atom" if k.per_atom else "")


def _summary_row(k: TensorKind) -> dict:
    frame = load_dataset(k)
    usable = frame[frame["flags"].map(len) == 0]
    # per-atom kinds: the statistics are over atoms (every site's tensor a sample)
    labels = (np.concatenate if k.per_atom else np.stack)(usable[k.column].to_list())
    # Voigt order does not matter here: the Frobenius norm is invariant under the relabelling.
    norms = np.linalg.norm(to_voigt(labels, k, order="ieee").reshape(len(labels), -1), axis=1)
    split_counts = usable["split"].value_counts()
    system_counts = usable["crystal_system"].value_counts()
    flag_counts = pd.Series([f for flags in frame["flags"] for f in flags], dtype=object).value_counts()
    return {
        "kind": k.name,
        "dataset": k.dataset,
        "label": _label_form(k),
        "unit": k.unit_label,
        "rows": len(frame),
        "usable": len(usable),
        **{split: int(split_counts.get(split, 0)) for split in SPLITS},
        "norm_mean": float(norms.mean()),
        "norm_std": float(norms.std(ddof=1)),
        "elements": len(set().union(*(s.symbol_set for s in usable["structure"]))),
        **{system: int(system_counts.get(system, 0)) for system in CRYSTAL_SYSTEMS},
        **{f"flagged_{flag}": int(flag_counts.get(flag, 0)) for flag in FLAGS},
    }


def summary_table(kind: str | TensorKind | None = None) -> pd.DataFrame:
    """Dataset statistics in the manner of Table 1 of the GMTNet paper, one row per kind.

    Args:
        kind: one kind or dataset name; None for every kind in :data:`gmtnet.kinds.KINDS`
            (the three datasets plus ``dielectric_electronic``, and ``born`` from the DFPT set,
            whose norms are per atom: ``Z* 3x3 per atom``).

    Returns:
        DataFrame indexed by kind name with columns ``dataset``, ``label`` (the form whose norm
        is taken: ε 3x3, e 3x6 Voigt, C 6x6 Voigt), ``unit``, ``rows`` (all rows), ``usable``
        (rows without flags), usable rows per split (``train``, ``val``, ``test``),
        ``norm_mean`` / ``norm_std`` (mean and sample standard deviation of the Frobenius norm
        of the label's ``label`` form over usable rows, in ``unit``), ``elements`` (distinct
        elements in usable rows), usable rows per crystal system (:data:`CRYSTAL_SYSTEMS`) and
        ``flagged_<flag>`` (all rows carrying each flag of :data:`FLAGS`).
    """
    kinds = list(KINDS.values()) if kind is None else [resolve_kind(kind)]
    return pd.DataFrame([_summary_row(k) for k in kinds]).set_index("kind")
