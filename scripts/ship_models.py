"""Copy trained GMTNet runs into the package as the shipped weights, each with its model card.

    python scripts/ship_models.py [--runs runs] [--kinds dielectric ...]

For every kind, reads ``runs/KIND-gmtnet/`` (``model.safetensors``, ``config.json``,
``summary.json``, ``metrics-test.json`` from ``python -m gmtnet evaluate``) and writes
``gmtnet/resources/weights/KIND/`` with the weights, the config (which records the exact training
command) and ``MODEL_CARD.md`` with the measured metrics. Numbers come from those files only.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from gmtnet.data import load_dataset
from gmtnet.kinds import KINDS, get_kind

DEST = Path("gmtnet/resources/weights")


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def model_card(kind: str, config: dict, summary: dict, metrics: dict) -> str:
    k = get_kind(kind)
    unit = k.unit_label
    df = load_dataset(kind, include_flagged=False)
    counts = df["split"].value_counts().to_dict()
    o = metrics["overall"]
    rows = [f"| {name} | {m['n']} | {m['fnorm']:.4g} | {_pct(m['ewt25'])} | {_pct(m['ewt10'])} | {_pct(m['ewt5'])} | "
            f"{_pct(m['zero_success'])} | {_pct(m['equality_success'])} |"
            for name, m in {"**all**": o, **metrics["per_crystal_system"]}.items()]
    mc = config["model"]
    train = config.get("train", {})
    return f"""# GMTNet model card: {k.title} ({k.symbol})

## What it predicts
- The full-rank {k.rank}-index tensor {k.symbol} ({k.formula}), in **{unit}**, in the **Cartesian frame of
  the input structure**; `Prediction.voigt` gives it as a {k.voigt_shape[0]}x{k.voigt_shape[1]} Voigt matrix in
  IEEE order (xx, yy, zz, yz, xz, xy).
- Label source: Materials Project DFT via matminer (`{k.dataset}` dataset, column `{k.column}`); see
  `gmtnet/resources/data/DATA_CARD.md`.
- Every prediction is projected onto the form allowed by the structure's point group (spglib,
  symprec {train.get('symprec', 0.01)} Å), so symmetry-forbidden components are zero.

## Data and split
Unflagged rows of the bundled set, fixed seeded per-material split: train {counts.get('train', 0)},
validation {counts.get('val', 0)}, test {counts.get('test', 0)} crystals. Best epoch chosen on the
validation Fnorm.

## Training
- Command: `{summary['command'] or config.get('command', '')}`
- Epochs {summary['epochs']} (best {summary['best_epoch']}), batch size {train.get('batch_size')}, AdamW lr {train.get('lr')}
  (warm-up then cosine), seed {train.get('seed')}; loss: mean Frobenius norm of the full-tensor error
  divided by the target scale ({summary['target_scale']:.4g}{' ' + k.unit if k.unit else ''}, RMS label component of the train split).
- Hyper-parameters: {', '.join(f'{key}={value}' for key, value in mc.items() if key not in ('kind', 'target_scale'))}.
- Parameters: {summary['parameters']:,}. Training time: {summary['train_seconds'] / 60:.1f} min on {summary['device']}.

## Test metrics (measured by `python -m gmtnet evaluate --kind {kind}`)
Fnorm {"(dimensionless)" if not k.unit else "in " + unit} (ε as 3x3, e as 3x6 Voigt, C as 6x6 Voigt); mean label norm on these rows
{o['mean_label_norm']:.4g}, so the relative Fnorm is {o['fnorm'] / o['mean_label_norm']:.3f}.

| crystal system | n | Fnorm | EwT25 | EwT10 | EwT5 | zero-element success | equality success |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

## Known limits
- Trained on about {counts.get('train', 0)} crystals (a fifth to a twelfth of the paper's JARVIS sets):
  expect large errors for chemistries and structure types absent from Materials Project's DFPT sets.
- The symmetry of the prediction is that of the structure as detected at the chosen tolerance; a
  structure given slightly off its ideal symmetry gets the lower symmetry below the tolerance.
- Structures up to {__import__('gmtnet.graph', fromlist=['MAX_ATOMS']).MAX_ATOMS} atoms; ordered, periodic only.
"""


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", default="runs")
    ap.add_argument("--kinds", nargs="+", default=list(KINDS))
    args = ap.parse_args(argv)
    for kind in args.kinds:
        run = Path(args.runs) / f"{kind}-gmtnet"
        out = DEST / kind
        out.mkdir(parents=True, exist_ok=True)
        for name in ("model.safetensors", "config.json"):
            shutil.copy2(run / name, out / name)
        config = json.loads((run / "config.json").read_text())
        summary = json.loads((run / "summary.json").read_text())
        metrics = json.loads((run / "metrics-test.json").read_text())
        (out / "MODEL_CARD.md").write_text(model_card(kind, config, summary, metrics))
        (out / "metrics-test.json").write_text(json.dumps(metrics, indent=2) + "\n")
        (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        print(f"shipped {run} -> {out} ({(out / 'model.safetensors').stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
