"""Build ``gmtnet/resources/data/catalog_predictions.parquet``: every bundled crystal, every kind.

Usage (from the repository root)::

    .venv/bin/python scripts/build_catalog_predictions.py [--workers 2] [--out PATH]

Runs ``gmtnet screen`` (Dask, local workers) over the catalogue of bundled crystals with the shipped
weights, adds the same derived scalars of the DFT tensors (``dft_*``) and writes the table the
Browse page reads (see :mod:`gmtnet.browse`). Re-run it after the datasets or the weights change:
``tests/test_browse.py`` fails while the shipped file was built from other dataset files.
"""

from __future__ import annotations

import argparse
import json

from gmtnet.browse import build_catalog_predictions


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=None, help="where to write (default: the package's data folder)")
    ap.add_argument("--workers", type=int, default=2, help="local Dask workers")
    args = ap.parse_args(argv)
    print(json.dumps(build_catalog_predictions(args.out, workers=args.workers), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
