"""LSH bucket storage for datasketch MinHash signatures, as flat sorted numpy arrays.

The signatures are datasketch's (``MinHash.bulk``) and the banding is datasketch's
(``MinHashLSH``'s optimal ``b`` bands of ``r`` rows for the threshold); only the storage
differs. Why not ``MinHashLSH`` itself: with 37 bands its ``DictSetStorage`` holds one Python
set per bucket, measured at 7.6 s to insert 25,000 records (≈ 60 s at 200,000) and most of
the 5.9 GB peak at 200,000; listing every bucket for a whole-corpus pass took 3.8 s more at
25,000. Here one band key is one ``uint64`` (≈ 0.3 KB per record for 37 bands), inserting is
a sort, and the buckets of a whole-corpus pass are runs of equal keys.

New records go to an unsorted tail that is scanned directly; the tail is merged into the
sorted part when it outgrows an eighth of it, so inserting stays amortised O(log n).
"""

from __future__ import annotations

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser (wrapping uint64 arithmetic)."""
    x = (x ^ (x >> np.uint64(30))) * _M1
    x = (x ^ (x >> np.uint64(27))) * _M2
    return x ^ (x >> np.uint64(31))


class BandTables:
    """Buckets of ``bands`` bands of ``rows`` MinHash values each; members are int row numbers."""

    def __init__(self, bands: int, rows: int):
        self.bands = bands
        self.rows = rows
        self.keys_ = np.zeros((0, bands), dtype=np.uint64)   # per entry, one key per band
        self.members_ = np.zeros(0, dtype=np.int64)          # per entry, the row it stands for
        self.size_ = 0
        self.sorted_keys_ = np.zeros(0, dtype=np.uint64)     # entries [0, n_sorted_) x bands, sorted
        self.sorted_members_ = np.zeros(0, dtype=np.int64)
        self.n_sorted_ = 0

    def band_keys(self, hashvalues: np.ndarray) -> np.ndarray:
        """(n, bands) keys; a key hashes the band's number and its ``rows`` values, so equal
        keys mean an equal band (up to 64-bit collisions) and no two bands share a key."""
        h = np.asarray(hashvalues, dtype=np.uint64)[:, : self.bands * self.rows]
        h = h.reshape(len(h), self.bands, self.rows)
        keys = np.broadcast_to(_mix(np.arange(1, self.bands + 1, dtype=np.uint64)), h.shape[:2]).copy()
        for j in range(self.rows):
            keys = _mix(keys ^ h[:, :, j])
        return keys

    def add(self, keys: np.ndarray, members: np.ndarray) -> None:
        """Store the band keys of new rows (grown geometrically; merged when the tail is big)."""
        n = len(keys)
        if self.size_ + n > len(self.keys_):
            cap = max(self.size_ + n, int(len(self.keys_) * 1.5), 1024)
            self.keys_ = np.concatenate([self.keys_[: self.size_], np.zeros((cap - self.size_, self.bands), np.uint64)])
            self.members_ = np.concatenate([self.members_[: self.size_], np.zeros(cap - self.size_, np.int64)])
        self.keys_[self.size_ : self.size_ + n] = keys
        self.members_[self.size_ : self.size_ + n] = members
        self.size_ += n
        if self.size_ - self.n_sorted_ > max(256, self.n_sorted_ // 8):
            self._merge()

    def _merge(self) -> None:
        keys = self.keys_[: self.size_].ravel()
        order = np.argsort(keys, kind="stable")
        self.sorted_keys_ = keys[order]
        self.sorted_members_ = self.members_[: self.size_][order // self.bands]
        self.n_sorted_ = self.size_

    def query(self, keys: np.ndarray) -> np.ndarray:
        """Rows sharing a bucket with the band keys of one signature (with repeats)."""
        lo = np.searchsorted(self.sorted_keys_, keys, side="left")
        hi = np.searchsorted(self.sorted_keys_, keys, side="right")
        found = [self.sorted_members_[a:b] for a, b in zip(lo, hi) if b > a]
        tail = self.keys_[self.n_sorted_ : self.size_]
        if len(tail):
            found.append(self.members_[self.n_sorted_ : self.size_][(tail == keys).any(axis=1)])
        return np.concatenate(found) if found else np.zeros(0, dtype=np.int64)

    def pairs(self, live: np.ndarray, max_bucket: int) -> tuple[np.ndarray, np.ndarray]:
        """Row pairs (a < b) sharing a bucket among ``live`` rows (a boolean mask by row);
        buckets of more than ``max_bucket`` live rows (boilerplate) are skipped."""
        if self.n_sorted_ < self.size_:
            self._merge()
        keep = live[self.sorted_members_]
        keys, members = self.sorted_keys_[keep], self.sorted_members_[keep]
        if not len(keys):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        sizes = np.diff(np.r_[starts, len(keys)])
        out_a, out_b = [], []
        for size in np.unique(sizes[(sizes > 1) & (sizes <= max_bucket)]):
            first = starts[sizes == size][:, None]
            i, j = np.triu_indices(size, 1)
            out_a.append(members[first + i].ravel())
            out_b.append(members[first + j].ravel())
        if not out_a:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        a, b = np.concatenate(out_a), np.concatenate(out_b)
        a, b = np.minimum(a, b), np.maximum(a, b)
        code = np.unique(a[a != b] * (int(live.size) + 1) + b[a != b])
        return code // (live.size + 1), code % (live.size + 1)
