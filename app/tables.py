"""Pure display helpers: Voigt matrices as labelled tables, the allowed form, comparison numbers.

No Streamlit here, so these are easy to test; the widgets render what they return.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from pymatgen.core import Structure

from app.failure import Failure
from gmtnet.kinds import TensorKind
from gmtnet.metrics import frobenius_errors, paper_form
from gmtnet.symmetry import SymmetryConstraints
from gmtnet.tensors import to_voigt, voigt_labels

VOIGT_ORDER_NOTE = "Voigt order IEEE 176: 1 = xx, 2 = yy, 3 = zz, 4 = yz, 5 = xz, 6 = xy"


def axis_labels(k: TensorKind) -> tuple[list[str], list[str]]:
    """Row and column labels of the kind's Voigt matrix (IEEE order)."""
    return k.voigt_axis_labels()


#: Display only: entries smaller than this times the largest entry are shown as 0 (float64
#: round-off of the exact projection, ~1e-15 relative).
DISPLAY_ZERO = 1e-12


def voigt_table(voigt: np.ndarray, k: TensorKind, clean: bool = False) -> pd.DataFrame:
    """The Voigt matrix (IEEE order, kind's units) as a labelled DataFrame, values as given
    (predictions carry exact zeros already); ``clean`` shows round-off below
    :data:`DISPLAY_ZERO` × max|entry| as 0."""
    v = np.asarray(voigt, dtype=float)
    if clean and v.size:
        v = np.where(np.abs(v) < DISPLAY_ZERO * np.abs(v).max(), 0.0, v)
    rows, cols = axis_labels(k)
    return pd.DataFrame(v, index=rows, columns=cols)


def voigt_table_with_std(voigt: np.ndarray, std: np.ndarray, k: TensorKind) -> pd.DataFrame:
    """``value ± σ`` strings for a Voigt matrix and its calibrated standard deviation (IEEE order,
    kind's units); components with σ = 0 (forbidden by symmetry, so exactly 0) show the value alone."""
    v, s = np.asarray(voigt, dtype=float), np.asarray(std, dtype=float)
    if v.shape != s.shape:
        raise ValueError(f"Voigt matrix {v.shape} and its deviation {s.shape} differ in shape")
    cells = np.vectorize(lambda x, e: f"{x:.4g}" if e == 0 else f"{x:.4g} ± {e:.2g}")(v, s)
    rows, cols = axis_labels(k)
    return pd.DataFrame(cells, index=rows, columns=cols)


def allowed_form(constraints: SymmetryConstraints) -> pd.DataFrame:
    """The symmetry-allowed form: ``0`` where forbidden, a component name where free, and
    ``= C11`` / ``= −e15`` where forced equal (or opposite) to an earlier component."""
    k = constraints.kind
    labels = voigt_labels(k, "ieee")
    zero = constraints.voigt_zero_mask("ieee")
    pos = {str(labels[i, j]): (i, j) for i in range(labels.shape[0]) for j in range(labels.shape[1])}
    form = np.where(zero, "0", labels).astype(object)
    parent: dict[str, tuple[str, int]] = {}
    for a, b, sign in constraints.voigt_equalities("ieee"):
        root, s = parent.get(a, (a, 1))
        parent[b] = (root, s * sign)
    for name, (root, sign) in parent.items():
        form[pos[name]] = f"= {'−' if sign < 0 else ''}{root}"
    if k.voigt_symmetric:  # mirror the (symmetric) upper triangle
        for i in range(form.shape[0]):
            for j in range(i):
                if not zero[i, j]:
                    form[i, j] = form[j, i] if str(form[j, i]).startswith("=") else f"= {labels[j, i]}"
    rows, cols = axis_labels(k)
    return pd.DataFrame(form, index=rows, columns=cols)


def comparison(pred: np.ndarray, ref: np.ndarray, k: TensorKind, constraints: SymmetryConstraints) -> dict:
    """Prediction against a DFT reference, both full rank in the same structure frame.

    Returns Frobenius error (paper's matrix form, kind's units), the relative error, and the
    zero/equality checks and residual of *each* tensor against the crystal's allowed form.
    """
    err = float(frobenius_errors(pred[None], ref[None], k)[0])
    norm = float(np.linalg.norm(paper_form(ref[None], k)[0]))
    out = {"frobenius": err, "relative": err / norm if norm else float("nan"), "ref_norm": norm}
    for name, t in (("prediction", pred), ("dft", ref)):
        out[name] = {**constraints.check(t), "residual": constraints.residual(t)}
    return out


def tensors_json(predictions: dict, structure: Structure, label: str) -> str:
    """All predictions as one JSON document (frame, units and Voigt order spelled out)."""
    doc = {
        "crystal": label,
        "formula": structure.composition.reduced_formula,
        "structure": structure.as_dict(),
        "predictions": {k: p.to_dict() for k, p in predictions.items() if not isinstance(p, Failure)},
    }
    return json.dumps(doc, indent=1)


def tensors_csv(predictions: dict) -> str:
    """One line per Voigt component: kind, component, row, column, value, unit (IEEE order); a
    per-atom kind's components are named by site (``site0:Zxx``, sites in structure order)."""
    lines = ["kind,component,voigt_row,voigt_col,value,unit,frame"]
    for kname, p in predictions.items():
        if isinstance(p, Failure):  # nothing to export for a kind that failed
            continue
        labels = voigt_labels(p.kind, "ieee")
        v = to_voigt(p.tensor, p.kind, "ieee")
        blocks = [(f"site{n}:", block) for n, block in enumerate(v)] if p.kind.per_atom else [("", v)]
        for prefix, block in blocks:
            for i in range(block.shape[0]):
                for j in range(block.shape[1]):
                    lines.append(f"{kname},{prefix}{labels[i, j]},{i + 1},{j + 1},{block[i, j]:.8g},{p.kind.unit_label},"
                                 "structure Cartesian")
    return "\n".join(lines) + "\n"


def lattice_table(structure: Structure) -> pd.DataFrame:
    lat = structure.lattice
    return pd.DataFrame(
        {
            "a (Å)": [lat.a],
            "b (Å)": [lat.b],
            "c (Å)": [lat.c],
            "α (°)": [lat.alpha],
            "β (°)": [lat.beta],
            "γ (°)": [lat.gamma],
            "V (Å³)": [lat.volume],
        }
    ).round(4)


def largest_component_signs(e_physics: np.ndarray, e_network: np.ndarray) -> str | None:
    """One sentence comparing the sign of the physics estimate's largest piezoelectric component
    with the network's same component (both 3 × 6 Voigt matrices, IEEE order, C/m², one frame):
    the sign of a polar crystal's e is a fact of its structure, the check a teacher wants. None
    when the physics estimate is zero (a non-piezoelectric class)."""
    a, b = np.asarray(e_physics, dtype=float), np.asarray(e_network, dtype=float)
    if a.shape != (3, 6) or b.shape != (3, 6):
        raise ValueError(f"expected two 3x6 piezoelectric Voigt matrices, got {a.shape} and {b.shape}")
    i = np.unravel_index(int(np.argmax(np.abs(a))), a.shape)
    if abs(a[i]) < 1e-6:
        return None
    name = str(voigt_labels("piezoelectric", "ieee")[i])
    if abs(b[i]) < 1e-6:
        verdict = "the network predicts it as zero"
    else:
        verdict = "same sign" if np.sign(a[i]) == np.sign(b[i]) else "**opposite signs**"
    return f"Largest ionic component: {name} = {a[i]:+.3g} C/m² (physics) against {b[i]:+.3g} C/m² (network): {verdict}."
