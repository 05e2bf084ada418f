"""The insulator gate: which crystals are likely metals, and the warning ε₀, ε∞ and e carry for them."""

import pytest
import torch
from pymatgen.core import Composition, Lattice, Structure

from gmtnet.catalog import reference_structure
from gmtnet.insulator import charge_balances, is_likely_metal, metal_reason, metal_warning
from gmtnet.predict import Predictor
from helpers import rocksalt_nacl, wurtzite_zno


def fcc_cu() -> Structure:
    return Structure(Lattice.cubic(3.61), ["Cu"] * 4, [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])


def cu3au() -> Structure:
    """L1₂ Cu₃Au, the textbook ordered intermetallic."""
    return Structure(Lattice.cubic(3.75), ["Au", "Cu", "Cu", "Cu"], [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])


@pytest.mark.parametrize("formula", ["Cu", "Fe", "Pd", "Cu3Au", "NiAl", "Fe3Al", "Cu3Sn", "CuZn"])
def test_metals_and_intermetallics_are_flagged(formula):
    assert is_likely_metal(formula), formula


@pytest.mark.parametrize("formula", ["NaCl", "ZnO", "BaTiO3", "LiNbO3", "GaAs", "Fe3O4", "FeS2", "YNiSb", "BaO2",
                                     "Si", "C", "Se", "Mg2Sn"])
def test_insulators_and_semiconductors_are_not(formula):
    assert metal_reason(formula) is None, formula


def test_the_reason_says_why():
    assert metal_reason(fcc_cu()) == "Cu is an elemental metal"
    reason = metal_reason(cu3au())
    assert "no combination of the oxidation states of Au, Cu balances the charge of Cu3Au" in reason
    assert "intermetallic" in reason
    assert "insulators only" in metal_warning("Cu", "static dielectric tensor")
    assert metal_warning("ZnO", "static dielectric tensor") is None


def test_charge_balance_is_exact_and_cheap_for_large_cells():
    # Mixed valence: Fe3O4 needs Fe2+ and Fe3+ in one cell; a 500-atom spinel cell the same.
    assert charge_balances(Composition("Fe3O4")) and charge_balances(Composition("Fe120O160"))
    assert not charge_balances(Composition("Cu250Au250"))
    assert charge_balances(Composition({"Na": 0.5, "Cl": 0.5}))  # fractional amounts are scaled


def test_bundled_oxide_is_not_flagged():
    zno = reference_structure("mp-2133")  # wurtzite ZnO from the bundled data
    assert zno.composition.reduced_formula == "ZnO"
    assert not is_likely_metal(zno)


@pytest.fixture(scope="module")
def predictor():
    torch.set_num_threads(1)
    return Predictor.load(device="cpu", members=2)


@pytest.mark.parametrize("kind", ["dielectric", "dielectric_electronic", "piezoelectric"])
def test_metal_predictions_carry_the_warning_first(predictor, kind):
    results = predictor.predict_many([fcc_cu(), cu3au(), rocksalt_nacl(), wurtzite_zno()], kind)
    cu, au, nacl, zno = results
    for r in (cu, au):
        assert r.warnings and r.warnings[0].startswith("Likely a metal:"), r.warnings
        assert r.tensor.shape == r.kind.shape  # returned, with the warning
    assert "Cu is an elemental metal" in cu.warnings[0]
    assert not any(w.startswith("Likely a metal") for w in nacl.warnings + zno.warnings)


def test_elastic_predictions_are_not_gated(predictor):
    assert not any(w.startswith("Likely a metal") for w in predictor.predict(fcc_cu(), "elastic").warnings)


def test_cli_prints_the_metal_warning(tmp_path, capsys):
    from gmtnet.cli import main

    path = tmp_path / "POSCAR"
    path.write_text(fcc_cu().to(fmt="poscar"))
    assert main(["predict", str(path), "--kind", "dielectric", "--device", "cpu", "--members", "1"]) == 0
    out = capsys.readouterr().out
    assert "warning: Likely a metal: Cu is an elemental metal" in out
