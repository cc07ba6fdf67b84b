"""``pipeline.toml`` -> ``Pipeline``: validated with pydantic, every client built (so a missing
API key or unknown provider fails here, before any work starts). See ``examples/pipeline.toml``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import tomlkit
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rustgate.gates.base import Gate
from rustgate.gates.generate import GenerationSpec, Generator, load_topics, make_specs
from rustgate.gates.judge import JudgeGate
from rustgate.ledger import Ledger
from rustgate.llm.client import LLMClient
from rustgate.llm.costs import Accounting, PriceTable
from rustgate.llm.retry import RetryPolicy
from rustgate.records import Crate, Record

if TYPE_CHECKING:
    from rustgate.pipeline import Pipeline

Stage = Literal["generate", "compile", "judge"]
_DEFAULT_ORDER: tuple[Stage, ...] = ("generate", "compile", "judge")
_DEFAULT_CRATES: tuple[Crate, ...] = ("axum", "leptos", "rig")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSettings(_Strict):
    concurrency: int = Field(16, ge=1)
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    base_url: str | None = None
    api_key_env: str | None = None
    timeout_s: float = 120.0
    max_attempts: int = Field(6, ge=1)


class GenerateSettings(_Strict):
    model: str
    crates: list[Crate] = Field(default_factory=lambda: list(_DEFAULT_CRATES))
    per_topic: int = Field(1, ge=1)
    limit: int | None = Field(None, ge=1, description="at most this many samples per crate")
    topics: dict[str, str] = Field(default_factory=dict, description="crate -> topic file overriding the shipped one")
    temperature: float = 0.7
    max_tokens: int = 4096
    repair_attempts: int = Field(2, ge=0)


class CompileSettings(_Strict):
    profile: str | None = None
    jobs: int | None = None
    timeout_s: float = 60
    memory_mb: int = 4096
    use_cache: bool = True
    method: Literal["replay", "batch"] = "replay"


class JudgeSettings(_Strict):
    model: str
    threshold: float = Field(7.0, ge=1, le=10)
    min_scores: dict[str, float] = Field(default_factory=dict)
    samples: int = Field(1, ge=1)
    temperature: float | None = None
    max_tokens: int = 1500


class PipelineConfig(_Strict):
    output: str
    input: str | None = None
    ledger: str | None = None
    order: list[Stage] = Field(default_factory=lambda: list(_DEFAULT_ORDER))
    max_usd: float | None = Field(None, gt=0)
    max_in_flight: int = Field(256, ge=1)
    generate: GenerateSettings | None = None
    compile: CompileSettings = Field(default_factory=CompileSettings)
    judge: JudgeSettings | None = None
    models: dict[str, ModelSettings] = Field(default_factory=dict)
    prices: dict[str, dict[str, float]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> PipelineConfig:
        if len(set(self.order)) != len(self.order):
            raise ValueError("order lists a stage twice")
        if "generate" in self.order:
            if self.order[0] != "generate":
                raise ValueError("generate must come first in order")
            if self.generate is None:
                raise ValueError("order has generate but there is no [generate] table")
            if self.input is not None:
                raise ValueError("give either input (gate existing records) or a generate stage, not both")
        elif self.input is None:
            raise ValueError("without a generate stage, set input = <records.jsonl>")
        if "judge" in self.order and self.judge is None:
            raise ValueError("order has judge but there is no [judge] table")
        return self


def load_config(path: str | Path) -> PipelineConfig:
    return PipelineConfig.model_validate(tomlkit.parse(Path(path).read_text(encoding="utf-8")).unwrap())


def pipeline_from_toml(path: str | Path, **overrides: Any) -> Pipeline:
    from rustgate.pipeline import Pipeline

    base = Path(path).resolve().parent
    config = load_config(path)
    if overrides:
        config = PipelineConfig.model_validate({**config.model_dump(), **overrides})

    def resolve(p: str) -> Path:
        return (base / p) if not Path(p).is_absolute() else Path(p)

    ledger = Ledger(resolve(config.ledger)) if config.ledger else Ledger()
    accounting = Accounting(max_usd=config.max_usd)
    prices = PriceTable(config.prices)
    clients: dict[str, LLMClient] = {}

    def client(model: str) -> LLMClient:
        if model not in clients:
            s = config.models.get(model) or ModelSettings.model_validate({})
            clients[model] = LLMClient(
                model,
                ledger=ledger,
                base_url=s.base_url,
                api_key_env=s.api_key_env,
                concurrency=s.concurrency,
                requests_per_minute=s.requests_per_minute,
                tokens_per_minute=s.tokens_per_minute,
                timeout_s=s.timeout_s,
                retry=RetryPolicy(max_attempts=s.max_attempts),
                prices=prices,
                accounting=accounting,
            )
        return clients[model]

    gates: list[Gate] = []
    for stage in config.order:
        if stage == "compile":
            from rustgate.gates.compile import CompileGate

            c = config.compile
            gates.append(
                CompileGate(
                    profile=c.profile,
                    jobs=c.jobs,
                    timeout_s=c.timeout_s,
                    memory_mb=c.memory_mb,
                    ledger=ledger,
                    use_cache=c.use_cache,
                )
            )
        elif stage == "judge":
            j = config.judge
            assert j is not None
            gates.append(
                JudgeGate(
                    client(j.model),
                    threshold=j.threshold,
                    min_scores=j.min_scores,
                    samples=j.samples,
                    temperature=j.temperature,
                    max_tokens=j.max_tokens,
                )
            )

    generator: Generator | None = None
    specs: list[GenerationSpec] | None = None
    records: list[Record] | None = None
    repair_attempts = 0
    if config.generate is not None and "generate" in config.order:
        g = config.generate
        generator = Generator(client(g.model), temperature=g.temperature, max_tokens=g.max_tokens)
        specs = []
        for crate in g.crates:
            topic_file = resolve(g.topics[crate]) if crate in g.topics else None
            specs += make_specs(crate, load_topics(crate, topic_file), per_topic=g.per_topic, limit=g.limit)
        repair_attempts = g.repair_attempts
    else:
        from rustgate.data.jsonl import read_jsonl

        assert config.input is not None
        read = read_jsonl(resolve(config.input))
        if read.errors:
            raise ValueError("input has bad records:\n" + "\n".join(str(e) for e in read.errors[:20]))
        records = [loaded.record for loaded in read.records]

    return Pipeline(
        gates,
        output=resolve(config.output),
        ledger=ledger,
        generator=generator,
        specs=specs,
        records=records,
        accounting=accounting,
        repair_attempts=repair_attempts,
        max_in_flight=config.max_in_flight,
    )
