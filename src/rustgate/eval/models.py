"""Models under test: anything ``LLMClient`` speaks, or a local Hugging Face model (``local.py``).

Both answer a list of ``Job`` s and report each answer as it lands (``on_answer``), so compiling
and judging start while the rest is still being generated. Every answer is cached in the ledger:
API calls by ``LLMClient``, local generations by ``LocalModel`` under their own key.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rustgate.eval.config import ModelConfig
from rustgate.eval.suite import EvalPrompt
from rustgate.gates.prompts import pins_text
from rustgate.ledger import Ledger
from rustgate.llm.costs import Accounting, PriceTable
from rustgate.llm.errors import BudgetExceeded, LLMError
from rustgate.llm.types import LLMRequest
from rustgate.records import Message

DEFAULT_SYSTEM = """You are an expert Rust developer. Answer the request with a short explanation and one
complete ```rust code block that compiles as src/main.rs of a binary crate (with its `use` lines
and a `main`). The code is compiled against exactly these versions:
{pins}"""

GENERATE_GATE = "eval-generate"  # the accounting label of answer generation


def system_prompt(template: str | None, crate: str) -> str:
    """The system prompt a model sees for a prompt of ``crate`` (the pinned versions filled in)."""
    return (template or DEFAULT_SYSTEM).replace("{pins}", pins_text(crate))


@dataclass(frozen=True)
class Job:
    """One answer to produce: a prompt, the sample number (0..n-1) and the system prompt."""

    prompt: EvalPrompt
    sample: int
    system: str

    def messages(self) -> list[Message]:
        return [Message(role="user", content=self.prompt.prompt)]


@dataclass(frozen=True)
class Generation:
    """An answer, or why there is none (``error``: an infrastructure failure, retried on rerun)."""

    text: str | None
    error: str | None = None
    cached: bool = False
    cost_usd: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    seconds: float = 0.0
    budget_stop: bool = False  # not an answer: the budget had no room for this call


OnAnswer = Callable[[Job, Generation], Awaitable[None]]


class ModelUnderTest(ABC):
    def __init__(self, config: ModelConfig) -> None:
        self.config = config

    @property
    def label(self) -> str:
        return self.config.label

    def settings(self) -> dict[str, Any]:
        """Recorded per model in every output: what it is and how it was sampled."""
        where = {"model": self.config.model, "base_url": self.config.base_url} if self.config.kind == "api" else {}
        if self.config.kind == "local":
            where = {"path": self.config.path, "adapter": self.config.adapter}
        return {"kind": self.config.kind, **where, "sampling": self.config.sampling()}

    @abstractmethod
    async def answer(self, jobs: Sequence[Job], on_answer: OnAnswer) -> None:
        """Produce every job's answer, awaiting ``on_answer`` for each as it lands."""

    async def aclose(self) -> None:
        return None


class ApiModel(ModelUnderTest):
    """A model behind ``LLMClient``: its concurrency, rate limits, retries, budget and call cache."""

    def __init__(
        self, config: ModelConfig, *, ledger: Ledger, accounting: Accounting, prices: PriceTable | None = None
    ) -> None:
        super().__init__(config)
        assert config.model is not None
        self.client = config.client(config.model, ledger=ledger, prices=prices, accounting=accounting)

    def request(self, job: Job) -> LLMRequest:
        # The sample number is the nonce: n samples of one prompt are n cache entries.
        return LLMRequest(
            system=job.system,
            messages=job.messages(),
            max_tokens=self.config.max_tokens,
            temperature=self.config.temperature,
            nonce=job.sample,
        )

    async def answer(self, jobs: Sequence[Job], on_answer: OnAnswer) -> None:
        async def one(job: Job) -> None:
            loop = asyncio.get_running_loop()
            started = loop.time()
            try:
                response = await self.client.complete(self.request(job), gate=GENERATE_GATE)
            except LLMError as exc:
                await on_answer(job, Generation(text=None, error=f"{self.label}: {exc}"))
                return
            except BudgetExceeded as exc:
                await on_answer(job, Generation(text=None, error=str(exc), budget_stop=True))
                return
            reply = response.reply
            generation = Generation(
                text=reply.text,
                cached=response.cached,
                cost_usd=response.cost_usd,
                input_tokens=reply.input_tokens,
                output_tokens=reply.output_tokens,
                seconds=round(loop.time() - started, 4),
            )
            await on_answer(job, generation)

        await asyncio.gather(*(one(job) for job in jobs))

    async def aclose(self) -> None:
        await self.client.aclose()


def make_model(
    config: ModelConfig, *, ledger: Ledger, accounting: Accounting, prices: PriceTable | None = None
) -> ModelUnderTest:
    """Build the model now, so a missing key or unknown provider fails before any work starts."""
    if config.kind == "api":
        return ApiModel(config, ledger=ledger, accounting=accounting, prices=prices)
    from rustgate.eval.local import LocalModel

    return LocalModel(config, ledger=ledger)
