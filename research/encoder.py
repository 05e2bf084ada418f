"""A pretrained equivariant encoder: per-atom node features from SevenNet, with a feature cache.

SevenNet (``sevenn`` on PyPI, MIT licence; a NequIP-architecture interatomic potential trained on
millions of DFT structures) ships its checkpoints inside its wheel. :class:`SevenNetEncoder` loads
one of them offline and returns, for a pymatgen ``Structure``, the equivariant node features of its
hidden layers (no energy, forces or stress are computed).

Features and their parity
-------------------------
The shipped checkpoints are SO(3)-equivariant only (``is_parity: False``): their l = 1, 2(, 3)
channels rotate as the l-th irrep but have no definite behaviour under inversion. Running the
network on the structure x and on its inverted copy −x (every edge vector negated) and taking

    f⁺(x) = ½ (f(x) + f(−x)),    f⁻(x) = ½ (f(x) − f(−x))

gives features with f^p(−x) = p f^p(x): exactly the O(3) irreps (l, even) and (l, odd). So every
SevenNet irrep ``mul x l`` becomes ``mul x le + mul x lo`` and everything built on them with e3nn
is O(3)-equivariant, reflections included (needed for the improper point-group operations and for
the odd-parity piezoelectric tensor). The price is one encoder pass on a graph twice the size.

Layout: :attr:`SevenNetEncoder.irreps_out` (e3nn order and layout: irreps blocks one after the
other, each multiplicity-major ``(mul, 2l+1)``), the hidden features after interaction layer
``num_convolution_layer - 2`` (the last one carrying l > 0) followed by the scalars after the last
interaction layer, in the structure's own Cartesian frame; they rotate with
``irreps_out.D_from_matrix(R)`` when the structure is rotated (or reflected) by ``R``. Units: none
(learned features).

Cache
-----
:class:`FeatureCache` stores one safetensors file per (encoder, structure) under a directory,
keyed by :func:`structure_hash` (lattice, species and fractional coordinates rounded to 1e-6), so
new rows of a dataset only add entries and an edited structure gets a new key. No pickles.

Imports of ``sevenn`` happen inside :meth:`SevenNetEncoder.load` only; the rest of this module
(the hash and the cache) needs numpy and safetensors alone (importing it through the package
:mod:`gmtnet.models` also loads torch and e3nn, which every user of the features needs anyway).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "ENCODERS",
    "DEFAULT_ENCODER",
    "structure_hash",
    "FeatureCache",
    "default_cache_dir",
    "SevenNetEncoder",
    "parity_split",
    "load_checkpoint",
]

#: Pretrained SevenNet checkpoints shipped in the ``sevenn`` wheel that the adapter accepts
#: (name -> ``sevenn`` pretrained name). All are trained on MPtrj (PBE/PBE+U, the functional of
#: the Materials Project tensors); l3i5 carries l = 3 features, MF-0 is the multi-fidelity one.
ENCODERS = {"7net-0": "7net-0", "7net-l3i5": "7net-l3i5"}
DEFAULT_ENCODER = "7net-0"

#: Rounding (Å for the lattice, fractions for coordinates) before hashing a structure.
_HASH_DECIMALS = 6
#: Bumped whenever the feature definition changes, so stale cache entries are never read.
FEATURE_VERSION = "1"


def structure_hash(structure) -> str:
    """SHA-256 hex digest of a structure's lattice (Å), atomic numbers and fractional coordinates.

    Values are rounded to 1e-6 (fractional coordinates wrapped into [0, 1)) so that a structure read
    back from a file gives the same key. Frame-dependent on purpose: the features are Cartesian.
    """
    lattice = np.round(np.asarray(structure.lattice.matrix, dtype=np.float64), _HASH_DECIMALS)
    frac = np.round(np.mod(np.asarray(structure.frac_coords, dtype=np.float64), 1.0), _HASH_DECIMALS)
    frac = np.where(frac >= 1.0, 0.0, frac) + 0.0  # +0.0 turns -0.0 into 0.0
    numbers = np.array([site.specie.Z for site in structure], dtype=np.int64)
    h = hashlib.sha256()
    for part in (lattice + 0.0, frac, numbers):
        h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()


def default_cache_dir() -> Path:
    """``$GMTNET_CACHE_DIR/features`` or ``~/.cache/gmtnet/features``."""
    root = os.environ.get("GMTNET_CACHE_DIR")
    return Path(root) / "features" if root else Path.home() / ".cache" / "gmtnet" / "features"


class FeatureCache:
    """Per-structure node features on disk: ``<root>/<encoder>/<hash[:2]>/<hash>.safetensors``.

    Each file holds one float32 tensor ``features`` ``(n_atoms, irreps.dim)`` and metadata (the
    encoder name, its irreps and :data:`FEATURE_VERSION`); :meth:`get` returns ``None`` for a
    missing entry or one written with other metadata (stale), never raises on a stale file.
    """

    def __init__(self, root: str | Path | None = None, encoder: str = DEFAULT_ENCODER, irreps: str = "") -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.encoder = encoder
        self.irreps = str(irreps)
        self.directory = self.root / encoder

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.safetensors"

    def _metadata(self, n_atoms: int) -> dict[str, str]:
        return {"encoder": self.encoder, "irreps": self.irreps, "version": FEATURE_VERSION, "n_atoms": str(n_atoms)}

    def get(self, key: str) -> np.ndarray | None:
        """Cached features ``(n_atoms, dim)`` float32 for a structure hash, or ``None``."""
        from safetensors import safe_open

        path = self._path(key)
        if not path.is_file():
            return None
        try:
            with safe_open(str(path), framework="numpy") as fh:
                meta = fh.metadata() or {}
                if (meta.get("encoder"), meta.get("irreps"), meta.get("version")) != (self.encoder, self.irreps, FEATURE_VERSION):
                    return None
                return fh.get_tensor("features")
        except Exception:  # a truncated or foreign file is a cache miss, recomputed by the caller
            return None

    def put(self, key: str, features: np.ndarray) -> Path:
        """Write features atomically (temporary file, then rename)."""
        from safetensors.numpy import save_file

        features = np.ascontiguousarray(features, dtype=np.float32)
        if features.ndim != 2:
            raise ValueError(f"features must be (n_atoms, dim), got shape {features.shape}")
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        save_file({"features": features}, str(tmp), metadata=self._metadata(len(features)))
        os.replace(tmp, path)
        return path

    def __contains__(self, key: str) -> bool:
        return self.get(key) is not None


def parity_split(f_plus_x: np.ndarray, f_minus_x: np.ndarray, irreps_so3) -> tuple[np.ndarray, str]:
    """Features of x and of −x (``(n, irreps_so3.dim)`` each) -> O(3) features with both parities.

    Each block ``mul x l`` of ``irreps_so3`` becomes ``mul x le`` (½(f(x) + f(−x))) followed by
    ``mul x lo`` (½(f(x) − f(−x))). Returns the array ``(n, 2 * dim)`` and its irreps string.
    """
    from e3nn import o3

    irreps_so3 = o3.Irreps(irreps_so3)
    even, odd = 0.5 * (f_plus_x + f_minus_x), 0.5 * (f_plus_x - f_minus_x)
    blocks, names = [], []
    for (mul, ir), sl in zip(irreps_so3, irreps_so3.slices()):
        blocks += [even[:, sl], odd[:, sl]]
        names += [f"{mul}x{ir.l}e", f"{mul}x{ir.l}o"]
    return np.concatenate(blocks, axis=1), "+".join(names)


@dataclass
class _Graph:
    atomic_numbers: np.ndarray  # (n,)
    edge_index: np.ndarray  # (2, E)
    edge_vec: np.ndarray  # (E, 3) Å


def load_checkpoint(name: str = DEFAULT_ENCODER):
    """The pretrained SevenNet checkpoint shipped inside the ``sevenn`` wheel, loaded offline and
    without unpickling code: a ``sevenn.checkpoint.SevenNetCheckpoint`` filled from
    ``torch.load(weights_only=True)`` (``cp.build_model()`` gives the potential).

    Raises:
        ValueError: unknown name; ImportError: ``sevenn`` missing; FileNotFoundError: the
        checkpoint is not in the installed wheel (we never download it).
    """
    if name not in ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; expected one of {sorted(ENCODERS)}")
    from gmtnet.ionic import load_checkpoint as load_shipped_checkpoint

    return load_shipped_checkpoint(ENCODERS[name])


class SevenNetEncoder:
    """Frozen SevenNet node features for pymatgen structures (see the module docstring).

    Use :meth:`load`; then :meth:`features` (one structure) or :meth:`cached_features` (through a
    :class:`FeatureCache`). ``irreps_out`` names the layout of the returned features.
    """

    def __init__(self, name: str, model, cutoff: float, irreps_so3: str, stop_hidden: str, stop_last: str) -> None:
        self.name = name
        self.model = model
        self.cutoff = float(cutoff)
        self.irreps_so3 = irreps_so3
        self._stop_hidden = stop_hidden
        self._stop_last = stop_last
        from e3nn import o3

        _, self._irreps_out = parity_split(
            np.zeros((0, o3.Irreps(irreps_so3).dim), np.float32), np.zeros((0, o3.Irreps(irreps_so3).dim), np.float32), irreps_so3
        )

    @property
    def irreps_out(self) -> str:
        """Irreps of :meth:`features` (both parities of every SevenNet irrep), e3nn string."""
        return self._irreps_out

    @classmethod
    def load(cls, name: str = DEFAULT_ENCODER) -> "SevenNetEncoder":
        """Build the pretrained model from the checkpoint inside the ``sevenn`` wheel (offline).

        Raises:
            ValueError: unknown encoder name.
            ImportError: ``sevenn`` is not installed (naming the pin to install).
        """
        if name not in ENCODERS:
            raise ValueError(f"unknown encoder {name!r}; expected one of {sorted(ENCODERS)}")
        cp = load_checkpoint(name)
        model = cp.build_model()
        model.set_is_batch_data(False)
        model.eval()
        for p in model.parameters():
            p.requires_grad_(False)
        n_conv = int(cp.config["num_convolution_layer"])
        irreps_manual = cp.config["irreps_manual"]
        hidden = str(irreps_manual[n_conv - 1])  # output of layer n_conv - 2 (0-based)
        last = str(irreps_manual[n_conv])
        irreps_so3 = f"{hidden}+{last}"
        return cls(name, model, cp.config["cutoff"], irreps_so3, f"{n_conv - 2}_equivariant_gate", f"{n_conv - 1}_equivariant_gate")

    def graph(self, structure) -> _Graph:
        """SevenNet's radius graph (cutoff Å) of a structure, structure frame."""
        from pymatgen.io.ase import AseAtomsAdaptor
        from sevenn.train.dataload import unlabeled_atoms_to_graph

        atoms = AseAtomsAdaptor.get_atoms(structure)
        g = unlabeled_atoms_to_graph(atoms, self.cutoff)
        return _Graph(np.asarray(g["atomic_numbers"]), np.asarray(g["edge_index"]), np.asarray(g["edge_vec"], dtype=np.float64))

    def _run(self, numbers: np.ndarray, edge_index: np.ndarray, edge_vec: np.ndarray) -> np.ndarray:
        import sevenn._keys as KEY
        import torch

        data = {
            KEY.NODE_FEATURE: torch.from_numpy(numbers).long(),
            KEY.ATOMIC_NUMBERS: torch.from_numpy(numbers).long(),
            KEY.EDGE_IDX: torch.from_numpy(edge_index).long(),
            KEY.EDGE_VEC: torch.from_numpy(edge_vec).float(),
            KEY.NUM_ATOMS: torch.tensor(len(numbers)),
        }
        m = self.model
        with torch.no_grad():
            if m.eval_type_map:
                data[KEY.NODE_FEATURE] = m._atomic_numbers_to_onehot(data[KEY.ATOMIC_NUMBERS])
            hidden = None
            for name, module in m._modules.items():
                data = module(data)
                if name == self._stop_hidden:
                    hidden = data[KEY.NODE_FEATURE].clone()
                if name == self._stop_last:
                    return torch.cat([hidden, data[KEY.NODE_FEATURE]], dim=1).numpy()
        raise RuntimeError(f"{self.name}: module {self._stop_last!r} not found")  # pragma: no cover

    def features(self, structure) -> np.ndarray:
        """O(3) node features ``(n_atoms, irreps_out.dim)`` float32, structure's Cartesian frame.

        One pass over the disjoint union of the structure's graph and its inverted copy.
        """
        g = self.graph(structure)
        n = len(g.atomic_numbers)
        if g.edge_index.shape[1] == 0:
            raise ValueError(f"{structure.composition.reduced_formula}: no neighbours within {self.cutoff} Å")
        numbers = np.concatenate([g.atomic_numbers, g.atomic_numbers])
        edges = np.concatenate([g.edge_index, g.edge_index + n], axis=1)
        vecs = np.concatenate([g.edge_vec, -g.edge_vec])
        f = self._run(numbers, edges, vecs)
        out, _ = parity_split(f[:n], f[n:], self.irreps_so3)
        return out.astype(np.float32)

    def cache(self, root: str | Path | None = None) -> FeatureCache:
        """The :class:`FeatureCache` for this encoder's features under ``root``."""
        return FeatureCache(root, self.name, self.irreps_out)

    def cached_features(self, structure, cache: FeatureCache) -> np.ndarray:
        """Features from ``cache`` when present, else computed and stored."""
        key = structure_hash(structure)
        hit = cache.get(key)
        if hit is not None and hit.shape[0] == len(structure):
            return hit
        f = self.features(structure)
        cache.put(key, f)
        return f

