"""Directional surfaces: closed forms, grid shapes, rotation equivariance, the registry."""

import numpy as np
import pytest
from helpers import random_orthogonal
from test_properties import C11, C12, cubic_c, isotropic_c, wurtzite_e

from gmtnet.kinds import KINDS
from gmtnet.surfaces import (
    SURFACE_QUANTITIES,
    directional_values,
    get_quantity,
    polar_cut,
    quantities_for,
    sphere_grid,
    surface_mesh,
)
from gmtnet.tensors import rotate

EPS = np.array([[5.0, 0.4, -0.2], [0.4, 6.5, 0.3], [-0.2, 0.3, 8.0]])


def test_registry_covers_every_kind():
    for kind in (n for n, k in KINDS.items() if not k.per_atom):  # Z* per atom has no directional quantity
        qs = quantities_for(kind)
        assert qs, kind
        for q in qs:
            assert kind in q.kinds and q.label
    assert [q.name for q in quantities_for("elastic")] == [
        "young", "linear_compressibility", "shear_min", "shear_max", "poisson_min", "poisson_max"]
    assert SURFACE_QUANTITIES["young"].unit == "GPa"
    with pytest.raises(ValueError, match="does not apply"):
        get_quantity("young", "dielectric")
    with pytest.raises(ValueError, match="unknown surface quantity"):
        get_quantity("hardness", "elastic")


def test_grid_shapes_and_unit_vectors():
    theta, phi, n = sphere_grid(7, 11)
    assert theta.shape == (7,) and phi.shape == (11,) and n.shape == (7, 11, 3)
    assert np.linalg.norm(n, axis=-1) == pytest.approx(np.ones((7, 11)))
    n2, v = directional_values(EPS, "dielectric", "dielectric", 7, 11)
    assert n2 == pytest.approx(n)
    assert v == pytest.approx(np.einsum("abi,ij,abj->ab", n, EPS, n))


def test_cubic_young_and_compressibility():
    c = cubic_c()
    n, e = directional_values(c, "elastic", "young", 31, 60)
    det = (C11 - C12) * (C11 + 2 * C12)
    assert e[0, 0] == pytest.approx(det / (C11 + C12))  # θ = 0 is [001]: E<100> = 1/s11
    assert e.max() <= 187.86 and e.max() > 180  # E<111> = 187.85 GPa lies between grid points
    _, beta = directional_values(c, "elastic", "linear_compressibility", 9, 12)
    assert beta == pytest.approx(np.full(beta.shape, 1e3 / (C11 + 2 * C12)))
    _, iso = directional_values(isotropic_c(60.0, 40.0), "elastic", "young", 9, 12)
    assert iso == pytest.approx(np.full(iso.shape, iso[0, 0]))


def test_mesh_radius_is_absolute_value_and_colour_signed():
    x, y, z, v = surface_mesh(wurtzite_e(), "piezoelectric", "longitudinal_piezo", 21, 40)
    r = np.sqrt(x**2 + y**2 + z**2)
    assert r == pytest.approx(np.abs(v))
    assert v.min() < 0 < v.max()
    assert v[0, 0] == pytest.approx(0.96) and v[-1, 0] == pytest.approx(-0.96)  # odd: e(−n) = −e(n)


def test_polar_cuts_of_uniaxial_dielectric():
    eps = np.diag([4.0, 4.0, 9.0])
    angle, d, v = polar_cut(eps, "dielectric", "dielectric", "xy", 73)
    assert v == pytest.approx(np.full(73, 4.0))
    angle, d, v = polar_cut(eps, "dielectric", "dielectric", "xz", 73)
    assert v == pytest.approx(4 * np.cos(angle) ** 2 + 9 * np.sin(angle) ** 2)
    assert d[:, 1] == pytest.approx(np.zeros(73))
    with pytest.raises(ValueError, match="plane"):
        polar_cut(eps, "dielectric", "dielectric", "ab")


@pytest.mark.parametrize(
    "tensor,kind,quantity",
    [(EPS, "dielectric", "dielectric"), (wurtzite_e(), "piezoelectric", "longitudinal_piezo"),
     (cubic_c(), "elastic", "young"), (cubic_c(), "elastic", "linear_compressibility")],
)
def test_rotation_equivariance(rng, tensor, kind, quantity):
    # f_R(R n) = f(n): the surface's values of the tensor along the grid directions n equal the
    # rotated tensor's property along R n (the library's direction-wise functions, any direction).
    from gmtnet.properties import compliance, dielectric_along, linear_compressibility, longitudinal_piezo, young_modulus

    along = {"dielectric": dielectric_along, "longitudinal_piezo": longitudinal_piezo,
             "young": lambda t, n: young_modulus(compliance(t), n),
             "linear_compressibility": lambda t, n: linear_compressibility(compliance(t), n)}[quantity]
    r = random_orthogonal(rng, reflection=True)
    n, v = directional_values(tensor, kind, quantity, 9, 13)
    assert along(rotate(tensor, r), n @ r.T) == pytest.approx(v)


def test_singular_stiffness_gives_nan_surface():
    _, v = directional_values(np.zeros((3, 3, 3, 3)), "elastic", "young", 5, 6)
    assert np.isnan(v).all()


def test_wrong_shape_is_rejected():
    with pytest.raises(ValueError, match="shape"):
        directional_values(np.zeros((3, 3)), "elastic", "young")


def test_shear_and_poisson_surfaces_match_the_extrema():
    """G(n) and ν(n) surfaces (min/max over m ⟂ n, as ELATE): their extremes over the sphere are the
    elastic extrema of gmtnet.properties, and isotropic C gives flat surfaces."""
    from gmtnet.properties import elastic_extrema

    c = cubic_c()
    ext = elastic_extrema(c)
    for q, key, reduce in (("shear_min", "shear_min", np.min), ("shear_max", "shear_max", np.max),
                           ("poisson_min", "poisson_min", np.min), ("poisson_max", "poisson_max", np.max)):
        _, v = directional_values(c, "elastic", q, 91, 180)
        assert reduce(v) == pytest.approx(ext[key].value, rel=2e-3)
    lam, mu = 50.0, 30.0
    iso = np.einsum("ij,kl->ijkl", np.eye(3), np.eye(3)) * lam + mu * (
        np.einsum("ik,jl->ijkl", np.eye(3), np.eye(3)) + np.einsum("il,jk->ijkl", np.eye(3), np.eye(3)))
    for q in ("shear_min", "shear_max"):
        _, v = directional_values(iso, "elastic", q, 9, 12)
        np.testing.assert_allclose(v, mu, rtol=1e-10)
    _, v = directional_values(iso, "elastic", "poisson_max", 9, 12)
    np.testing.assert_allclose(v, lam / (2 * (lam + mu)), rtol=1e-10)
