"""The kinds package: what a kind derives from its formula, and the registry's rules."""

import numpy as np
import pytest

from gmtnet import kinds
from gmtnet.kinds import KINDS, SHIPPED, ScalarColumn, SymmetricMatrixKind, TensorKind, get_kind, register_kind, unregister_kind


@pytest.mark.parametrize("kind", SHIPPED, ids=lambda k: k.name)
def test_declared_irreps_and_voigt_shape_are_the_formulas(kind):
    from e3nn import o3

    assert o3.Irreps(kind.derived_irreps()) == o3.Irreps(kind.irreps).simplify()
    assert kind.voigt_shape == {2: (3, 3), 3: (3, 6), 4: (6, 6)}[kind.rank]
    assert kind.voigt_symmetric == (kind.rank != 3)


@pytest.mark.parametrize("kind", SHIPPED, ids=lambda k: k.name)
def test_symmetrize_is_the_group_average_and_a_projection(kind, rng):
    t = rng.normal(size=(2, *kind.shape))
    lead = [0]
    full = sum(np.transpose(t, lead + [1 + i for i in p]) for p in kind.permutations) / len(kind.permutations)
    s = kind.symmetrize(t)
    np.testing.assert_allclose(s, full, atol=1e-14)
    np.testing.assert_allclose(kind.symmetrize(s), s, atol=1e-14)
    # the orbits count the independent components: 6 (ε), 18 (e), 21 (C)
    assert len(kind.index_orbits) == {2: 6, 3: 18, 4: 21}[kind.rank]


def test_a_general_and_a_cyclic_formula():
    general = TensorKind(name="general_test", title="t", symbol="T", rank=2, formula="ij", irreps="0e+1e+2e")
    assert general.permutations == ((0, 1),) and general.voigt_shape == (3, 3) and not general.voigt_symmetric
    t = np.arange(9.0).reshape(3, 3)
    np.testing.assert_array_equal(general.symmetrize(t), t)
    # ijk=jki: a 3-cycle, no chain of involutions; the full average is used
    cyclic = TensorKind(name="cyclic_test", title="t", symbol="T", rank=3, formula="ijk=jki", irreps="1o+1o+1e+2o+2e+3o")
    u = np.random.default_rng(0).normal(size=(3, 3, 3))
    s = cyclic.symmetrize(u)
    np.testing.assert_allclose(s, s.transpose(1, 2, 0), atol=1e-14)


def test_bad_kinds_and_registry_rules():
    with pytest.raises(ValueError, match="distinct indices"):
        TensorKind(name="bad_test", title="t", symbol="T", rank=3, formula="ij", irreps="0e")
    with pytest.raises(ValueError, match="permute"):
        TensorKind(name="bad_test", title="t", symbol="T", rank=2, formula="ij=jk", irreps="0e")
    with pytest.raises(ValueError, match="does not follow"):
        TensorKind(name="bad_test", title="t", symbol="T", rank=2, formula="ij=ji", irreps="0e+2e", voigt_shape=(3, 6))
    with pytest.raises(ValueError, match="rank 2 and formula"):
        SymmetricMatrixKind(name="bad_test", title="t", symbol="T", rank=2, formula="ij", irreps="0e+1e+2e")
    with pytest.raises(TypeError):
        register_kind("elastic")
    with pytest.raises(ValueError, match="registered already"):
        register_kind(TensorKind(name="elastic", title="t", symbol="C", rank=4, formula="ijkl=jikl=klij", irreps="0e+0e+2e+2e+4e"))
    with pytest.raises(ValueError, match="pair with 'elastic'"):
        unregister_kind("elastic")
    with pytest.raises(ValueError, match="no kind"):
        unregister_kind("nothing_here")
    with pytest.raises(ValueError, match="unknown tensor kind"):
        get_kind("nothing_here")
    clash = SymmetricMatrixKind(name="clash_test", title="t", symbol="T", rank=2, formula="ij=ji", irreps="0e+2e",
                                column_prefix="eps")
    with pytest.raises(ValueError, match="scalar column 'eps_min'"):
        register_kind(clash)
    assert "clash_test" not in KINDS and list(KINDS)[:4] == [k.name for k in SHIPPED]


def test_shared_columns_and_quantities_list_every_kind():
    from gmtnet.scalars import SCALAR_COLUMNS
    from gmtnet.surfaces import SURFACE_QUANTITIES

    assert SCALAR_COLUMNS["eps_min"][2] == ("dielectric", "dielectric_electronic")
    assert SCALAR_COLUMNS["born_stable"][2] == ("elastic",)
    assert SURFACE_QUANTITIES["dielectric"].kinds == ("dielectric", "dielectric_electronic")
    assert isinstance(kinds.ELASTIC.scalar_columns[-1], ScalarColumn) and kinds.ELASTIC.scalar_columns[-1].boolean
