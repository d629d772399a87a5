"""The field taxonomy: codes, Vietnamese names, definitions and seed keywords."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from model.errors import DataError


@dataclass(frozen=True)
class Field:
    code: str
    name_vi: str
    definition: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Taxonomy:
    version: str
    fields: tuple[Field, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(f.code for f in self.fields)

    def __contains__(self, code: object) -> bool:
        return code in self.codes

    def name(self, code: str) -> str:
        return next(f.name_vi for f in self.fields if f.code == code)

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "fields": [
                {"code": f.code, "name_vi": f.name_vi, "definition": f.definition,
                 "keywords": list(f.keywords)}
                for f in self.fields
            ],
        }

    @classmethod
    def from_dict(cls, raw: dict, source: str = "taxonomy") -> Taxonomy:
        try:
            fields = tuple(
                Field(f["code"], f["name_vi"], f["definition"], tuple(f.get("keywords", ())))
                for f in raw["fields"]
            )
            version = str(raw["version"])
        except (KeyError, TypeError) as exc:
            raise DataError(
                f"{source}: expected {{'version', 'fields': [{{'code', 'name_vi', 'definition'}}]}}"
                f", missing {exc}"
            ) from exc
        codes = [f.code for f in fields]
        if len(set(codes)) != len(codes) or not codes:
            raise DataError(f"{source}: field codes must be unique and non-empty, got {codes}")
        return cls(version, fields)


def load_taxonomy(path: str | Path) -> Taxonomy:
    """Read and validate ``data/taxonomy.json``."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text("utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read taxonomy {path}: {exc}") from exc
    return Taxonomy.from_dict(raw, str(path))
