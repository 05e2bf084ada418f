"""Tensor-property models: GMTNet, two baselines and a tensor head on a pretrained encoder.

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
``encoder.py``      the pretrained SevenNet encoder adapter (per-atom O(3) features, both parities)
                    and its safetensors feature cache; imports ``sevenn`` only when loading.
``head.py``         :class:`~gmtnet.models.head.EncoderTensorHead`, GMTNet's tensor head on frozen
                    encoder features (ends with the same :func:`project_output`).
``ensemble.py``     :class:`~gmtnet.models.ensemble.ModelEnsemble`, what ships for every kind: several
                    networks whose mean is the prediction and whose calibrated spread is its
                    uncertainty (``load_ensemble``, ``ensemble.json`` + ``member-<i>/``); the same
                    statistics and calibration for ensembles of heads.

The one builder of the from-scratch models is :func:`build_model` (weights are saved and loaded by
:mod:`gmtnet.weights`, ensembles by :func:`gmtnet.models.ensemble.load_ensemble`; the heads by
:mod:`gmtnet.head_training`).
"""

from __future__ import annotations

from torch import nn

from gmtnet.models.config import ARCHITECTURES, ModelConfig
from gmtnet.models.etgnn import ETGNNBaseline
from gmtnet.models.gmtnet import GMTNet
from gmtnet.models.layers import DESCRIPTOR_NAMES, NUM_ELEMENTS, element_descriptors
from gmtnet.models.megnet import MEGNetBaseline
from gmtnet.models.output import TensorModel, cartesian_change_of_basis, project_output

__all__ = [
    "ARCHITECTURES",
    "NUM_ELEMENTS",
    "DESCRIPTOR_NAMES",
    "ModelConfig",
    "build_model",
    "element_descriptors",
    "cartesian_change_of_basis",
    "project_output",
    "count_parameters",
    "TensorModel",
    "GMTNet",
    "MEGNetBaseline",
    "ETGNNBaseline",
]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


_BUILDERS = {"gmtnet": GMTNet, "megnet": MEGNetBaseline, "etgnn": ETGNNBaseline}


def build_model(config: ModelConfig | dict) -> TensorModel:
    """Build the model described by ``config`` (a :class:`ModelConfig` or its dict).

    Returns:
        a :class:`TensorModel` (``model.config`` is the resolved config); float32, CPU, train mode.
    """
    if isinstance(config, dict):
        config = ModelConfig.from_dict(config)
    elif not isinstance(config, ModelConfig):
        raise ValueError(f"config must be a ModelConfig or a dict, got {type(config).__name__}")
    return _BUILDERS[config.architecture](config)
