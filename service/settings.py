"""The one settings object of the service, read from ``SANGKIEN_*`` environment variables.

Every tunable lives here so that operators find them in one place (the README lists them);
the app receives a ``Settings`` instance and hands it to endpoints through a dependency.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

KeyList = Annotated[list[str], NoDecode]


class Settings(BaseSettings):
    """Service configuration; each field can be set with ``SANGKIEN_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="SANGKIEN_", extra="forbid")

    database_url: str = Field("sqlite:///./sangkien.db", description="SQLAlchemy URL of the store")
    classifier_dir: Path = Field(Path("artifacts/classifier"), description="`sangkien train` output")
    dedup_rule: Path = Field(Path("artifacts/dedup/rule.json"), description="`sangkien train-dedup` output")
    intake_keys: KeyList = Field(default_factory=list, description="API keys of the intake system")
    reviewer_keys: KeyList = Field(default_factory=list, description="API keys of reviewers")
    read_keys: KeyList = Field(default_factory=list, description="when set, reads need a key too")
    max_text_chars: int = Field(20_000, ge=1, description="longest title + description accepted")
    max_batch: int = Field(1_000, ge=1, description="most texts or records in one request")
    max_body_bytes: int = Field(64 * 1024 * 1024, ge=1024, description="largest request body")
    duplicates_k: int = Field(5, ge=1, le=50, description="candidates returned and stored per text")
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field("FULL", description="SQLite durability")
    index_merge_every: int = Field(512, ge=1, description="recent additions kept in a small index")
    background_load: bool = Field(True, description="load models after the port opens (/healthz 503)")

    @field_validator("intake_keys", "reviewer_keys", "read_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        """Accept "k1,k2" from the environment as well as a list from Python."""
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
