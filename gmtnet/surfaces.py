"""Directional surfaces of a tensor: a value per direction n, on a (θ, φ) grid or in a plane.

numpy only. Tensors are full rank in the structure's Cartesian frame and the kind's units; the
directions n are unit vectors in that frame (θ polar angle from +z, φ azimuth from +x, radians).
A per-atom kind is drawn one site at a time (``site=``, or that site's tensor).
:data:`SURFACE_QUANTITIES` lists what can be drawn for each registered kind (each kind declares and
evaluates its own, :mod:`gmtnet.kinds`), so UI code needs no kind logic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from gmtnet.kinds import RegistryView, SurfaceQuantity, TensorKind, get_kind, surface_quantity_table
from gmtnet.kinds.elastic import PAIR_ANGLES

__all__ = [
    "SurfaceQuantity",
    "SURFACE_QUANTITIES",
    "PAIR_ANGLES",
    "quantities_for",
    "get_quantity",
    "sphere_grid",
    "directional_values",
    "surface_mesh",
    "polar_cut",
    "PLANES",
]


#: name → :class:`SurfaceQuantity` (``kinds`` filled in): every registered kind's
#: :attr:`~gmtnet.kinds.TensorKind.surface_quantities`.
SURFACE_QUANTITIES: Mapping[str, SurfaceQuantity] = RegistryView(surface_quantity_table)

#: Plane name → two orthonormal in-plane axes (structure frame) spanning the cut.
PLANES: dict[str, tuple[np.ndarray, np.ndarray]] = {
    "xy": (np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])),
    "xz": (np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])),
    "yz": (np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])),
}


def quantities_for(kind: str | TensorKind) -> list[SurfaceQuantity]:
    """The surface quantities that apply to ``kind``, in the kind's order."""
    k = get_kind(kind)
    table = surface_quantity_table()
    return [table[q.name] for q in k.surface_quantities]


def get_quantity(quantity: str, kind: str | TensorKind) -> SurfaceQuantity:
    """Registry entry of ``quantity``; raises ValueError if unknown or not defined for ``kind``."""
    k = get_kind(kind)
    table = surface_quantity_table()
    try:
        q = table[quantity]
    except KeyError:
        raise ValueError(f"unknown surface quantity {quantity!r}; expected one of {sorted(table)}") from None
    if k.name not in q.kinds:
        raise ValueError(f"surface quantity {quantity!r} does not apply to {k.name!r}; use one of {[x.name for x in quantities_for(k)]}")
    return q


def _evaluator(tensor: np.ndarray, kind: str | TensorKind, quantity: str,
               site: int | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """n ``(..., 3)`` → values, for one tensor (the kind evaluates; e.g. C's compliance once, here).
    A per-atom kind is drawn for one site: ``tensor`` is that site's, or all sites' with ``site``."""
    k = get_kind(kind)
    get_quantity(quantity, k)
    t = np.asarray(tensor, dtype=float)
    if k.per_atom and site is not None:
        t = k.check_single(t)
        if not -len(t) <= site < len(t):
            raise ValueError(f"site {site} is out of range for {len(t)} sites")
        t = t[site]
    elif site is not None:
        raise ValueError(f"{k.name} is one tensor per crystal: there is no site to choose")
    if t.shape != k.shape:
        what = f"one site's {k.name} tensor (or all sites' with site=)" if k.per_atom else f"{k.name} tensor"
        raise ValueError(f"{what} must have shape {k.shape}, got {t.shape}")
    return k.surface_function(t, quantity)


def sphere_grid(n_theta: int = 60, n_phi: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Closed (θ, φ) grid: ``theta (n_theta,)`` in [0, π], ``phi (n_phi,)`` in [0, 2π], and unit
    vectors ``n (n_theta, n_phi, 3)``. Both ends are included so that a mesh closes."""
    if n_theta < 2 or n_phi < 3:
        raise ValueError(f"need n_theta >= 2 and n_phi >= 3, got {n_theta}, {n_phi}")
    theta = np.linspace(0.0, np.pi, n_theta)
    phi = np.linspace(0.0, 2.0 * np.pi, n_phi)
    th, ph = np.meshgrid(theta, phi, indexing="ij")
    n = np.stack([np.sin(th) * np.cos(ph), np.sin(th) * np.sin(ph), np.cos(th)], axis=-1)
    return theta, phi, n


def directional_values(
    tensor: np.ndarray, kind: str | TensorKind, quantity: str, n_theta: int = 60, n_phi: int = 120,
    site: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Values of a directional quantity on the (θ, φ) grid of :func:`sphere_grid`.

    Args:
        tensor: full-rank tensor in the structure frame, kind's units.
        kind: its kind.
        quantity: a key of :data:`SURFACE_QUANTITIES` that applies to ``kind``.
        site: for a per-atom kind, the site (index in structure order) of ``(n_atoms, 3, ..., 3)``
            to draw; None when ``tensor`` is one site's already (or the kind is per crystal).

    Returns:
        ``(n, values)``: unit vectors ``(n_theta, n_phi, 3)`` (structure frame) and values
        ``(n_theta, n_phi)`` in the quantity's unit (``SURFACE_QUANTITIES[quantity].unit``).
    """
    f = _evaluator(tensor, kind, quantity, site)
    _, _, n = sphere_grid(n_theta, n_phi)
    return n, f(n)


def surface_mesh(
    tensor: np.ndarray, kind: str | TensorKind, quantity: str, n_theta: int = 60, n_phi: int = 120,
    site: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Radius-|f(n)| surface for plotting: ``(x, y, z, values)``, each ``(n_theta, n_phi)``.

    x, y, z = |f(n)|·n in the quantity's unit along the structure's axes; ``values`` keep the sign
    of f(n), for the colour (a signed quantity such as e(n) has lobes of both signs). ``site``: as
    in :func:`directional_values`.
    """
    n, v = directional_values(tensor, kind, quantity, n_theta, n_phi, site)
    r = np.abs(v)[..., None] * n
    return r[..., 0], r[..., 1], r[..., 2], v


def polar_cut(
    tensor: np.ndarray, kind: str | TensorKind, quantity: str, plane: str = "xy", n: int = 361,
    site: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values of a directional quantity along directions in a coordinate plane.

    Args:
        plane: ``"xy"``, ``"xz"`` or ``"yz"`` of the structure frame; the angle is measured from
            the plane's first axis towards its second (e.g. from x towards z for ``"xz"``).
        n: number of angles in [0, 2π], both ends included.
        site: as in :func:`directional_values`.

    Returns:
        ``(angle, directions, values)``: ``(n,)`` angles in radians, ``(n, 3)`` unit vectors,
        ``(n,)`` values in the quantity's unit.
    """
    try:
        u, w = PLANES[plane]
    except KeyError:
        raise ValueError(f"unknown plane {plane!r}; use one of {sorted(PLANES)}") from None
    angle = np.linspace(0.0, 2.0 * np.pi, n)
    d = np.cos(angle)[:, None] * u + np.sin(angle)[:, None] * w
    return angle, d, _evaluator(tensor, kind, quantity, site)(d)
