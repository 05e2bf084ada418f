"""Cells whose neighbour search would exhaust memory are refused before anything is allocated."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from gmtnet.graph import MAX_NEIGHBOR_SEARCH_BYTES, build_graph, check_neighbor_search, neighbor_search_bytes
from gmtnet.io import StructureError, validate_structure

# Peak RSS allowed to the subprocess that reads the 1000 Å cell: Python + numpy + pymatgen take
# ~0.09 GB; the unbounded search allocated 27 GB (30 GiB estimated) for this cell.
PEAK_RSS_LIMIT = 500_000_000

_READ_BIG_CELL = textwrap.dedent("""
    import json, resource
    from pymatgen.core import Lattice, Structure
    from pymatgen.io.cif import CifWriter
    # A regression must fail this test with a MemoryError, not take the machine down.
    resource.setrlimit(resource.RLIMIT_AS, (8 * 2**30, resource.RLIM_INFINITY))
    from gmtnet.io import parse_bytes
    cif = str(CifWriter(Structure(Lattice.cubic(1000.0), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])))
    try:
        parse_bytes(cif.encode(), "big.cif")
        outcome = "read"
    except ValueError as err:
        outcome = f"refused: {err}"
    except MemoryError as err:
        outcome = f"MemoryError: {err}"
    # VmHWM: this process's own peak RSS. (ru_maxrss can report the parent's RSS: Linux keeps the
    # high-water mark of the memory image replaced at exec, the parent's when spawned with vfork.)
    with open("/proc/self/status") as fh:
        peak = next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM:"))
    print(json.dumps({"outcome": outcome, "peak_rss": peak}))
""")


def test_1000_angstrom_cell_is_refused_without_a_large_allocation():
    out = subprocess.run([sys.executable, "-c", _READ_BIG_CELL], capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["outcome"].startswith("refused:"), result["outcome"]
    assert "the limit is 1 GiB" in result["outcome"] and "1000 × 1000 × 1000 Å" in result["outcome"]
    assert result["peak_rss"] < PEAK_RSS_LIMIT, result["peak_rss"]


def _nacl(a: float, frac_cl=(0.5, 0.5, 0.5)) -> Structure:
    return Structure(Lattice.cubic(a), ["Na", "Cl"], [[0, 0, 0], list(frac_cl)])


def test_bound_follows_the_atoms_spread_not_the_lattice_lengths():
    spread, huddled = _nacl(1000.0), _nacl(1000.0, (0.003, 0.003, 0.003))
    assert neighbor_search_bytes(spread, 0.5) > 20 * 2**30
    assert neighbor_search_bytes(huddled, 0.5) < 2**20
    with pytest.raises(StructureError, match=r"would need about 30\.\d GiB of memory; the limit is 1 GiB"):
        validate_structure(spread)
    validate_structure(huddled)  # same lattice lengths, cheap search: read
    assert build_graph(huddled).num_atoms == 2


def test_real_crystals_stay_far_below_the_limit():
    from gmtnet.data import load_dataset

    frame = load_dataset("elastic")
    s = frame["structure"].iloc[int(frame["nsites"].idxmax())]  # the largest bundled cell
    assert neighbor_search_bytes(s, 8.0) < MAX_NEIGHBOR_SEARCH_BYTES / 100
    check_neighbor_search(s, 8.0)


def test_estimate_tracks_the_search_cost():
    # The grid of 1 Å cubes over the atoms' spread: 8x the volume, ~8x the bytes.
    small, large = neighbor_search_bytes(_nacl(100.0), 0.5), neighbor_search_bytes(_nacl(200.0), 0.5)
    assert 6 < large / small < 10
    with pytest.raises(ValueError, match=r"the limit is 0\.000977 GiB"):
        check_neighbor_search(_nacl(200.0), 0.5, limit=2**20)
    np.testing.assert_array_equal(_nacl(200.0).frac_coords[1], [0.5, 0.5, 0.5])  # checks leave the input intact
