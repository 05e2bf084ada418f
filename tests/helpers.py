"""Shared test helpers: small real structures, random orthogonal frames, equivariance assertions.

Import from test modules as ``from helpers import ...`` (pytest puts ``tests/`` on ``sys.path``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np
from pymatgen.core import Lattice, Structure

from gmtnet.tensors import rotate

# --------------------------------------------------------------------------- structures


def bcc_fe() -> Structure:
    """bcc Fe, 1-atom primitive cell (a = 2.87 Å): 8 neighbours at a√3/2, 6 at a, 12 at a√2."""
    a = 2.87
    return Structure(Lattice(0.5 * a * (1 - 2 * np.eye(3)) * -1), ["Fe"], [[0, 0, 0]])


def rocksalt_nacl(conventional: bool = False) -> Structure:
    """NaCl rocksalt (Fm-3m, a = 5.64 Å); 2-atom primitive cell unless ``conventional`` (8 atoms)."""
    a = 5.64
    if not conventional:
        return Structure(Lattice(0.5 * a * (1 - np.eye(3))), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    fcc = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    return Structure(Lattice.cubic(a), ["Na"] * 4 + ["Cl"] * 4, np.vstack([fcc, (fcc + 0.5) % 1.0]))


def wurtzite_zno() -> Structure:
    """Wurtzite ZnO (P6_3mc, point group 6mm: polar, piezoelectric), 4 atoms."""
    return Structure(
        Lattice.hexagonal(3.25, 5.21),
        ["Zn", "Zn", "O", "O"],
        [[1 / 3, 2 / 3, 0.0], [2 / 3, 1 / 3, 0.5], [1 / 3, 2 / 3, 0.382], [2 / 3, 1 / 3, 0.882]],
    )


def perovskite_srtio3() -> Structure:
    """Cubic SrTiO3 (Pm-3m), 5 atoms."""
    return Structure(
        Lattice.cubic(3.905),
        ["Sr", "Ti", "O", "O", "O"],
        [[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
    )


def rattled_perovskite(seed: int = 0, amplitude: float = 0.08) -> Structure:
    """SrTiO3 with every atom displaced by up to ``amplitude`` Å (no symmetry left: P1)."""
    s = perovskite_srtio3()
    rng = np.random.default_rng(seed)
    cart = s.cart_coords + rng.uniform(-amplitude, amplitude, size=(len(s), 3))
    return Structure(s.lattice, s.species, cart, coords_are_cartesian=True)


def triclinic_cell(seed: int = 0) -> Structure:
    """A random 5-atom triclinic cell with atoms at least 1.6 Å apart (point group 1)."""
    rng = np.random.default_rng(seed)
    lattice = Lattice.from_parameters(4.3, 5.1, 5.9, 78.0, 95.0, 106.0)
    species = ["Zn", "O", "Ti", "Sr", "O"]
    coords: list[np.ndarray] = []
    while len(coords) < len(species):
        f = rng.random(3)
        trial = Structure(lattice, species[: len(coords) + 1], [*coords, f])
        if len(coords) == 0 or trial.distance_matrix[-1, :-1].min() > 1.6:  # periodic distances
            coords.append(f)
    return Structure(lattice, species, coords)


def supercell(structure: Structure, scaling=(2, 1, 1)) -> Structure:
    s = structure.copy()
    s.make_supercell(list(scaling))
    return s


def permuted(structure: Structure, perm: np.ndarray) -> Structure:
    """Same crystal with site i of the result = site ``perm[i]`` of ``structure``."""
    return Structure(structure.lattice, [structure.species[p] for p in perm], structure.frac_coords[perm])


def translated(structure: Structure, shift_frac) -> Structure:
    """Same crystal, every atom shifted by ``shift_frac`` (fractional), wrapped into the cell."""
    frac = (structure.frac_coords + np.asarray(shift_frac)) % 1.0
    return Structure(structure.lattice, structure.species, frac)


# --------------------------------------------------------------------------- frames


def random_orthogonal(rng: np.random.Generator, reflection: bool = False) -> np.ndarray:
    """Haar-random rotation (det +1), or an improper one (det -1) when ``reflection``."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    if reflection:
        q = q @ np.diag([1.0, 1.0, -1.0])
    return q


def transform_structure(structure: Structure, rotation: np.ndarray) -> Structure:
    """Rotate/reflect a crystal rigidly: lattice vectors and Cartesian positions r -> R r.

    Fractional coordinates are unchanged, so site i of the result is site i of the input.
    """
    r = np.asarray(rotation, dtype=float)
    return Structure(Lattice(structure.lattice.matrix @ r.T), structure.species, structure.frac_coords)


# --------------------------------------------------------------------------- assertions


def relative_error(actual: np.ndarray, expected: np.ndarray) -> float:
    """max |actual − expected| / max |expected| (absolute error when ``expected`` is zero)."""
    a = np.asarray(actual, dtype=float)
    e = np.asarray(expected, dtype=float)
    scale = np.abs(e).max()
    return float(np.abs(a - e).max() / (scale if scale > 0 else 1.0))


def assert_equivariant(
    predict: Callable[[Structure], np.ndarray],
    structure: Structure,
    rotation: np.ndarray,
    rtol: float = 1e-4,
) -> float:
    """Assert predict(R·structure) == R ⊗ … ⊗ R · predict(structure) to relative ``rtol``.

    Args:
        predict: structure -> full-rank Cartesian tensor ``(3, ..., 3)`` in that structure's frame.
        structure: the input crystal.
        rotation: ``(3, 3)`` orthogonal matrix (a reflection is allowed: the tensors are polar).
        rtol: bound on :func:`relative_error`.

    Returns:
        the relative error found.
    """
    t = np.asarray(predict(structure), dtype=float)
    t_rot = np.asarray(predict(transform_structure(structure, rotation)), dtype=float)
    expected = rotate(t, rotation)
    assert np.abs(expected).max() > 0, "prediction is identically zero: equivariance test is vacuous"
    err = relative_error(t_rot, expected)
    det = np.linalg.det(rotation)
    assert err < rtol, f"not equivariant: relative error {err:.3g} >= {rtol:g} (det R = {det:+.0f})"
    return err


def assert_invariant(
    predict: Callable[[Structure], np.ndarray],
    structure: Structure,
    transformed: Structure,
    rtol: float = 1e-5,
    what: str = "transformation",
) -> float:
    """Assert predict(transformed) == predict(structure) to relative ``rtol``; return the error."""
    a = np.asarray(predict(structure), dtype=float)
    b = np.asarray(predict(transformed), dtype=float)
    err = relative_error(b, a)
    assert err < rtol, f"not invariant under {what}: relative error {err:.3g} >= {rtol:g}"
    return err


def register_with_random_weights(make_kind: Callable, root, members: int = 2, **config):
    """Register ``make_kind(weights_dir)`` with an ensemble of ``members`` small randomly
    initialised GMTNet networks saved under ``root``; returns the registered kind (unregister it
    when done). The weights are written while the kind is registered without them, since a model
    needs its kind."""
    import torch

    from gmtnet.kinds import register_kind, unregister_kind
    from gmtnet.models import ModelConfig, build_model
    from gmtnet.models.ensemble import save_ensemble
    from gmtnet.models.network import save_model

    kind = register_kind(make_kind(None))
    try:
        dirs = []
        for seed in range(members):
            torch.manual_seed(seed)
            model = build_model(ModelConfig(kind=kind.name, architecture="gmtnet", **config)).eval()
            dirs.append(save_model(model, root / f"run-{seed}"))
        weights = save_ensemble(dirs, root / "ensemble", {"std_scale": 1.0})
    finally:
        unregister_kind(kind)
    return register_kind(make_kind(weights))


# --------------------------------------------------------------------------- app pages


@contextmanager
def explore_bundled_zno(kind: str) -> Iterator:
    """Explore under Streamlit's AppTest on the bundled wurtzite ZnO (mp-2133) with ``kind`` chosen,
    after checking the page ran without an exception or an error message.

    AppTest runs the page as ``__main__``; the real one is put back afterwards (Dask's Nanny in
    test_screen needs it).
    """
    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parent.parent
    if str(root) not in sys.path:  # `streamlit run` puts the app's folder on sys.path; AppTest does not
        sys.path.insert(0, str(root))
    main_module = sys.modules.get("__main__")
    try:
        at = AppTest.from_file(str(root / "pages" / "explore.py"), default_timeout=300)
        at.run()
        at.text_input(key="q_formula").input("ZnO")
        at.run()
        at.selectbox(key="q_pick").select("mp-2133")
        at.run()
        at.radio(key="x_kind").set_value(kind)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not [e.value for e in at.error]
        yield at
    finally:
        if main_module is not None:
            sys.modules["__main__"] = main_module
