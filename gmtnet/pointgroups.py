"""The 32 crystallographic point groups as Cartesian matrices, generated from their generators.

Used by the tests (independent-component counts against the standard tables) and by the teaching
notebook's generated Nye table. Axes follow the standard settings of Nye and IEEE 176: z is the
principal axis; the monoclinic 2-fold axis (or mirror normal) is along y; for the trigonal and
hexagonal groups the 2-fold axis / mirror normal is along x; the cubic 3-fold axis is along [111].
"""

from __future__ import annotations

import numpy as np

__all__ = ["POINT_GROUPS", "point_group_operations", "generate_group"]


def _rot(axis, angle_deg: float) -> np.ndarray:
    """Proper rotation about ``axis`` by ``angle_deg`` (Rodrigues)."""
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    t = np.deg2rad(angle_deg)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(t) * k + (1 - np.cos(t)) * (k @ k)


_I = -np.eye(3)  # inversion
_C2z, _C2x, _C2y = _rot([0, 0, 1], 180), _rot([1, 0, 0], 180), _rot([0, 1, 0], 180)
_C3z, _C4z, _C6z = _rot([0, 0, 1], 120), _rot([0, 0, 1], 90), _rot([0, 0, 1], 60)
_C3d = _rot([1, 1, 1], 120)
_Mx, _My = -_C2x, -_C2y  # mirrors = inversion x 2-fold rotation

#: Hermann-Mauguin symbol -> (crystal system, generators).
POINT_GROUPS: dict[str, tuple[str, tuple[np.ndarray, ...]]] = {
    "1": ("triclinic", ()),
    "-1": ("triclinic", (_I,)),
    "2": ("monoclinic", (_C2y,)),
    "m": ("monoclinic", (_My,)),
    "2/m": ("monoclinic", (_C2y, _I)),
    "222": ("orthorhombic", (_C2z, _C2x)),
    "mm2": ("orthorhombic", (_C2z, _Mx)),
    "mmm": ("orthorhombic", (_C2z, _C2x, _I)),
    "4": ("tetragonal", (_C4z,)),
    "-4": ("tetragonal", (_I @ _C4z,)),
    "4/m": ("tetragonal", (_C4z, _I)),
    "422": ("tetragonal", (_C4z, _C2x)),
    "4mm": ("tetragonal", (_C4z, _Mx)),
    "-42m": ("tetragonal", (_I @ _C4z, _C2x)),
    "4/mmm": ("tetragonal", (_C4z, _C2x, _I)),
    "3": ("trigonal", (_C3z,)),
    "-3": ("trigonal", (_C3z, _I)),
    "32": ("trigonal", (_C3z, _C2x)),
    "3m": ("trigonal", (_C3z, _Mx)),
    "-3m": ("trigonal", (_C3z, _C2x, _I)),
    "6": ("hexagonal", (_C6z,)),
    "-6": ("hexagonal", (_I @ _C6z,)),
    "6/m": ("hexagonal", (_C6z, _I)),
    "622": ("hexagonal", (_C6z, _C2x)),
    "6mm": ("hexagonal", (_C6z, _Mx)),
    "-6m2": ("hexagonal", (_I @ _C6z, _C2x)),
    "6/mmm": ("hexagonal", (_C6z, _C2x, _I)),
    "23": ("cubic", (_C2z, _C2x, _C3d)),
    "m-3": ("cubic", (_C2z, _C2x, _C3d, _I)),
    "432": ("cubic", (_C4z, _C3d)),
    "-43m": ("cubic", (_I @ _C4z, _C3d)),
    "m-3m": ("cubic", (_C4z, _C3d, _I)),
}


def generate_group(generators, atol: float = 1e-8, max_order: int = 48) -> np.ndarray:
    """Close a set of 3x3 matrices under multiplication; returns ``(n, 3, 3)`` with identity first."""
    group = [np.eye(3)]
    frontier = [np.eye(3)]
    gens = [np.asarray(g, dtype=float) for g in generators]
    while frontier:
        new = []
        for a in frontier:
            for g in gens:
                p = g @ a
                if not any(np.allclose(p, q, atol=atol) for q in group):
                    group.append(p)
                    new.append(p)
        if len(group) > max_order:
            raise ValueError("generators do not generate a finite crystallographic point group")
        frontier = new
    return np.array(group)


def point_group_operations(symbol: str) -> np.ndarray:
    """Cartesian operations ``(n, 3, 3)`` of a point group given by its Hermann-Mauguin symbol."""
    try:
        _, gens = POINT_GROUPS[symbol]
    except KeyError:
        raise ValueError(f"unknown point group {symbol!r}; expected one of {list(POINT_GROUPS)}") from None
    return generate_group(gens)
