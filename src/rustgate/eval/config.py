"""``EvalConfig``: which models, which suite, how to judge, where to write; checked before any work.

A TOML file (``rustgate eval eval.toml``) has the same keys; paths in it are relative to the file.
A model under test is either ``model = "<provider>:<name>"`` (anything the LLM layer speaks:
``anthropic:``, ``openai:``, ``vllm:``/``ollama:``/``llamacpp:`` with ``base_url``) or a local
Hugging Face folder ``path`` with an optional LoRA ``adapter`` folder (an ``arcwright-train``
output), run with transformers ``generate``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rustgate.eval.suites import DEFAULT_SUITE
from rustgate.gates.compile import CompileSettings
from rustgate.llm.settings import ClientSettings
from rustgate.validation import read_toml, validate_as


class EvalConfigError(ValueError):
    """The eval config cannot be used; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelConfig(ClientSettings):
    """One model under test, with its sampling settings (recorded in every output)."""

    name: str | None = Field(None, description="label on the leaderboard (default: derived from model/path)")
    model: str | None = Field(None, description="provider:model served by an API or an OpenAI-compatible server")
    timeout_s: float = Field(default=300.0, gt=0)
    path: str | None = Field(None, description="a local Hugging Face model folder")
    adapter: str | None = Field(None, description="a LoRA adapter folder for path (an arcwright-train output)")
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    batch_size: int = Field(8, ge=1)
    temperature: float = Field(0.0, ge=0.0)
    max_tokens: int = Field(2048, ge=1)
    seed: int = 0
    system: str | None = Field(None, description="system prompt template ({pins} is filled in); default: the suite's")

    @model_validator(mode="after")
    def _one_kind(self) -> ModelConfig:
        if (self.model is None) == (self.path is None):
            raise ValueError("give either model (an API or server model) or path (a local model folder)")
        if self.adapter is not None and self.path is None:
            raise ValueError("adapter needs a local path (for a served adapter, name it in model, e.g. vllm:<lora>)")
        if self.base_url is not None and self.model is None:
            raise ValueError("base_url belongs to a served model (model = ...), not a local path")
        return self

    @property
    def kind(self) -> Literal["api", "local"]:
        return "api" if self.model is not None else "local"

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.model is not None:
            return self.model
        assert self.path is not None
        base = Path(self.path).name or self.path
        return f"{base}+{Path(self.adapter).name}" if self.adapter else base

    def sampling(self) -> dict[str, Any]:
        """What decides the answers, as recorded beside the leaderboard."""
        settings: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.kind == "local":
            settings.update(seed=self.seed, do_sample=self.temperature > 0, device=self.device, dtype=self.dtype)
        return settings


class JudgeConfig(ClientSettings):
    """The judge model (any provider) and its k samples per answer."""

    model: str
    samples: int = Field(1, ge=1)
    temperature: float | None = None
    max_tokens: int = Field(1500, ge=1)


class EvalConfig(_Strict):
    models: list[ModelConfig] = Field(min_length=1)
    judge: JudgeConfig
    suite: str = DEFAULT_SUITE
    limit: int | None = Field(None, ge=1, description="at most this many prompts per crate")
    samples: int = Field(1, ge=1, description="answers per prompt and model (n of pass@k)")
    system: str | None = Field(None, description="system prompt template for every model ({pins} filled in)")
    output: Path = Path("eval")
    ledger: Path | None = None
    max_usd: float | None = Field(None, gt=0)
    compile: CompileSettings = Field(default_factory=CompileSettings)
    compare: list[tuple[str, str]] = Field(
        default_factory=list, description="pairs of labels (a, b): a - b on the same prompts"
    )
    bootstrap: int = Field(2000, ge=100, description="bootstrap resamples per interval")
    seed: int = 0
    prices: dict[str, dict[str, float]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _labels(self) -> EvalConfig:
        labels = [m.label for m in self.models]
        repeated = sorted({label for label in labels if labels.count(label) > 1})
        if repeated:
            raise ValueError(f"two models share the label {repeated[0]!r}: give each a distinct name")
        for a, b in self.compare:
            for label in (a, b):
                if label not in labels:
                    raise ValueError(f"compare names {label!r}, which is not a model label ({', '.join(labels)})")
        return self

    def comparisons(self) -> list[tuple[str, str]]:
        """``compare`` plus, for each local model with an adapter, adapter vs its base when both run."""
        pairs = list(self.compare)
        for model in self.models:
            if model.adapter is None:
                continue
            for base in self.models:
                if base.kind == "local" and base.adapter is None and base.path == model.path:
                    pair = (model.label, base.label)
                    if pair not in pairs:
                        pairs.append(pair)
        return pairs

    @classmethod
    def from_toml(cls, path: str | Path, **overrides: Any) -> EvalConfig:
        doc = read_toml(path, EvalConfigError)
        doc.update({k: v for k, v in overrides.items() if v is not None})
        config = validate_as(cls, doc, str(path), EvalConfigError)
        return config.resolved(Path(path).resolve().parent)

    def resolved(self, base: Path) -> EvalConfig:
        """Relative paths (output, ledger, suite file, local models) made absolute against ``base``."""

        def fix(p: str | None) -> str | None:
            if p is None or Path(p).is_absolute():
                return p
            candidate = base / p
            return str(candidate) if candidate.exists() else p  # else a hub id or a path made later

        suite = self.suite if not (base / self.suite).is_file() else str(base / self.suite)
        models = [m.model_copy(update={"path": fix(m.path), "adapter": fix(m.adapter)}) for m in self.models]
        return self.model_copy(
            update={
                "output": self.output if self.output.is_absolute() else base / self.output,
                "ledger": self.ledger if self.ledger is None or self.ledger.is_absolute() else base / self.ledger,
                "suite": suite,
                "models": models,
            }
        )
