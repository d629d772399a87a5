"""Near-duplicate detection: exact keys, MinHash LSH, embeddings, one decision rule, groups."""

from model.dedup.cluster import DuplicateGroups, group_duplicates
from model.dedup.index import DuplicateMatch, IndexedDoc, NearDuplicateIndex
from model.dedup.rule import DuplicateRule, PairEvidence

__all__ = ["DuplicateGroups", "DuplicateMatch", "DuplicateRule", "IndexedDoc", "NearDuplicateIndex",
           "PairEvidence", "group_duplicates"]
