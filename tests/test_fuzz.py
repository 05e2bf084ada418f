"""Hostile input, end to end: the seeded fuzz corpus through the readers, predict and the CLI.

Every case runs in a worker subprocess watched by :mod:`fuzz.harness` (per-case deadline, resident
memory limit, exit status), so a segfault, hang or memory blow-up is caught and attributed instead
of taking the test run down. Requirements: 0 crashes, 0 hangs, 0 memory blow-ups, 0 unclear
errors; valid controls are predicted for every kind; files that must be refused are refused.
"""

import collections
import random

import pytest

from fuzz.corpus import CATEGORIES, generate
from fuzz.harness import run_cases, run_cli, table

SEED = 0
CASE_TIMEOUT_S = 60.0  # per case, on a loaded 2-core machine; a valid case takes < 1 s
MEMORY_LIMIT = 3_000_000_000  # worker RSS; torch + 4 models take ~0.8 GB


@pytest.fixture(scope="module")
def corpus():
    return generate(SEED)


def test_corpus_is_large_seeded_and_covers_every_category(corpus):
    assert len(corpus) >= 1000
    counts = collections.Counter(c.category for c in corpus)
    assert set(counts) == set(CATEGORIES), set(CATEGORIES) - set(counts)
    assert {c.expect for c in corpus} == {"valid", "invalid", "any"}
    assert [c.data for c in generate(SEED)[:50]] == [c.data for c in corpus[:50]]  # reproducible


def _failures(corpus, results) -> list[str]:
    bad = []
    for i, r in sorted(results.items()):
        case = corpus[i]
        wrong = (case.expect == "valid" and r["outcome"] != "success") or (
            case.expect == "invalid" and r["outcome"] == "success")
        if r["outcome"] not in ("success", "clear") or wrong:
            bad.append(f"#{i} {case.category} {case.name[:40]!r} expect={case.expect}: {r['outcome']}: {r['message'][:200]}")
    return bad


def test_library_survives_the_whole_corpus(corpus):
    results = run_cases(list(range(len(corpus))), seed=SEED, path="library", workers=2,
                        case_timeout=CASE_TIMEOUT_S, memory_limit=MEMORY_LIMIT)
    counts = table(results)
    print("library:", counts)
    assert len(results) == len(corpus)
    assert counts["crash"] == counts["hang"] == counts["memory"] == counts["unclear"] == 0, _failures(corpus, results)
    assert not _failures(corpus, results)
    valid = sum(c.expect == "valid" for c in corpus)
    assert counts["success"] >= valid  # the controls are predicted, for every kind


def test_cli_survives_a_sample_of_the_corpus(corpus, tmp_path):
    # Stratified: a few cases of every category, the rest at random (CLI start-up loads torch, so
    # files go in batches).
    rng = random.Random(SEED)
    by_cat = collections.defaultdict(list)
    for i, c in enumerate(corpus):
        by_cat[c.category].append(i)
    sample = sorted({i for ids in by_cat.values() for i in rng.sample(ids, min(4, len(ids)))})
    results = run_cli(corpus, sample, tmp_path, batch=60, timeout=600)
    counts = table(results)
    print("CLI:", counts)
    assert counts["crash"] == counts["hang"] == counts["unclear"] == 0, _failures(corpus, results)
    assert not _failures(corpus, results)
    assert counts["success"] >= 4
