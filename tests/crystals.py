"""Small real crystals built in code for the tests (no data files needed)."""

import numpy as np
from pymatgen.core import Lattice, Structure


def rocksalt() -> Structure:
    """NaCl conventional cell (Fm-3m, m-3m)."""
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def wurtzite() -> Structure:
    """ZnO wurtzite (P6_3mc, 6mm), polar along z."""
    return Structure.from_spacegroup(
        "P6_3mc", Lattice.hexagonal(3.25, 5.21), ["Zn", "O"], [[1 / 3, 2 / 3, 0.0], [1 / 3, 2 / 3, 0.382]]
    )


def rotated(structure: Structure, r: np.ndarray) -> Structure:
    """The same crystal with its Cartesian frame rotated (or reflected) by ``r``."""
    lattice = Lattice(structure.lattice.matrix @ r.T)
    return Structure(lattice, structure.species, structure.frac_coords)


def random_orthogonal(rng, proper: bool = True) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q if proper else -q
