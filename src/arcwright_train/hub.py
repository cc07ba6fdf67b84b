"""Where the base model comes from, decided in a second: a local folder, the Hub, or its local cache.

Without this, a wrong or unreachable model costs about a minute of Hub retries and ends in a
long ``OSError``. We look once, with a short timeout, and fail with one line; when the Hub cannot
be reached but the model is cached, we switch to offline mode (``HF_HUB_OFFLINE``) and say so.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

HUB_TIMEOUT_S = 10.0


class ModelSourceError(RuntimeError):
    """The base model cannot be found or reached; the message says which and what to do."""


@dataclass(frozen=True)
class ModelSource:
    kind: str  # "local", "hub" or "cache"
    note: str | None = None


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _looks_like_path(name: str) -> bool:
    """A Hub id is ``name`` or ``org/name``; anything else is meant as a folder."""
    return name.startswith((".", "/", "~", "\\")) or name.count("/") > 1 or Path(name).is_file()


def _cached(repo_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)


def _go_offline() -> None:
    """Make this process (and its children) use only the local cache from now on."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    import huggingface_hub.constants

    huggingface_hub.constants.HF_HUB_OFFLINE = True


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def check_model(name: str) -> ModelSource:
    """Refuse a model that does not exist or cannot be reached, before anything waits on it."""
    local = Path(name).expanduser()
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise ModelSourceError(f"model_name_or_path {name}: folder has no config.json (not a model folder)")
        return ModelSource("local")
    if _looks_like_path(name):
        raise ModelSourceError(f"model_name_or_path {name}: no such folder")
    offline = _truthy("HF_HUB_OFFLINE") or _truthy("TRANSFORMERS_OFFLINE")
    if offline:
        if _cached(name):
            return ModelSource("cache", "HF_HUB_OFFLINE is set: using the cached copy")
        raise ModelSourceError(
            f"model_name_or_path {name!r} is not a local folder and HF_HUB_OFFLINE is set, but it is not in the "
            "Hugging Face cache: download it while online (hf download), or point model_name_or_path at a folder"
        )
    from huggingface_hub import HfApi
    from huggingface_hub.errors import GatedRepoError, HFValidationError, RepositoryNotFoundError

    try:
        HfApi(endpoint=os.environ.get("HF_ENDPOINT")).model_info(name, timeout=HUB_TIMEOUT_S)
    except HFValidationError as exc:
        raise ModelSourceError(f"model_name_or_path {name!r}: no such folder, and not a valid Hub id") from exc
    except GatedRepoError as exc:
        raise ModelSourceError(
            f"model_name_or_path {name!r} is gated on the Hub: accept its licence and log in (hf auth login)"
        ) from exc
    except RepositoryNotFoundError as exc:
        raise ModelSourceError(
            f"model_name_or_path {name!r} is not a local folder and not a model on the Hub "
            "(or a private one: log in with hf auth login)"
        ) from exc
    except Exception as exc:  # network and HTTP errors of whichever client huggingface_hub uses
        endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
        if _cached(name):
            _go_offline()
            return ModelSource("cache", f"the Hub ({endpoint}) cannot be reached: using the cached copy offline")
        raise ModelSourceError(
            f"model_name_or_path {name!r} is not a local folder, and the Hugging Face Hub ({endpoint}) cannot be "
            f"reached ({_first_line(exc)}); it is not in the local cache either. Download it where the Hub is "
            "reachable, or point model_name_or_path at a local folder"
        ) from exc
    return ModelSource("hub")
