"""Training speed: seconds per epoch of the real training loop, and the projected full run.

    python benchmarks/train_speed.py [--kind dielectric] [--epochs 3] [--device cpu] [--threads 2]

Runs ``gmtnet.train.train`` for a few epochs on the full training split (default GMTNet config,
the shipped models' settings), prints the median epoch time and the time a full 300-epoch run
would take, and writes ``benchmarks/results/train-speed-<device>.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
from pathlib import Path

import torch

from gmtnet.train import TrainConfig, train

FULL_RUN_EPOCHS = 300


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kind", default="dielectric")
    ap.add_argument("--model", default="gmtnet")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        summary = train(TrainConfig(kind=args.kind, model=args.model, epochs=args.epochs, device=args.device), tmp, progress=True)
        with open(Path(tmp) / "log.csv") as fh:
            seconds = [float(row["seconds"]) for row in csv.DictReader(fh)]
    per_epoch = statistics.median(seconds[1:] if len(seconds) > 1 else seconds)  # first epoch warms up
    result = {
        "kind": args.kind, "model": args.model, "device": summary["device"], "train_crystals": summary["train_crystals"],
        "epoch_seconds": seconds, "median_epoch_seconds": round(per_epoch, 2), "data_prep_seconds": summary["data_prep_seconds"],
        "projected_full_run_minutes": round((FULL_RUN_EPOCHS * per_epoch + summary["data_prep_seconds"]) / 60, 1),
        "full_run_epochs": FULL_RUN_EPOCHS,
    }
    print(f"{args.kind}/{args.model} on {summary['device']}: {per_epoch:.2f} s per epoch over {summary['train_crystals']} "
          f"crystals; a {FULL_RUN_EPOCHS}-epoch run ≈ {result['projected_full_run_minutes']} min")
    out = Path(f"benchmarks/results/train-speed-{torch.device(args.device).type}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("wrote", out)
    return result


if __name__ == "__main__":
    main()
