"""The bundled tensor datasets (built by ``scripts/build_datasets.py``; see ``DATA_CARD.md``)."""
