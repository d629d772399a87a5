"""Group duplicate pairs into clusters (graph components) with a representative each."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass


@dataclass
class DuplicateGroups:
    """Clusters of 2+ documents; every other document is a singleton (distinct)."""

    groups: list[list[str]]          # members, representative first
    total: int

    @property
    def distinct(self) -> int:
        """Documents counted once per group: singletons plus one per group."""
        return self.total - sum(len(g) - 1 for g in self.groups)

    def size_histogram(self) -> dict[int, int]:
        return dict(sorted(Counter(len(g) for g in self.groups).items()))

    def group_of(self) -> dict[str, int]:
        return {m: i for i, g in enumerate(self.groups) for m in g}


def group_duplicates(ids: list[str], pairs: list[tuple[str, str]],
                     order_key: dict[str, tuple] | None = None) -> DuplicateGroups:
    """Union-find over pairs; the representative is the earliest by ``order_key`` (e.g. date, id).

    >>> g = group_duplicates(["a", "b", "c", "d"], [("b", "a"), ("c", "b")])
    >>> g.groups, g.distinct, g.size_histogram()
    ([['a', 'b', 'c']], 2, {3: 1})
    """
    parent = {i: i for i in ids}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    members: dict[str, list[str]] = defaultdict(list)
    for i in ids:
        members[find(i)].append(i)
    key = (lambda x: (order_key[x], x)) if order_key else (lambda x: (x,))
    groups = [sorted(m, key=key) for m in members.values() if len(m) > 1]
    groups.sort(key=lambda g: (-len(g), key(g[0])))
    return DuplicateGroups(groups, len(ids))
