"""Kept for imports written before write-then-rename moved to ``rustgate.atomic`` (one implementation)."""

from rustgate.atomic import (  # noqa: F401
    DIR_MODE,
    FILE_MODE,
    atomic_open,
    atomic_write_json,
    atomic_write_jsonl,
    atomic_write_text,
    dumps_line,
    dumps_pretty,
    make_staging_dir,
)
