"""``pipeline.toml`` -> ``Pipeline``: validated with pydantic, every client built (so a missing
API key or unknown provider fails here, before any work starts). See ``examples/pipeline.toml``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rustgate.gates.base import Gate, GateSettings, StageContext
from rustgate.gates.compile import CompileSettings
from rustgate.gates.generate import GenerationSpec, Generator, load_topics, make_specs
from rustgate.gates.registry import GATES
from rustgate.ledger import Ledger
from rustgate.llm.client import LLMClient
from rustgate.llm.costs import Accounting, PriceTable
from rustgate.llm.settings import ClientSettings
from rustgate.overlap import refuse_overlap
from rustgate.paths import default_ledger_path
from rustgate.pipeline import last_code_gate
from rustgate.records import Crate, Record
from rustgate.validation import read_toml, validate_as

if TYPE_CHECKING:
    from rustgate.pipeline import Pipeline

_DEFAULT_ORDER: tuple[str, ...] = ("generate", "compile", "judge")
_DEFAULT_CRATES: tuple[Crate, ...] = ("axum", "leptos", "rig")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


ModelSettings = ClientSettings  # ``[models."provider:name"]``


class GenerateSettings(_Strict):
    model: str
    crates: list[Crate] = Field(default_factory=lambda: list(_DEFAULT_CRATES))
    per_topic: int = Field(1, ge=1)
    limit: int | None = Field(None, ge=1, description="at most this many samples per crate")
    topics: dict[str, str] = Field(default_factory=dict, description="crate -> topic file overriding the shipped one")
    temperature: float = 0.7
    max_tokens: int = 4096
    repair_attempts: int | None = Field(None, ge=0, description="default: 2 when repair_gate is in order, else 0")
    repair_gate: str | None = Field(None, description="default: the order's last code gate (compile, test, run...)")
    repair_missing_crates: bool = False  # a crate the profile lacks is no bug to repair, unless asked


class PipelineConfig(_Strict):
    output: str
    input: str | None = None
    ledger: str | None = None
    order: list[str] = Field(default_factory=lambda: list(_DEFAULT_ORDER))
    max_usd: float | None = Field(None, gt=0)
    max_in_flight: int = Field(256, ge=1)
    generate: GenerateSettings | None = None
    stages: dict[str, Any] = Field(default_factory=dict)  # gate name -> its settings (tables named in GATES)
    models: dict[str, ModelSettings] = Field(default_factory=dict)
    prices: dict[str, dict[str, float]] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _gate_tables(cls, data: Any) -> Any:
        """``[compile]``, ``[judge]`` (any table the gate registry names) become typed gate settings."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        stages = dict(data.pop("stages", None) or {})
        for name, settings in GATES.items():
            if name in data:
                stages[name] = data.pop(name)
            if isinstance(stages.get(name), dict):
                stages[name] = settings.model_validate(stages[name])
        data["stages"] = stages
        return data

    def gate_settings(self, name: str) -> GateSettings:
        settings = self.stages.get(name)
        if settings is None:
            settings = GATES[name].model_validate({})  # a gate whose settings all have defaults
        return settings

    @model_validator(mode="after")
    def _consistent(self) -> PipelineConfig:
        if len(set(self.order)) != len(self.order):
            raise ValueError("order lists a stage twice")
        unknown = [s for s in self.order if s != "generate" and s not in GATES]
        if unknown:
            raise ValueError(f"unknown stage {unknown[0]!r} in order (known: generate, {', '.join(GATES)})")
        if "generate" in self.order:
            if self.order[0] != "generate":
                raise ValueError("generate must come first in order")
            if self.generate is None:
                raise ValueError("order has generate but there is no [generate] table")
            if self.input is not None:
                raise ValueError("give either input (gate existing records) or a generate stage, not both")
        elif self.input is None:
            raise ValueError("without a generate stage, set input = <records.jsonl>")
        for name in self.order:
            if name in GATES and name not in self.stages:
                try:
                    GATES[name].model_validate({})
                except ValueError as exc:
                    raise ValueError(f"order has {name} but there is no [{name}] table") from exc
        repairs = self.generate is not None and self.generate.repair_attempts and "generate" in self.order
        if repairs and self.generate is not None and self.repair_gate() not in self.order:
            raise ValueError(
                f"repair_gate {self.repair_gate()!r} is not in order: repairs could never run "
                "(set repair_attempts = 0, or add the gate)"
            )
        return self

    def repair_gate(self) -> str:
        """The gate whose failures go back to the generator: as set, else the order's last code gate."""
        chosen = self.generate.repair_gate if self.generate is not None else None
        return chosen or last_code_gate(n for n in self.order if n in GATES and issubclass(GATES[n], CompileSettings))


class PipelineConfigError(ValueError):
    """The pipeline config cannot be used; the message names the file and every bad key."""


def load_config(path: str | Path) -> PipelineConfig:
    return validate_as(PipelineConfig, read_toml(path, PipelineConfigError), str(path), PipelineConfigError)


def pipeline_from_toml(path: str | Path, **overrides: Any) -> Pipeline:
    from rustgate.pipeline import Pipeline

    base = Path(path).resolve().parent
    config = load_config(path)
    if overrides:
        config = validate_as(PipelineConfig, {**config.model_dump(), **overrides}, str(path), PipelineConfigError)

    def resolve(p: str) -> Path:
        return (base / p) if not Path(p).is_absolute() else Path(p)

    topics = [resolve(t) for t in config.generate.topics.values()] if config.generate is not None else []
    ledger_path = resolve(config.ledger) if config.ledger else default_ledger_path()
    refuse_overlap(  # before the ledger opens: nothing is written when an output is an input
        {"output": resolve(config.output), "ledger": ledger_path},
        [path, *([resolve(config.input)] if config.input else []), *topics],
    )
    ledger = Ledger(ledger_path)
    accounting = Accounting(max_usd=config.max_usd)
    prices = PriceTable(config.prices)
    clients: dict[str, LLMClient] = {}

    def client(model: str) -> LLMClient:
        if model not in clients:
            settings = config.models.get(model) or ClientSettings()
            clients[model] = settings.client(model, ledger=ledger, prices=prices, accounting=accounting)
        return clients[model]

    context = StageContext(ledger, client)
    gates: list[Gate] = [config.gate_settings(name).build(context) for name in config.order if name != "generate"]

    generator: Generator | None = None
    specs: list[GenerationSpec] | None = None
    records: list[Record] | None = None
    repair_attempts: int | None = 0
    repair_gate, repair_missing_crates = config.repair_gate(), False
    if config.generate is not None and "generate" in config.order:
        g = config.generate
        generator = Generator(client(g.model), temperature=g.temperature, max_tokens=g.max_tokens)
        specs = []
        for crate in g.crates:
            topic_file = resolve(g.topics[crate]) if crate in g.topics else None
            specs += make_specs(crate, load_topics(crate, topic_file), per_topic=g.per_topic, limit=g.limit)
        repair_attempts = g.repair_attempts
        repair_missing_crates = g.repair_missing_crates
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
        repair_gate=repair_gate,
        repair_missing_crates=repair_missing_crates,
        max_in_flight=config.max_in_flight,
    )
