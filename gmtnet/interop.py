"""The ecosystem's habits: ASE ``Atoms`` in, pymatgen tensor objects out, an HTML table in Jupyter.

* :func:`as_structure`: a pymatgen ``Structure`` unchanged, an ASE ``Atoms`` converted with
  pymatgen's own ``AseAtomsAdaptor`` (cell rows and Cartesian positions kept, so the tensors come
  back in the Atoms' Cartesian frame);
* :func:`to_pymatgen`: a :class:`~gmtnet.predict.Prediction` as ``SquareTensor`` (ε₀, ε∞),
  ``PiezoTensor`` (e, C/m²) or ``ElasticTensor`` (C, GPa), full rank in the structure's frame,
  where pymatgen's elasticity and analysis tools take over (``k_vrh``, ``debye_temperature``,
  ``universal_anisotropy``, ``.voigt`` in pymatgen's IEEE order xx, yy, zz, yz, xz, xy);
* :func:`prediction_html`: what ``Prediction._repr_html_`` shows in Jupyter.
"""

from __future__ import annotations

import html
import sys

import numpy as np

# A prediction is taken as any object with the attributes of gmtnet.predict.Prediction (duck
# typing): gmtnet.predict imports this module, so naming the class here, even for type checking
# only, would close an import cycle.

__all__ = ["as_structure", "is_ase_atoms", "to_pymatgen", "prediction_html"]


def is_ase_atoms(obj) -> bool:
    """True for an ``ase.Atoms`` or a subclass (pymatgen's ``MSONAtoms``); ASE is not imported
    here: if nothing imported it, ``obj`` cannot be one."""
    ase = sys.modules.get("ase")
    return ase is not None and isinstance(obj, ase.Atoms)


def as_structure(obj):
    """A pymatgen ``Structure`` for ``obj``: returned unchanged when it is one, converted with
    ``pymatgen.io.ase.AseAtomsAdaptor`` when it is an ASE ``Atoms``; anything else is returned as
    is for the structure checks to refuse with their own message.

    Raises:
        ValueError: an ``Atoms`` that is not periodic along all three axes (a molecule: no
            tensor of a crystal), or whose cell is missing.
    """
    if not is_ase_atoms(obj):
        return obj
    pbc = tuple(bool(x) for x in obj.pbc)
    if not all(pbc):
        raise ValueError(f"the ASE Atoms must be periodic along all three axes, got pbc={pbc}")
    if abs(float(np.linalg.det(np.asarray(obj.cell)))) <= 1e-3:
        raise ValueError("the ASE Atoms has no cell (zero volume); set atoms.cell and atoms.pbc = True")
    from pymatgen.io.ase import AseAtomsAdaptor

    return AseAtomsAdaptor.get_structure(obj)


def to_pymatgen(prediction):
    """The prediction's mean tensor as a pymatgen tensor object, full rank, structure frame, the
    kind's units, of the class the kind chooses (:meth:`gmtnet.kinds.TensorKind.to_pymatgen`):
    ``SquareTensor`` (ε₀, ε∞), ``PiezoTensor`` (e, C/m²), ``ElasticTensor`` (C, GPa).

    The full-rank array is handed over as is, so pymatgen's ``.voigt`` gives back
    ``prediction.voigt`` (both IEEE order) and ``from_voigt(prediction.voigt)`` gives the same
    object."""
    return prediction.kind.to_pymatgen(prediction.tensor)


def _cell(value: float, sigma: float | None) -> str:
    if sigma is None:
        return f"{value:.4g}"
    if value == 0.0 and sigma == 0.0:
        return "0"
    return f"{value:.4g} ± {sigma:.2g}"


def prediction_html(p) -> str:
    """An HTML summary of a prediction: the Voigt matrix (IEEE order, value ± calibrated 1σ), unit,
    frame, symmetry, scalar uncertainty and every warning (escaped)."""
    from gmtnet.tensors import voigt_labels

    k = p.kind
    v, sd = p.voigt, p.std_voigt
    labels = voigt_labels(k.name, "ieee")
    unit = html.escape(k.unit_label)
    rows = []
    for i in range(v.shape[0]):
        cells = "".join(
            f'<td title="{html.escape(str(labels[i, j]))}" style="text-align:right">'
            f"{html.escape(_cell(float(v[i, j]), None if sd is None else float(sd[i, j])))}</td>"
            for j in range(v.shape[1])
        )
        rows.append(f"<tr><th>{i + 1}</th>{cells}</tr>")
    head = "".join(f"<th>{j + 1}</th>" for j in range(v.shape[1]))
    sym = p.symmetry
    unc = "single network: no uncertainty" if p.uncertainty is None else (
        f"uncertainty (1σ, Frobenius) {p.uncertainty:.3g} {unit}, ensemble of {len(p.members)}")
    warnings = "".join(f'<li style="color:#a15c00">⚠ {html.escape(w)}</li>' for w in p.warnings)
    return (
        f"<div><b>{html.escape(k.title)}</b> ({html.escape(k.symbol)}), unit: {unit}<br>"
        f"<small>Cartesian frame of the input structure; Voigt order IEEE (xx, yy, zz, yz, xz, xy); "
        f"value ± calibrated 1σ. Point group {html.escape(sym.point_group)} "
        f"(space group {html.escape(sym.spacegroup_symbol)}, {sym.spacegroup_number}; {html.escape(sym.crystal_system)}), "
        f"{sym.n_independent} independent components; {unc}.</small>"
        f'<table><tr><th></th>{head}</tr>{"".join(rows)}</table>'
        + (f"<ul>{warnings}</ul>" if warnings else "")
        + "</div>"
    )
