"""The Merkle tree of the audit checkpoints against RFC 6962 §2.1's own recursive definitions."""

from __future__ import annotations

import hashlib

import pytest

from audit.merkle import (EMPTY_ROOT, Tree, leaf_hash, node_hash, root_from_inclusion,
                          verify_consistency)


def mth(d: list[bytes]) -> bytes:
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return leaf_hash(d[0])
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return node_hash(mth(d[:k]), mth(d[k:]))


def path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return path(m, d[:k]) + [mth(d[k:])] if m < k else path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m: int, d: list[bytes], b: bool) -> list[bytes]:
    if m == len(d):
        return [] if b else [mth(d)]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


LEAVES = [hashlib.sha256(str(i).encode()).digest() for i in range(70)]


@pytest.mark.parametrize("n", range(1, 71))
def test_roots_and_inclusion_paths_are_rfc_6962s_for_every_size_up_to_70(n):
    d = LEAVES[:n]
    tree = Tree(d)
    assert tree.root() == mth(d)
    for m in range(n):
        assert tree.inclusion(m) == path(m, d)
        assert root_from_inclusion(m, n, leaf_hash(d[m]), tree.inclusion(m)) == mth(d)


@pytest.mark.parametrize("n", range(1, 71, 3))
def test_consistency_proofs_are_rfc_6962s_and_verify_only_what_they_prove(n):
    d = LEAVES[:n]
    tree = Tree(d)
    for m in range(1, n + 1):
        proof = tree.consistency(m)
        assert proof == subproof(m, d, True)
        assert tree.root(m) == mth(d[:m])
        assert verify_consistency(m, n, mth(d[:m]), mth(d), proof)
        if m < n:
            forged = mth(d[:m - 1] + [b"x" * 32])
            assert not verify_consistency(m, n, forged, mth(d), proof)
            assert not verify_consistency(m, n, mth(d[:m]), mth(d), [])


def test_a_changed_leaf_or_path_entry_leads_to_another_root():
    tree = Tree(LEAVES[:37])
    good = tree.inclusion(20)
    assert root_from_inclusion(20, 37, leaf_hash(LEAVES[20]), good) == tree.root()
    assert root_from_inclusion(20, 37, leaf_hash(LEAVES[21]), good) != tree.root()
    bad = list(good)
    bad[2] = bytes(32)
    assert root_from_inclusion(20, 37, leaf_hash(LEAVES[20]), bad) != tree.root()
    assert root_from_inclusion(20, 37, leaf_hash(LEAVES[20]), good + [bytes(32)]) is None
    assert root_from_inclusion(37, 37, leaf_hash(LEAVES[20]), good) is None


def test_the_empty_tree_has_the_hash_of_nothing_as_its_root():
    assert Tree().root() == EMPTY_ROOT == hashlib.sha256(b"").digest()
