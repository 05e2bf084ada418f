"""Directional surfaces of a tensor: a value per direction n, on a (θ, φ) grid or in a plane.

numpy only. Tensors are full rank in the structure's Cartesian frame and the kind's units; the
directions n are unit vectors in that frame (θ polar angle from +z, φ azimuth from +x, radians).
:data:`SURFACE_QUANTITIES` lists what can be drawn for each kind, so UI code needs no kind logic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gmtnet.kinds import TensorKind, get_kind
from gmtnet.properties import (
    compliance,
    dielectric_along,
    linear_compressibility,
    longitudinal_piezo,
    poisson_ratio,
    shear_modulus,
    young_modulus,
)

__all__ = [
    "SurfaceQuantity",
    "SURFACE_QUANTITIES",
    "quantities_for",
    "get_quantity",
    "sphere_grid",
    "directional_values",
    "surface_mesh",
    "polar_cut",
    "PLANES",
]


@dataclass(frozen=True)
class SurfaceQuantity:
    """A directional quantity f(n) that can be drawn as a surface.

    Attributes:
        name: registry key.
        kinds: tensor kinds it applies to.
        label: display label, e.g. ``"Young's modulus E(n)"``.
        unit: unit of the values (``""`` for dimensionless).
        signed: True when f(n) can be negative (drawn with a diverging colour scale).
    """

    name: str
    kinds: tuple[str, ...]
    label: str
    unit: str
    signed: bool = False


SURFACE_QUANTITIES: dict[str, SurfaceQuantity] = {
    q.name: q
    for q in (
        SurfaceQuantity("dielectric", ("dielectric", "dielectric_electronic"), "ε(n) = nᵀεn", ""),
        SurfaceQuantity("longitudinal_piezo", ("piezoelectric",), "longitudinal e(n) = e_ijk n_i n_j n_k", "C/m²", signed=True),
        SurfaceQuantity("young", ("elastic",), "Young's modulus E(n)", "GPa"),
        SurfaceQuantity("linear_compressibility", ("elastic",), "linear compressibility β(n)", "TPa⁻¹", signed=True),
        # As ELATE: G and ν depend on n and on a second direction m ⟂ n; each n gets the min and
        # the max over m (two surfaces per quantity).
        SurfaceQuantity("shear_min", ("elastic",), "shear modulus G(n), min over m ⟂ n", "GPa"),
        SurfaceQuantity("shear_max", ("elastic",), "shear modulus G(n), max over m ⟂ n", "GPa"),
        SurfaceQuantity("poisson_min", ("elastic",), "Poisson's ratio ν(n), min over m ⟂ n", "", signed=True),
        SurfaceQuantity("poisson_max", ("elastic",), "Poisson's ratio ν(n), max over m ⟂ n", "", signed=True),
    )
}

#: Angles of m around n sampled for the G(n) and ν(n) surfaces, over [0, π) (both are even in m).
PAIR_ANGLES = 72

#: Plane name → two orthonormal in-plane axes (structure frame) spanning the cut.
PLANES: dict[str, tuple[np.ndarray, np.ndarray]] = {
    "xy": (np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])),
    "xz": (np.array([1.0, 0.0, 0.0]), np.array([0.0, 0.0, 1.0])),
    "yz": (np.array([0.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0])),
}


def quantities_for(kind: str | TensorKind) -> list[SurfaceQuantity]:
    """The surface quantities that apply to ``kind``, in registry order."""
    k = get_kind(kind).name
    return [q for q in SURFACE_QUANTITIES.values() if k in q.kinds]


def get_quantity(quantity: str, kind: str | TensorKind) -> SurfaceQuantity:
    """Registry entry of ``quantity``; raises ValueError if unknown or not defined for ``kind``."""
    k = get_kind(kind).name
    try:
        q = SURFACE_QUANTITIES[quantity]
    except KeyError:
        raise ValueError(f"unknown surface quantity {quantity!r}; expected one of {sorted(SURFACE_QUANTITIES)}") from None
    if k not in q.kinds:
        raise ValueError(f"surface quantity {quantity!r} does not apply to {k!r}; use one of {[x.name for x in quantities_for(k)]}")
    return q


def _evaluator(tensor: np.ndarray, kind: str | TensorKind, quantity: str) -> Callable[[np.ndarray], np.ndarray]:
    """n ``(..., 3)`` → values, for one tensor (the compliance is inverted once, here)."""
    k = get_kind(kind)
    get_quantity(quantity, k)
    t = np.asarray(tensor, dtype=float)
    if t.shape != k.shape:
        raise ValueError(f"{k.name} tensor must have shape {k.shape}, got {t.shape}")
    if quantity == "dielectric":
        return lambda n: dielectric_along(t, n)
    if quantity == "longitudinal_piezo":
        return lambda n: longitudinal_piezo(t, n)
    s = compliance(t)  # NaN for a singular C: the surface is then all NaN, not an exception
    if quantity == "young":
        return lambda n: young_modulus(s, n)
    if quantity == "linear_compressibility":
        return lambda n: linear_compressibility(s, n)
    f = shear_modulus if quantity.startswith("shear") else poisson_ratio
    reduce = np.min if quantity.endswith("_min") else np.max
    return lambda n: _over_perpendicular(lambda a, b: f(s, a, b), n, reduce)


def _over_perpendicular(f, n: np.ndarray, reduce) -> np.ndarray:
    """reduce over m ⟂ n (``PAIR_ANGLES`` angles) of f(n, m), for ``(..., 3)`` unit vectors n."""
    flat = np.asarray(n, dtype=float).reshape(-1, 3)
    # A basis of the plane ⟂ n, vectorised: cross with the axis least aligned with each n.
    helper = np.eye(3)[np.argmin(np.abs(flat), axis=1)]
    a = np.cross(flat, helper)
    a /= np.linalg.norm(a, axis=1, keepdims=True)
    b = np.cross(flat, a)
    psi = np.linspace(0.0, np.pi, PAIR_ANGLES, endpoint=False)
    m = np.cos(psi)[None, :, None] * a[:, None, :] + np.sin(psi)[None, :, None] * b[:, None, :]
    nn = np.broadcast_to(flat[:, None, :], m.shape)
    vals = f(nn.reshape(-1, 3), m.reshape(-1, 3)).reshape(len(flat), PAIR_ANGLES)
    return reduce(vals, axis=1).reshape(np.shape(n)[:-1])


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
    tensor: np.ndarray, kind: str | TensorKind, quantity: str, n_theta: int = 60, n_phi: int = 120
) -> tuple[np.ndarray, np.ndarray]:
    """Values of a directional quantity on the (θ, φ) grid of :func:`sphere_grid`.

    Args:
        tensor: full-rank tensor in the structure frame, kind's units.
        kind: its kind.
        quantity: a key of :data:`SURFACE_QUANTITIES` that applies to ``kind``.

    Returns:
        ``(n, values)``: unit vectors ``(n_theta, n_phi, 3)`` (structure frame) and values
        ``(n_theta, n_phi)`` in the quantity's unit (``SURFACE_QUANTITIES[quantity].unit``).
    """
    f = _evaluator(tensor, kind, quantity)
    _, _, n = sphere_grid(n_theta, n_phi)
    return n, f(n)


def surface_mesh(
    tensor: np.ndarray, kind: str | TensorKind, quantity: str, n_theta: int = 60, n_phi: int = 120
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Radius-|f(n)| surface for plotting: ``(x, y, z, values)``, each ``(n_theta, n_phi)``.

    x, y, z = |f(n)|·n in the quantity's unit along the structure's axes; ``values`` keep the sign
    of f(n), for the colour (a signed quantity such as e(n) has lobes of both signs).
    """
    n, v = directional_values(tensor, kind, quantity, n_theta, n_phi)
    r = np.abs(v)[..., None] * n
    return r[..., 0], r[..., 1], r[..., 2], v


def polar_cut(
    tensor: np.ndarray, kind: str | TensorKind, quantity: str, plane: str = "xy", n: int = 361
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values of a directional quantity along directions in a coordinate plane.

    Args:
        plane: ``"xy"``, ``"xz"`` or ``"yz"`` of the structure frame; the angle is measured from
            the plane's first axis towards its second (e.g. from x towards z for ``"xz"``).
        n: number of angles in [0, 2π], both ends included.

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
    return angle, d, _evaluator(tensor, kind, quantity)(d)
