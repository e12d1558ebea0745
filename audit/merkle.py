"""RFC 6962 (Certificate Transparency) Merkle trees over the audit log's leaves.

A leaf is one audit event's hash (32 raw bytes), in the order the checkpoints took them in, so
the log is append-only in the sense RFC 6962 proves: a consistency proof shows a later tree
extends an earlier one, an inclusion proof shows one event is in a tree.

Hashing: leaf = SHA-256(0x00 ‖ data), interior node = SHA-256(0x01 ‖ left ‖ right); a tree of n
leaves splits at the largest power of two below n. `Tree` keeps every level as one bytes string
(32 bytes a node) — a million leaves take 64 MB and about a second to hash — and answers any
subtree's hash from the perfect, aligned nodes it holds, so proofs cost O(log² n).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

_sha = hashlib.sha256
EMPTY_ROOT = _sha(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return _sha(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class Tree:
    """The tree over `leaves` (raw leaf data, e.g. event hashes), or over leaf hashes already made."""

    size: int

    def __init__(self, leaves: Iterable[bytes] = (), *, hashed: bytes | None = None) -> None:
        level = hashed if hashed is not None else b"".join(leaf_hash(d) for d in leaves)
        self.size = len(level) // 32
        self.levels = [level]
        while len(level) > 32:
            # Pair neighbours; an odd last node is not hashed here (RFC 6962 promotes it), so
            # every node kept at level k covers 2**k leaves exactly.
            pairs = len(level) // 64
            level = b"".join(_sha(b"\x01" + level[i:i + 64]).digest() for i in range(0, pairs * 64, 64))
            self.levels.append(level)

    def _perfect(self, level: int, index: int) -> bytes:
        """The node over leaves [index·2**level, (index+1)·2**level); subclasses may fetch it."""
        return self.levels[level][index * 32:(index + 1) * 32]

    def stored_nodes(self, level: int, start: int = 0) -> list[tuple[int, bytes]]:
        """(index, hash) of the perfect nodes of `level` from index `start` on."""
        if level >= len(self.levels):
            return []
        row = self.levels[level]
        return [(i, row[i * 32:(i + 1) * 32]) for i in range(start, len(row) // 32)]

    def subtree(self, lo: int, hi: int) -> bytes:
        """MTH(D[lo:hi]) for lo < hi ≤ size, where [lo, hi) is a node of some tree D[0:n]."""
        size = hi - lo
        if size & (size - 1) == 0 and lo % size == 0:
            return self._perfect(size.bit_length() - 1, lo // size)
        k = _split(size)
        return node_hash(self.subtree(lo, lo + k), self.subtree(lo + k, hi))

    def root(self, n: int | None = None) -> bytes:
        """MTH of the first n leaves (all of them by default)."""
        n = self.size if n is None else n
        if not 0 <= n <= self.size:
            raise ValueError(f"tree_size {n}: the tree has {self.size} leaves")
        return EMPTY_ROOT if n == 0 else self.subtree(0, n)

    def inclusion(self, index: int, n: int | None = None) -> list[bytes]:
        """PATH(index, D[0:n]) of RFC 6962 §2.1.1, from the leaf upward."""
        n = self.size if n is None else n
        if not 0 <= index < n <= self.size:
            raise ValueError(f"leaf {index} is not in a tree of {n} leaves")
        path: list[bytes] = []

        def walk(m: int, lo: int, hi: int) -> None:
            if hi - lo == 1:
                return
            k = _split(hi - lo)
            if m < k:
                walk(m, lo, lo + k)
                path.append(self.subtree(lo + k, hi))
            else:
                walk(m - k, lo + k, hi)
                path.append(self.subtree(lo, lo + k))

        walk(index, 0, n)
        return path

    def consistency(self, m: int, n: int | None = None) -> list[bytes]:
        """PROOF(m, D[0:n]) of RFC 6962 §2.1.2: that the tree of n leaves extends the one of m."""
        n = self.size if n is None else n
        if not 0 < m <= n <= self.size:
            raise ValueError(f"no consistency proof from {m} to {n} leaves")
        proof: list[bytes] = []

        def sub(m: int, lo: int, hi: int, whole: bool) -> None:
            size = hi - lo
            if m == size:
                if not whole:
                    proof.append(self.subtree(lo, hi))
                return
            k = _split(size)
            if m <= k:
                sub(m, lo, lo + k, whole)
                proof.append(self.subtree(lo + k, hi))
            else:
                sub(m - k, lo + k, hi, False)
                proof.append(self.subtree(lo, lo + k))

        sub(m, 0, n, True)
        return proof


def root_from_inclusion(index: int, size: int, leaf: bytes, path: list[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2: the root a path leads to from a leaf hash, or None if it cannot."""
    if not 0 <= index < size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None


def verify_consistency(m: int, n: int, old_root: bytes, new_root: bytes, proof: list[bytes]) -> bool:
    """RFC 9162 §2.1.4.2: does the tree of n leaves with `new_root` extend the one of m with
    `old_root`?"""
    if not 0 < m <= n:
        return False
    if m == n:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if m & (m - 1) == 0:  # m a power of two: the old root is itself a node of the new tree
        path.insert(0, old_root)
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


def tree_of_hex(hashes: list[str], progress: Callable[[int], None] | None = None,
                every: int = 50_000) -> Tree:
    """The tree whose leaves are these hex event hashes, in order."""
    chunks = []
    for start in range(0, len(hashes), every):
        # One fromhex per batch, then slices: half the per-leaf Python work of one per hash.
        raw = bytes.fromhex("".join(hashes[start:start + every]))
        chunks += [_sha(b"\x00" + raw[i:i + 32]).digest() for i in range(0, len(raw), 32)]
        if progress:
            progress(min(every, len(hashes) - start))
    return Tree(hashed=b"".join(chunks))
