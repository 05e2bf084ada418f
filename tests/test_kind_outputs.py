"""Regression: everything a tensor kind decides is bit-identical to what it was before the kinds package.

The fixture (``tests/data/kind_outputs.json``) was written by the code before a tensor kind became a
module of :mod:`gmtnet.kinds` (issue 19), from the shipped ensembles on CPU. For three crystals of
different point groups (NaCl m-3m, ZnO 6mm, a rattled SrTiO3 of low symmetry) and all four shipped
kinds it records, as exact float64 values (JSON keeps ``repr``): the predicted mean, σ and Voigt
forms; the derived scalars (screening columns and the Properties table); admissibility of random
tensors (clipped, smallest eigenvalue, verdict; the ε₀ ⪰ ε∞ pair); samples of every directional
surface; d = e·S; Voigt and Mandel conversions and the index-permutation average.

Comparisons are exact (``==`` on float64, NaN equal to NaN): a refactor that moves code between
modules must not change one bit. Rewrite the fixture only when a result is meant to change:
``PYTHONPATH=. python tests/test_kind_outputs.py`` from the repository root.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from helpers import rattled_perovskite, rocksalt_nacl, wurtzite_zno

from gmtnet import admissible, properties, scalars, surfaces, tensors

FIXTURE = Path(__file__).parent / "data" / "kind_outputs.json"
SHIPPED = ("dielectric", "dielectric_electronic", "piezoelectric", "elastic")
STRUCTURES = {"NaCl": rocksalt_nacl, "ZnO": wurtzite_zno, "SrTiO3-rattled": rattled_perovskite}


def _plain(x):
    """JSON-ready copy: arrays to nested lists of Python floats (exact), numpy scalars to Python."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.ndarray):
        return _plain(x.tolist())
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, (np.floating, float)):
        return float(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    return x


def _random_tensors(kind: str, rng: np.random.Generator, n: int = 3) -> np.ndarray:
    """Random tensors with the kind's index symmetry, scaled so that some are not admissible."""
    shape = (n,) + (3,) * {"dielectric": 2, "dielectric_electronic": 2, "piezoelectric": 3, "elastic": 4}[kind]
    t = tensors.symmetrize_indices(rng.normal(size=shape), kind)
    if kind.startswith("dielectric"):
        return t + 1.2 * np.eye(3)
    if kind == "elastic":
        return 40.0 * t + tensors.from_voigt(60.0 * np.eye(6), "elastic", "ieee")
    return t


def _pure(rng: np.random.Generator) -> dict:
    """What needs no network: conversions, admissibility, scalars, surfaces of random tensors."""
    out: dict = {}
    for kind in SHIPPED:
        t = _random_tensors(kind, rng)
        raw = rng.normal(size=t.shape)
        rec = {
            "voigt_ieee": tensors.to_voigt(t, kind, "ieee"),
            "voigt_vasp": tensors.to_voigt(t, kind, "vasp"),
            "from_voigt_vasp": tensors.from_voigt(tensors.to_voigt(raw, kind, "vasp"), kind, "vasp"),
            "labels_ieee": tensors.voigt_labels(kind, "ieee"),
            "labels_vasp": tensors.voigt_labels(kind, "vasp"),
            "symmetrize": tensors.symmetrize_indices(raw, kind),
            "admissible": admissible.make_admissible(t, kind),
            "min_eigenvalue": admissible.min_eigenvalue(t, kind),
            "is_admissible": admissible.is_admissible(t, kind),
            "scalars": [scalars.scalar_columns(kind, x) for x in t],
            "surfaces": {q.name: [surfaces.directional_values(x, kind, q.name, 5, 7)[1] for x in t]
                         for q in surfaces.quantities_for(kind)},
            "polar_xz": {q.name: surfaces.polar_cut(t[0], kind, q.name, "xz", 9)[2] for q in surfaces.quantities_for(kind)},
        }
        out[kind] = rec
    e0 = _random_tensors("dielectric", rng) + 0.3 * rng.normal(size=(3, 3, 3))
    einf = _random_tensors("dielectric_electronic", rng)
    out["pair"] = list(admissible.admissible_dielectric_pair(tensors.symmetrize_indices(e0, "dielectric"), einf))
    c = _random_tensors("elastic", rng)
    e = _random_tensors("piezoelectric", rng)
    out["mandel"] = admissible.to_mandel(c)
    out["from_mandel"] = admissible.from_mandel(admissible.to_mandel(c))
    out["properties_mandel"] = properties.to_mandel(c[0])
    out["d_screen"] = [scalars.piezo_strain_tensor(e[i], c[i]) for i in range(3)]
    out["d_properties"] = properties.piezo_strain_coefficients(e[0], c[0])
    out["d_long"] = [scalars.scalar_columns("piezoelectric", e[i], c[i]) for i in range(3)]
    out["vrh"] = [scalars.vrh_moduli(x) for x in c]
    return out


def _predicted() -> dict:
    from gmtnet.predict import Predictor

    predictor = Predictor.load(device="cpu")
    out: dict = {}
    for name, make in STRUCTURES.items():
        s = make()
        rec: dict = {}
        preds = {kind: predictor.predict(s, kind) for kind in SHIPPED}
        for kind, p in preds.items():
            # pymatgen's IEEE rotation fails on the cubic cells (equal lattice lengths): the frame only there
            derived = properties.derived_properties(p.tensor, kind, s if name == "ZnO" else None)
            rec[kind] = {
                "tensor": p.tensor,
                "voigt": p.voigt,
                "std": p.std,
                "uncertainty": p.uncertainty,
                "admissible_shift": p.admissible_shift,
                "point_group": p.symmetry.point_group,
                "scalars": scalars.scalar_columns(kind, p.tensor, preds["elastic"].tensor if kind == "piezoelectric" else None),
                "derived": {key: [v.value, v.unit, v.direction, v.direction2]
                            for key, v in derived.items()},
                "table": properties.properties_table(derived),
                "surfaces": {q.name: surfaces.directional_values(p.tensor, kind, q.name, 4, 6)[1]
                             for q in surfaces.quantities_for(kind)},
            }
        out[name] = rec
    return out


def compute() -> dict:
    return _plain({"pure": _pure(np.random.default_rng(19)), "predicted": _predicted()})


def _same(a, b, path="") -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and sorted(a) == sorted(b), f"{path}: keys {sorted(b)} != {sorted(a)}"
        for k in a:
            _same(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: length differs"
        for i, (x, y) in enumerate(zip(a, b)):
            _same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        assert math.isnan(b), f"{path}: {b!r} != nan"
    else:
        assert type(a) is type(b) and a == b, f"{path}: {b!r} != {a!r} (fixture)"


@pytest.fixture(scope="module")
def current() -> dict:
    return compute()


@pytest.mark.parametrize("part", ["pure", "predicted"])
def test_bit_identical(current, part):
    expected = json.loads(FIXTURE.read_text())
    _same(expected[part], current[part], part)


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps(compute()))
    print(f"wrote {FIXTURE}")
