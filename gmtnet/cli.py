"""Command-line interface: ``python -m gmtnet COMMAND ...`` (also the ``gmtnet`` console script).

Commands:
    data summary [--kind K]    statistics of the bundled datasets (rows, usable rows, splits,
                               label norms, crystal systems, flags)
    train --kind K --model M   train a model on the fixed split (progress bar, resumable);
                               --data FILE: on your own tensors (extxyz, JSON lines, Parquet)
    evaluate --kind K --model M [--checkpoint DIR] [--fold F]
                               the paper's metrics on the test split (or a CV fold), printed and
                               written as JSON: ambiguity-aware over all rows, strict over rows
                               whose label orientation is unique
    predict FILE... [--kind K] predict tensors for CIF / POSCAR / extended XYZ / pymatgen JSON files
    screen INPUT --out DIR     predict every kind for a folder / Parquet / JSON-lines / ASE database
                               of structures on Dask, into a resumable Parquet dataset
    ionic STRUCTURE [--material-id ID] [--relax auto|yes|no]
                               the ionic piezoelectric and dielectric response from physics
                               (SevenNet-0 force constants + Born charges, gmtnet.ionic)

Each command is registered by its own ``_add_<name>_parser(subparsers)`` function, which sets
``func`` on its parser: a handler taking the parsed arguments and returning the exit status.
Handlers import what they need when they run, so ``--help`` stays fast and importing this module
never imports torch.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from gmtnet.kinds import KINDS
from gmtnet.models import ARCHITECTURES  # the package imports only its torch-free config

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per command."""
    parser = argparse.ArgumentParser(
        prog="gmtnet",
        description="GMTNet Explorer: symmetry-informed prediction of crystal tensor properties.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_data_parser(subparsers)
    _add_train_parser(subparsers)
    _add_evaluate_parser(subparsers)
    _add_predict_parser(subparsers)
    _add_screen_parser(subparsers)
    _add_ionic_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command in ``argv`` (default: ``sys.argv[1:]``) and return its exit status."""
    args = build_parser().parse_args(argv)
    args.argv = None if argv is None else list(argv)
    return int(args.func(args) or 0)


# --------------------------------------------------------------------------- data


def _add_data_parser(subparsers) -> None:
    data = subparsers.add_parser(
        "data",
        help="inspect the bundled datasets",
        description="Inspect the bundled Materials Project tensor datasets "
        "(provenance, licence and counts: gmtnet/resources/data/DATA_CARD.md).",
    )
    actions = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    summary = actions.add_parser(
        "summary",
        help="per-kind statistics: rows, usable rows, splits, label norms, crystal systems, flags",
    )
    summary.add_argument("--kind", choices=sorted(KINDS), default=None, help="one tensor kind (default: all)")
    summary.set_defaults(func=_run_data_summary)


def _run_data_summary(args: argparse.Namespace) -> int:
    from gmtnet.data import summary_table

    print(format_summary(summary_table(args.kind)))
    return 0


def format_summary(table) -> str:
    """Plain-text rendering of :func:`gmtnet.data.summary_table`: three blocks, one row per kind."""
    from gmtnet.data import CRYSTAL_SYSTEMS, FLAGS

    overview = table[
        [
            "dataset",
            "label",
            "unit",
            "rows",
            "usable",
            "train",
            "val",
            "test",
            "norm_mean",
            "norm_std",
            "elements",
        ]
    ].rename(columns={"norm_mean": "mean |T|", "norm_std": "std |T|"})
    systems = table[list(CRYSTAL_SYSTEMS)]
    flags = table[[f"flagged_{flag}" for flag in FLAGS]].rename(columns=lambda c: c.removeprefix("flagged_"))
    blocks = (
        (
            "Datasets (usable = rows without flags; splits, |T| (Frobenius norm of the label form) "
            "and elements over usable rows)",
            overview.to_string(float_format=lambda x: f"{x:.2f}"),
        ),
        ("Crystal systems (usable rows)", systems.to_string()),
        ("Flagged rows (all rows; a row may carry several flags)", flags.to_string()),
    )
    return "\n\n".join(f"{title}\n{text}" for title, text in blocks)


# --------------------------------------------------------------------------- train / evaluate

def _default_run_dir(kind: str, model: str) -> str:
    return f"runs/{kind}-{model}"


def _add_train_parser(subparsers) -> None:
    p = subparsers.add_parser("train", help="train a model for one tensor kind on the bundled split")
    p.add_argument("--kind", required=True, choices=sorted(KINDS))
    p.add_argument("--model", default="gmtnet", choices=ARCHITECTURES)
    p.add_argument("--out", default=None, help="output directory (default: runs/KIND-MODEL)")
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--warmup-epochs", type=int, default=5, help="epochs of linear learning-rate warm-up")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (GPU when present), cpu or cuda")
    p.add_argument("--max-train", type=int, default=None, help="train on a seeded subset of this many crystals")
    p.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                   help="model option override, e.g. --option hidden_mul=8 (repeatable)")
    p.add_argument("--time-limit", type=float, default=None, help="stop after the epoch that crosses this many seconds")
    p.add_argument("--cv-fold", type=int, default=None, metavar="F",
                   help="cross-validation: train on the non-test rows outside fold F, keep the last weights")
    p.add_argument("--group-cv-fold", type=int, default=None, metavar="F",
                   help="grouped cross-validation (one chemical system per fold): train without grouped fold F, keep the last weights")
    p.add_argument("--exclude-fold", type=int, default=None, metavar="F",
                   help="train on the training split without fold F (ensemble members)")
    p.add_argument("--init-from", default=None, metavar="DIR",
                   help="fine-tune: start from the model in DIR (its architecture and target scale)")
    p.add_argument("--label-orientation", default="lattice", choices=("lattice", "physics"),
                   help="piezoelectric: labels' orientation from the lattice analysis (signs as the source gave them) "
                        "or the physics-oriented labels (gmtnet.data.orient_labels)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    data = p.add_argument_group("your own data (instead of the bundled split)")
    data.add_argument("--data", default=None, metavar="FILE",
                      help="extended XYZ, JSON lines or Parquet with a structure and a tensor per crystal "
                           "(see gmtnet.userdata); a 'split' column, or 90/10 train/val")
    data.add_argument("--frame", default=None, choices=("structure", "ieee"),
                      help="frame of the tensors: the structure's Cartesian frame or its IEEE-176 frame")
    data.add_argument("--unit", default=None, help="unit of the tensors: '' for ε, C/m2 for e, GPa or kbar for C")
    data.add_argument("--voigt-order", default=None, choices=("ieee", "vasp"),
                      help="order of a Voigt-matrix tensor (ieee: xx,yy,zz,yz,xz,xy; vasp: xx,yy,zz,xy,yz,xz)")
    data.add_argument("--tensor-key", default="tensor", help="key / column holding the tensor (default: tensor)")
    p.set_defaults(func=_run_train)


def _parse_options(pairs: list[str]) -> dict:
    import json

    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--option expects NAME=VALUE, got {pair!r}")
        try:
            out[name] = json.loads(value)
        except json.JSONDecodeError:
            out[name] = value
    return out


def _run_train(args: argparse.Namespace) -> int:
    import json
    import shlex
    import sys

    from gmtnet.train import TrainConfig, train

    config = TrainConfig(
        kind=args.kind, model=args.model, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        warmup_epochs=args.warmup_epochs,
        seed=args.seed, device=args.device, max_train=args.max_train, time_limit=args.time_limit,
        cv_fold=args.cv_fold, group_cv_fold=args.group_cv_fold, exclude_fold=args.exclude_fold, init_from=args.init_from,
        model_options=_parse_options(args.option),
        data=args.data, data_frame=args.frame, data_unit=args.unit, data_voigt_order=args.voigt_order,
        data_tensor_key=args.tensor_key, label_orientation=args.label_orientation,
    )
    out = args.out or _default_run_dir(args.kind, args.model)
    command = "python -m gmtnet " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if args.argv is None else args.argv))
    try:
        summary = train(config, out, resume=args.resume, progress=not args.quiet, command=command)
    except ValueError as err:
        if args.data is None:
            raise
        raise SystemExit(f"gmtnet train: {err}") from None  # the user's file: a message, not a traceback
    print(json.dumps(summary, indent=2))
    return 0


def _add_evaluate_parser(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="the paper's metrics on the fixed test split")
    p.add_argument("--kind", required=True, choices=sorted(KINDS))
    p.add_argument("--model", default="gmtnet", choices=ARCHITECTURES)
    p.add_argument("--checkpoint", default=None,
                   help="model directory (default: the shipped weights for gmtnet, runs/KIND-MODEL otherwise)")
    p.add_argument("--split", default="test", choices=("train", "val", "test"))
    p.add_argument("--device", default="auto")
    p.add_argument("--json", default=None, help="where to write the metrics (default: CHECKPOINT/metrics-SPLIT.json)")
    p.add_argument("--random-frame", type=int, default=None, metavar="SEED",
                   help="put every test crystal in a random rotated/reflected frame (seeded) first")
    p.add_argument("--fold", type=int, default=None, metavar="F",
                   help="evaluate on cross-validation fold F instead of --split")
    p.add_argument("--predictions", default=None, metavar="NPZ",
                   help="also save the predictions and label candidates to this .npz file")
    p.set_defaults(func=_run_evaluate)


def _run_evaluate(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from gmtnet.train import evaluate_model
    from gmtnet.weights import shipped_model_dir

    if args.checkpoint:
        model_dir = Path(args.checkpoint)
    elif args.model == "gmtnet":
        model_dir = shipped_model_dir(args.kind)
    else:
        model_dir = Path(_default_run_dir(args.kind, args.model))
    metrics = evaluate_model(model_dir, split=args.split, device=args.device, random_frame_seed=args.random_frame,
                             fold=args.fold, predictions_path=args.predictions)
    if metrics["kind"] != args.kind or metrics["model"] != args.model:
        raise SystemExit(f"{model_dir} holds a {metrics['model']} model for {metrics['kind']!r}, "
                         f"not {args.model} for {args.kind!r}")
    print(format_metrics(metrics))
    out = Path(args.json) if args.json else None
    if out is None:
        writable = model_dir if not _is_package_path(model_dir) else Path(_default_run_dir(args.kind, args.model))
        out = writable / (f"metrics-fold{args.fold}.json" if args.fold is not None else f"metrics-{args.split}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(metrics, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def _is_package_path(path) -> bool:
    from pathlib import Path

    import gmtnet

    return Path(gmtnet.__file__).parent in Path(path).resolve().parents


def format_metrics(metrics: dict) -> str:
    """Text table of :func:`gmtnet.train.evaluate_model`'s result, one row per crystal system."""
    import pandas as pd

    rows = {"overall": metrics["overall"]}
    if metrics.get("unique_rows", {}).get("n"):
        rows["unique rows (strict)"] = metrics["unique_rows"]
    rows |= metrics["per_crystal_system"] | metrics.get("per_point_group_class", {})
    df = pd.DataFrame(rows).T[["n", "fnorm", "ewt25", "ewt10", "ewt5", "zero_success", "equality_success"]]
    df["n"] = df["n"].astype(int)
    for col in ("ewt25", "ewt10", "ewt5", "zero_success", "equality_success"):
        df[col] = (100 * df[col].astype(float)).map(lambda x: f"{x:.1f} %")
    ambiguous = metrics["overall"].get("n_ambiguous", 0)
    head = (f"{metrics['model']} on {metrics['kind']} ({metrics['split']} split); "
            f"Fnorm in {metrics['unit']}; device {metrics['device']}")
    if ambiguous:
        head += (f"\n{ambiguous} of {metrics['overall']['n']} labels have an ambiguous orientation: all-row figures "
                 "use the candidate closest to each prediction ('overall' and the breakdowns); 'unique rows (strict)' only the others")
    return head + "\n" + df.to_string(float_format=lambda x: f"{x:.4g}")


# --------------------------------------------------------------------------- predict


def _add_predict_parser(subparsers) -> None:
    p = subparsers.add_parser("predict", help="predict tensors for structure files")
    p.add_argument("files", nargs="+", help="CIF, POSCAR/CONTCAR, extended XYZ or pymatgen JSON files")
    p.add_argument("--kind", action="append", choices=sorted(KINDS), default=None,
                   help="tensor kind (repeatable; default: every kind whose weights are installed)")
    p.add_argument("--symprec", type=float, default=None, help="spglib tolerance in Å (default: library default)")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", default=None, help="also write all predictions to this JSON file")
    p.add_argument("--members", type=int, default=None, metavar="N",
                   help="use only the first N networks of each ensemble (1: fastest, no uncertainty)")
    p.set_defaults(func=_run_predict)


def _run_predict(args: argparse.Namespace) -> int:
    import json

    import numpy as np

    from gmtnet.io import read_structure
    from gmtnet.predict import Predictor, installed_kinds
    from gmtnet.symmetry import DEFAULT_SYMPREC

    # Names are resolved once, here at the edge; from here on the kinds travel as objects.
    kinds = [KINDS[name] for name in (args.kind or sorted(installed_kinds()))]
    symprec = DEFAULT_SYMPREC if args.symprec is None else args.symprec
    try:
        predictor = Predictor.load(kinds=kinds, device=args.device, members=args.members)
    except FileNotFoundError as err:  # a registered kind whose weights are not installed
        print(f"error: {err}")
        return 2
    status, records = 0, []
    for path in args.files:
        try:
            structure = read_structure(path)
        except ValueError as err:
            print(f"{path}: {err}")
            status = 1
            continue
        for kind in kinds:
            try:
                r = predictor.predict(structure, kind, symprec=symprec)
            except ValueError as err:
                print(f"{path}: {err}")
                status = 1
                break
            sym = r.symmetry
            print(f"\n{path}: {structure.composition.reduced_formula}, {sym.spacegroup_symbol} "
                  f"(#{sym.spacegroup_number}), point group {sym.point_group}, {sym.crystal_system}")
            labels = kind.voigt_labels()
            width = max(len(x) for x in labels.ravel())
            fmt = {"float_kind": lambda x: f"{x:{width + 6}.4f}"}
            if kind.per_atom:  # one 3x3 block per site, with the site's symmetry
                print(f"{r.kind.title} {r.kind.symbol} [{r.kind.unit_label}] per site, structure frame, Cartesian "
                      f"x y z; first index (rows) the field direction, second (columns) the displacement")
                for i, (t, sp) in enumerate(zip(r.tensor, structure.species)):
                    print(f"site {i} {sp.symbol}: Wyckoff {r.sites.wyckoffs[i]}, site symmetry {r.sites.site_symmetry_symbols[i]}, "
                          f"equivalent to site {int(r.sites.equivalent_atoms[i])}")
                    print(np.array2string(t, formatter=fmt))
            else:
                print(f"{r.kind.title} {r.kind.symbol} [{r.kind.unit_label}], Voigt (IEEE order xx yy zz yz xz xy), "
                      f"structure frame; {sym.n_independent} independent components")
                print(np.array2string(r.voigt, formatter=fmt))
            if r.std is not None:
                unit = f" {r.kind.unit}" if r.kind.unit else ""
                print(f"± 1σ (calibrated, {len(r.members)}-network ensemble); uncertainty {r.uncertainty:.3g}{unit} (Frobenius norm of σ)")
                print(np.array2string(r.std_voigt, formatter=fmt))
            for w in r.warnings:
                print(f"warning: {w}")
            records.append({"file": path, **r.to_dict()})
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(records, fh, indent=2)
        print(f"\nwrote {args.json}")
    return status


# --------------------------------------------------------------------------- screen


def _add_screen_parser(subparsers) -> None:
    from gmtnet.screen import DEFAULT_CHUNK_SIZE

    p = subparsers.add_parser(
        "screen",
        help="predict many structures on Dask into a Parquet dataset (resumable)",
        description="Predict tensors and derived scalars for every structure of INPUT, in chunks run as "
        "Dask tasks, into the Parquet dataset OUT (one part file per chunk). Re-running the same "
        "command resumes: finished chunks are skipped. Tensors are in each structure's Cartesian frame; "
        "Voigt columns in IEEE order (xx, yy, zz, yz, xz, xy).",
    )
    p.add_argument("input", help="folder of CIF/POSCAR/extended-XYZ/pymatgen-JSON files (recursive), "
                   "a .parquet or .jsonl file of pymatgen structure dicts, or an ASE database (.db)")
    p.add_argument("--out", required=True, help="output folder (Parquet dataset)")
    p.add_argument("--kinds", nargs="+", choices=sorted(KINDS), default=None,
                   help="tensor kinds (default: every kind whose weights are installed)")
    p.add_argument("--workers", type=int, default=2,
                   help="local Dask worker processes, one thread each (default 2; 0: no Dask, in this process)")
    p.add_argument("--scheduler", default=None, metavar="tcp://HOST:8786",
                   help="use this existing Dask scheduler instead of starting a local cluster")
    p.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="structures per task")
    p.add_argument("--symprec", type=float, default=None, help="spglib tolerance in Å (default: library default)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto, on the workers")
    p.add_argument("--torch-threads", type=int, default=1, help="torch threads per worker")
    p.add_argument("--members", type=int, default=None, metavar="N",
                   help="networks per ensemble (default: all, with an uncertainty column; 1: fastest, none)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run_screen)


def _run_screen(args: argparse.Namespace) -> int:
    import json

    from gmtnet.screen import run_screen

    try:
        summary = run_screen(
            args.input, args.out, kinds=args.kinds, workers=args.workers, scheduler=args.scheduler,
            chunk_size=args.chunk_size, symprec=args.symprec, device=args.device,
            torch_threads=args.torch_threads, members=args.members, progress=not args.quiet,
        )
    except (ValueError, FileNotFoundError) as err:  # bad input, or a kind whose weights are not installed
        print(f"error: {err}")
        return 2
    print(json.dumps(summary.to_dict(), indent=2))
    return 0


# --------------------------------------------------------------------------- ionic


def _add_ionic_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "ionic",
        help="ionic piezoelectric e_ion and dielectric ε_ion from SevenNet-0 and Born charges",
        description="The internal-strain (ionic) piezoelectric tensor and the ionic dielectric contribution of a "
        "crystal from SevenNet-0 force constants and Born charges (DFT when the crystal is in the bundled DFPT "
        "set, else predicted by the installed 'born' kind, else formal oxidation states); see gmtnet.ionic for the "
        "conventions.",
    )
    p.add_argument("structure", help="CIF, POSCAR/CONTCAR, extended XYZ or pymatgen JSON file")
    p.add_argument("--material-id", default=None, help="Materials Project id: use its DFT Born charges when bundled")
    p.add_argument("--formal", action="store_true", help="use formal-oxidation-state Born charges even when DFT or predicted ones exist")
    p.add_argument("--relax", choices=("auto", "yes", "no"), default="auto",
                   help="relax the positions at fixed cell with the potential first (auto: when the largest "
                        "residual force exceeds 0.05 eV/Å)")
    p.add_argument("--device", default="cpu", help="torch device for SevenNet-0 (default cpu)")
    p.add_argument("--json", default=None, help="also write the result to this JSON file")
    p.set_defaults(func=_run_ionic)


def _eps0_from_physics(structure, eps_ion):
    """ε∞ from the installed network plus the physics ε_ion (3x3, structure frame), or None when the ε∞
    model is not installed or refuses the structure."""
    from gmtnet import ionic
    from gmtnet.predict import Predictor, installed_kinds

    if ionic.ELECTRONIC_KIND not in installed_kinds():
        return None
    try:
        pred = Predictor.load([ionic.ELECTRONIC_KIND], device="cpu").predict(structure, ionic.ELECTRONIC_KIND)
    except ValueError:
        return None
    return pred.tensor + eps_ion


def _run_ionic(args: argparse.Namespace) -> int:
    import json

    import numpy as np
    from tqdm import tqdm

    from gmtnet import ionic
    from gmtnet.io import read_structure

    try:
        structure = read_structure(args.structure)
    except ValueError as err:
        print(f"{args.structure}: {err}")
        return 1
    calc = ionic.load_potential(device=args.device)
    with tqdm(total=ionic.n_evaluations(structure), unit="call", desc="SevenNet-0") as bar:
        try:
            r = ionic.ionic_response(structure, calc, material_id=args.material_id, relax={"auto": None, "yes": True, "no": False}[args.relax],
                                     prefer_dft=not args.formal, progress=bar.update)
        except ValueError as err:
            print(f"{args.structure}: {err}")
            return 1
    fmt = {"float_kind": lambda x: f"{x:9.4f}"}
    print(f"\n{args.structure}: {structure.composition.reduced_formula}, point group {r.point_group}; "
          f"frame: the structure's Cartesian frame; outputs projected with the point group")
    print("e_ion [C/m²], Voigt (IEEE order xx yy zz yz xz xy), ionic (internal-strain) part only:")
    print(np.array2string(r.e_voigt, formatter=fmt))
    print("ε_ion [dimensionless], ionic contribution (ε₀ = ε∞ + ε_ion):")
    print(np.array2string(r.eps_ion, formatter=fmt))
    eps0 = _eps0_from_physics(structure, r.eps_ion)
    if eps0 is not None:
        print("ε₀ estimate = ε∞ (network) + ε_ion [dimensionless] (out of fold on DFPT crystals this beat the network's "
              "own ε₀: benchmarks/results/ionic-physics-predicted-z.json):")
        print(np.array2string(eps0, formatter=fmt))
    print(f"Born charges: {r.born_source} ({r.born_detail})")
    print(f"largest residual force {r.max_force_before:.4f} eV/Å" + (f", {r.max_force_after:.4f} after relaxing" if r.relaxed else ""))
    if r.n_unstable:
        print(f"warning: {r.n_unstable} unstable mode(s) (lowest force-constant eigenvalue {r.min_eigenvalue:.3f} eV/Å²): "
              "the harmonic estimate is unreliable")
    print(f"cost {r.cost_s:.1f} s, {r.n_calls} potential evaluations")
    if args.json:
        doc = {"file": args.structure, "e_ion_voigt_ieee_C_per_m2": r.e_voigt.tolist(), "eps_ion": r.eps_ion.tolist(),
               "born_source": r.born_source, "born_detail": r.born_detail, "point_group": r.point_group, "frame": r.frame,
               "max_force_eV_per_A": r.max_force_before, "relaxed": r.relaxed, "n_unstable": r.n_unstable,
               "cost_s": r.cost_s, "n_calls": r.n_calls,
               "eps0_estimate_epsinf_network_plus_eps_ion": None if eps0 is None else eps0.tolist()}
        with open(args.json, "w") as fh:
            json.dump(doc, fh, indent=2)
        print(f"wrote {args.json}")
    return 0
