"""Tensor-property models: GMTNet, two baselines, the ensembles that ship.

Every model maps a batch of crystals to full-rank Cartesian tensors

    ``model(batch) -> (B, 3, ..., 3)`` float32, in the kind's physical units (``TensorKind.unit``:
    ε dimensionless, e C/m², C GPa), in each structure's own Cartesian frame (no Voigt order),

multiplying its raw output by ``config.target_scale`` (physical units per model unit). When
``batch.projector`` (``(B, 3**rank, 3**rank)``, the Neumann projectors ``P = (1/|G|) Σ ρ(g)`` of
:func:`gmtnet.symmetry.symmetry_constraints`) is given, the flattened output is ``P @ t`` per crystal.
A model configured with ``per_atom=True`` returns one tensor per atom instead, ``(N_atoms, 3, ..., 3)``,
projected with the batch's site-symmetry blocks (:mod:`gmtnet.models.per_atom`).

Map of the package
------------------
``config.py``       :class:`ModelConfig` (the knobs, saved as JSON beside the weights), ``ARCHITECTURES``.
``output.py``       **where the output is projected**: :func:`project_output` (``P @ t`` and reshape),
                    :class:`TensorModel` (the base class calling it), the irreps → Cartesian change
                    of basis, the index-permutation average of the baselines.
``layers.py``       shared invariant layers: element descriptors, atom encoder, Bessel radial basis,
                    gated invariant message passing (:class:`~gmtnet.models.layers.InvariantEncoder`).
``equivariant.py``  O(3)-equivariant layers of GMTNet: fused edge tensor product, spherical
                    harmonics, gates, the equivariant convolution.
``per_atom.py``     per-atom outputs (Born charges): the batch with site-symmetry blocks and per-atom
                    labels, :func:`~gmtnet.models.per_atom.project_atoms` (site symmetry + sum rule),
                    the loss over atoms, :func:`~gmtnet.models.per_atom.predict_atoms`.
``gmtnet.py``       :class:`GMTNet` (``architecture="gmtnet"``, Yan et al., ICML 2024).
``megnet.py``       :class:`MEGNetBaseline` (``"megnet"``, invariant, projected: not equivariant).
``etgnn.py``        :class:`ETGNNBaseline` (``"etgnn"``, mean of scalar × u⊗…⊗u over edges).
``network.py``      **the one builder** :func:`~gmtnet.models.network.build_model`, save / load
                    (through :mod:`gmtnet.weights`), :func:`~gmtnet.models.network.run_model`.
``ensemble.py``     :class:`~gmtnet.models.ensemble.ModelEnsemble`, what ships for every kind: several
                    networks whose mean is the prediction and whose calibrated spread is its
                    uncertainty (``load_ensemble``, ``ensemble.json`` + ``member-<i>/``), its
                    statistics and calibration.

Importing this package imports only :mod:`~gmtnet.models.config` (no torch), so that a command
line can offer :data:`ARCHITECTURES` without loading torch; the other names load their module on
first use.
"""

from __future__ import annotations

from gmtnet.models.config import ARCHITECTURES, ModelConfig

#: Where each lazily loaded name lives (the modules import torch).
_LAZY = {
    "build_model": "gmtnet.models.network",
    "count_parameters": "gmtnet.models.network",
    "NUM_ELEMENTS": "gmtnet.models.layers",
    "DESCRIPTOR_NAMES": "gmtnet.models.layers",
    "element_descriptors": "gmtnet.models.layers",
    "cartesian_change_of_basis": "gmtnet.models.output",
    "project_output": "gmtnet.models.output",
    "TensorModel": "gmtnet.models.output",
    "GMTNet": "gmtnet.models.gmtnet",
    "MEGNetBaseline": "gmtnet.models.megnet",
    "ETGNNBaseline": "gmtnet.models.etgnn",
}

__all__ = ["ARCHITECTURES", "ModelConfig", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gmtnet.models' has no attribute {name!r}")
