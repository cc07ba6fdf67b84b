"""A local Hugging Face model, optionally with a LoRA adapter, answering with transformers ``generate``.

Prompts go through the tokenizer's chat template (the adapter folder's tokenizer when it has one,
as ``arcwright-train`` saves it), in left-padded batches, on CUDA or MPS when present, else CPU.
Each answer is cached in the ledger under a key over the model folder (its path and the
fingerprint of its config, tokenizer and weight files), the adapter's content hash, the sampling
settings, the system prompt, the prompt and the sample number (greedy decoding makes every sample
the same answer, so it is generated once). torch, transformers and peft load only here.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rustgate.eval.config import EvalConfigError, ModelConfig
from rustgate.eval.models import Generation, Job, ModelUnderTest, OnAnswer
from rustgate.ledger import Ledger, stable_hash
from rustgate.llm.types import ProviderReply

CACHE_VERSION = "local-gen/1"
# Files that decide what a folder generates; weights are fingerprinted by name and size, the
# adapter's by content (it is small).
_SMALL = ("config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
          "special_tokens_map.json", "chat_template.jinja", "chat_template.json", "adapter_config.json")  # fmt: skip
_WEIGHTS = (".safetensors", ".bin", ".gguf", ".pt")


def folder_fingerprint(folder: str, *, hash_weights: bool) -> str:
    """sha256 over the small files' bytes and the weight files' (name, size) or bytes."""
    root = Path(folder)
    if not root.is_dir():
        return stable_hash("not-a-folder", folder)  # a hub id: the path is all we know
    digest = hashlib.sha256()
    for path in sorted(p for p in root.iterdir() if p.is_file()):
        if path.name in _SMALL or (hash_weights and path.name.endswith(_WEIGHTS)):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        elif path.name.endswith(_WEIGHTS):
            digest.update(f"{path.name}\0{path.stat().st_size}\0".encode())
    return digest.hexdigest()


class LocalModel(ModelUnderTest):
    def __init__(self, config: ModelConfig, *, ledger: Ledger) -> None:
        super().__init__(config)
        assert config.path is not None
        self.ledger = ledger
        self.path = str(Path(config.path).resolve()) if Path(config.path).exists() else config.path
        self.adapter = str(Path(config.adapter).resolve()) if config.adapter else None
        if self.adapter is not None and not (Path(self.adapter) / "adapter_config.json").is_file():
            raise EvalConfigError(f"{config.adapter}: not a LoRA adapter folder (no adapter_config.json)")
        self.base_hash = folder_fingerprint(self.path, hash_weights=False)
        self.adapter_hash = folder_fingerprint(self.adapter, hash_weights=True) if self.adapter else None

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "base_fingerprint": self.base_hash, "adapter_hash": self.adapter_hash}

    def key(self, job: Job) -> str:
        sampling = self.config.sampling()
        sample = job.sample if sampling["do_sample"] else 0
        return stable_hash(
            CACHE_VERSION, self.path, self.base_hash, self.adapter_hash,
            {k: sampling[k] for k in ("temperature", "max_tokens", "seed", "do_sample")},
            job.system, job.prompt.prompt, sample,
        )  # fmt: skip

    async def answer(self, jobs: Sequence[Job], on_answer: OnAnswer) -> None:
        pending: dict[str, list[Job]] = {}
        for job in jobs:
            key = self.key(job)
            hit = self.ledger.get_call(key)
            if hit is not None:
                reply = ProviderReply.from_json(hit)
                await on_answer(job, self._generation(reply, cached=True))
            else:
                pending.setdefault(key, []).append(job)
        if not pending:
            return
        try:
            loaded = await asyncio.to_thread(self._load)
        except Exception as exc:  # a missing folder, a bad checkpoint, no torch: an infrastructure error
            for group in pending.values():
                for job in group:
                    await on_answer(job, Generation(text=None, error=f"{self.label}: cannot load: {exc}"))
            return
        try:
            order = sorted(pending, key=lambda k: len(pending[k][0].prompt.prompt))  # less padding per batch
            size = self.config.batch_size
            for start in range(0, len(order), size):
                keys = order[start : start + size]
                try:
                    replies = await asyncio.to_thread(self._generate, loaded, [pending[k][0] for k in keys])
                except Exception as exc:
                    for key in keys:
                        for job in pending[key]:
                            await on_answer(job, Generation(text=None, error=f"{self.label}: generate failed: {exc}"))
                    continue
                for key, (reply, seconds) in zip(keys, replies, strict=True):
                    self.ledger.put_call(
                        key, provider="local", model=self.label, response=reply.to_json(),
                        input_tokens=reply.input_tokens, output_tokens=reply.output_tokens,
                    )  # fmt: skip
                    for job in pending[key]:
                        await on_answer(job, self._generation(reply, cached=False, seconds=seconds))
        finally:
            del loaded
            await asyncio.to_thread(_free_memory)

    @staticmethod
    def _generation(reply: ProviderReply, *, cached: bool, seconds: float = 0.0) -> Generation:
        return Generation(
            text=reply.text,
            cached=cached,
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            seconds=seconds,
        )

    # -- torch side (worker threads) ------------------------------------------------------------
    def _load(self) -> tuple[Any, Any, str]:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        device = self.config.device
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
        dtype_name = self.config.dtype
        if dtype_name == "auto":
            dtype_name = "bfloat16" if device == "cuda" and torch.cuda.is_bf16_supported() else "float32"
        model: Any = AutoModelForCausalLM.from_pretrained(self.path, dtype=getattr(torch, dtype_name))
        if self.adapter is not None:
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, self.adapter)
        model = model.to(device).eval()
        has_tokenizer = self.adapter is not None and (Path(self.adapter) / "tokenizer_config.json").is_file()
        tokenizer = AutoTokenizer.from_pretrained(self.adapter if has_tokenizer else self.path)
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return model, tokenizer, device

    def _render(self, tokenizer: Any, job: Job) -> str:
        chat = [{"role": "system", "content": job.system}, {"role": "user", "content": job.prompt.prompt}]
        try:
            return str(tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False))
        except Exception:  # templates without a system role (Gemma 2): fold it into the user turn
            folded = [{"role": "user", "content": f"{job.system}\n\n{job.prompt.prompt}"}]
            return str(tokenizer.apply_chat_template(folded, add_generation_prompt=True, tokenize=False))

    def _generate(self, loaded: tuple[Any, Any, str], jobs: list[Job]) -> list[tuple[ProviderReply, float]]:
        import time

        import torch

        model, tokenizer, device = loaded
        started = time.monotonic()
        texts = [self._render(tokenizer, job) for job in jobs]
        # The chat template writes the BOS token itself.
        encoded = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(device)
        sampling: dict[str, Any] = {"do_sample": False}
        if self.config.temperature > 0:
            torch.manual_seed(self.config.seed)
            sampling = {"do_sample": True, "temperature": self.config.temperature, "top_p": 1.0, "top_k": 0}
        with torch.inference_mode():
            output = model.generate(
                **encoded, max_new_tokens=self.config.max_tokens, pad_token_id=tokenizer.pad_token_id, **sampling
            )
        new_tokens = output[:, encoded["input_ids"].shape[1] :]
        seconds = (time.monotonic() - started) / len(jobs)
        replies = []
        for row, mask in zip(new_tokens, encoded["attention_mask"], strict=True):
            produced = int((row != tokenizer.pad_token_id).sum())
            text = tokenizer.decode(row, skip_special_tokens=True)
            reply = ProviderReply(
                text=text, data=None, data_error=None, input_tokens=int(mask.sum()), output_tokens=produced
            )
            replies.append((reply, round(seconds, 4)))
        return replies


def _free_memory() -> None:
    gc.collect()
    try:
        import torch
    except ImportError:
        return
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
