"""``rustgate build``'s plan: gated records -> which are kept, in which split, and why the rest left.

Stages run in a fixed order (gates, exact dedupe, near dedupe, decontamination, sizing, split),
and each drop is recorded with its stage and reason for the card. The plan is made from ``Entry``
rows, not records: the inputs are read once whole, and then again only for the records a stage
needs (re-gating, dedupe features, writing), so memory stays a few hundred bytes per record.
``write_dataset`` (``rustgate.data.writer``) turns the plan into the folder.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

import numpy as np

from rustgate.data.config import BuildConfig
from rustgate.data.decontam import EvalIndex, contamination, load_eval_prompts
from rustgate.data.dedupe import Drop, MinHasher, exact_key, first_of_each, near_drop, near_duplicates
from rustgate.data.jsonl import InputError
from rustgate.data.sampling import draw_replay, replay_count, size_per_crate, split
from rustgate.data.sources import Entry, Inputs, gate_state
from rustgate.records import GateResult, Record
from rustgate.stats import Tally, clippy_lints

Regate = Callable[[list[Record], list[str]], list[Record]]
REGATE_BATCH = 2000  # records re-read and re-gated at a time


@dataclass
class BuildPlan:
    inputs: Inputs
    train: list[Entry]
    test: list[Entry]
    drops: list[Drop] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    shortfall: dict[str, tuple[int, int]] = field(default_factory=dict)
    funnel: list[tuple[str, int]] = field(default_factory=list)  # framework records left after each stage
    tallies: dict[str, Tally] = field(default_factory=dict)  # verdicts of every record read, per gate
    regated: dict[str, list[str]] = field(default_factory=dict)  # id -> verdicts (JSON) this build gave

    @property
    def replay_ids(self) -> frozenset[str]:
        """The kept records that came from the replay inputs."""
        return frozenset(e.id for e in (*self.train, *self.test) if e.replay)

    def splits(self) -> dict[str, list[Entry]]:
        return {"train": self.train, "test": self.test}

    def records(self, entries: Iterable[Entry]) -> Iterator[tuple[Entry, Record]]:
        """The records behind ``entries`` as they will be written: read again, with this build's verdicts."""
        for entry, record in self.inputs.fetch(entries):
            for raw in self.regated.get(entry.id, ()):
                record = record.with_gate(GateResult.model_validate_json(raw))
            yield entry, record


@dataclass
class _Scan:
    entries: list[Entry] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)


def _gates_for(entry: Entry, config: BuildConfig) -> list[str]:
    return config.replay_required_gates if entry.replay else config.required_gates


VERIFIED = ("compile",)  # gates whose verdict build re-derives from the content (the rest need an LLM)


def _regate_gates(replay: bool, config: BuildConfig) -> list[str]:
    wanted = config.replay_required_gates if replay else config.required_gates
    gates: list[str] = [g for g in config.gate_missing if not replay or g in config.replay_required_gates]
    if not config.trust_row_verdicts:
        gates += [g for g in VERIFIED if g in wanted and g not in gates]
    return gates


def _gate_drop(record_id: str, why: str, kind: str) -> Drop:
    """A forged claim is its own kind of drop; any other missing gate names which gates it lacked."""
    if why.startswith("forged"):
        return Drop(record_id, "forged", why)
    return Drop(record_id, "gates", f"{kind} gates: {why}")


def _tiers_of(result: GateResult) -> list[str]:
    return sorted(result.details.get("tiers") or {"compile": None})


def _forged(before: Record, after: Record, gates: list[str], current: str) -> str | None:
    """How a row's own verdict for its current content disagrees with the one the gate gave."""
    for gate in gates:
        claimed, given = before.gates.get(gate), after.gates.get(gate)
        if claimed is None or given is None or claimed.content_hash != current or given.verdict == "error":
            continue  # no claim, a claim about other content (stale), or nothing to compare it with
        if _tiers_of(claimed) != _tiers_of(given):
            continue  # a claim about other checks (compile alone, where the build asks for clippy too)
        if claimed.verdict != given.verdict:
            return f"forged: the row says {gate}={claimed.verdict}, the {gate} gate says {given.verdict}"
    return None


def _settle(entry: Entry, record: Record, current: str, config: BuildConfig, tallies: dict[str, Tally]) -> None:
    entry.lead, entry.why = gate_state(record, current, _gates_for(entry, config))
    if entry.why is None and config.max_clippy_lints is not None:
        entry.why = _over_lint_budget(record, config.max_clippy_lints)
    if entry.why is None:
        entry.why = _missing_tiers(record, config.compile_tiers)
    for tally in tallies.values():
        tally.add(record)


def _missing_tiers(record: Record, tiers: list[str]) -> str | None:
    """Why a compile pass does not count for a dataset built with more tiers: it was made
    without some of them (a row gated with compile alone, taken on trust)."""
    compiled = record.gates.get("compile")
    if compiled is None or compiled.verdict != "pass" or tiers == ["compile"]:
        return None
    made = set((compiled.details.get("tiers") or {}).keys()) | {"compile"}
    missing = [t for t in tiers if t not in made]
    return f"its compile verdict was made without the {', '.join(missing)} tier(s)" if missing else None


def _over_lint_budget(record: Record, budget: int) -> str | None:
    """Why the record is over the clippy lint budget, or None; a verdict without the clippy tier
    cannot be measured, so it is refused too (never let through unmeasured)."""
    compiled = record.gates.get("compile")
    tiers = (compiled.details.get("tiers") or {}) if compiled is not None else {}
    if "clippy" not in tiers:
        return "no clippy tier in its compile verdict (gated without it): max_clippy_lints cannot measure it"
    lints = clippy_lints(compiled.details) if compiled is not None else {}
    found = sum(lints.values())
    if found <= budget:
        return None
    worst = ", ".join(f"{name} x{n}" for name, n in sorted(lints.items(), key=lambda kv: (-kv[1], kv[0]))[:3])
    return f"over the clippy lint budget: {found} lints > max_clippy_lints={budget} ({worst})"


def _scan(inputs: Inputs, config: BuildConfig, tallies: dict[str, Tally], regating: bool) -> _Scan:
    """Pass one: every row read once, into an entry; repeated ids are input errors."""
    scan = _Scan()
    seen: dict[bool, dict[str, tuple[int, int]]] = {False: {}, True: {}}  # main / replay id -> first (source, line)
    for source, offset, parsed, row in inputs.scan():
        if isinstance(parsed, InputError):
            scan.errors.append(parsed)
            continue
        record, replay = parsed.record, inputs.is_replay(source)
        earlier = seen[replay].get(record.id)
        if earlier is not None:
            where = f"line {earlier[1]}" if earlier[0] == source else f"{inputs.paths[earlier[0]]}:{earlier[1]}"
            scan.errors.append(InputError(parsed.file, parsed.line, record.id, f"duplicate id (first seen on {where})"))
            continue
        seen[replay][record.id] = (source, parsed.line)
        if replay and record.id in seen[False]:
            scan.drops.append(Drop(record.id, "input", "id also used by a main input record"))
            continue
        current = record.content_hash()
        crate = sys.intern(record.crate) if record.crate else None  # one string per crate, not per record
        entry = Entry(record.id, crate, source, parsed.line, offset, bytes.fromhex(current), row, replay)
        scan.entries.append(entry)
        gates = _regate_gates(replay, config)
        gated = [record.gates.get(g) for g in gates]
        missing = any(r is None or r.content_hash != current for r in gated)
        if regating and (missing or (gates and not config.trust_row_verdicts)):
            entry.regate = True  # settled once the build has given it a verdict
        else:
            _settle(entry, record, current, config, tallies)
    return scan


def _regate(plan: BuildPlan, config: BuildConfig, regate: Regate, todo: list[Entry]) -> None:
    """Give the records whose verdicts are missing or stale a fresh one, a batch at a time."""
    for replay in (False, True):
        gates = _regate_gates(replay, config)
        stream = plan.inputs.fetch(e for e in todo if e.replay == replay)  # one read of the inputs
        while pairs := list(islice(stream, REGATE_BATCH)):
            after = regate([record for _, record in pairs], gates)
            for (entry, before), record in zip(pairs, after, strict=True):
                _settle(entry, record, entry.digest.hex(), config, plan.tallies)
                if (forged := _forged(before, record, gates, entry.digest.hex())) is not None:
                    entry.why = forged
                given = [r for g, r in record.gates.items() if r is not before.gates.get(g)]
                if entry.why is None and given:
                    plan.regated[entry.id] = [r.model_dump_json() for r in given]


def _presample_replay(replay: list[Entry], framework: int, config: BuildConfig) -> tuple[list[Entry], list[Drop]]:
    """Cut a large replay pool (Strandset has 191k rows) to a few times what can be drawn.

    Dedupe is the costly stage; a seeded sample of ``3 * needed + 100`` leaves ample room for
    records lost to dedupe and decontamination without hashing the whole pool.
    """
    targets = config.sizing.targets()
    framework = min(framework, sum(targets.values())) if targets is not None else framework
    cap = 3 * replay_count(framework, config.sizing.replay_share) + 100
    if len(replay) <= cap:
        return replay, []
    pool = sorted(replay, key=lambda e: e.id)
    random.Random(f"{config.seed}:replay-pool").shuffle(pool)
    reason = f"replay pool pre-sampled to {cap} before dedupe"
    kept = sorted(pool[:cap], key=lambda e: (e.source, e.line))
    return kept, [Drop(e.id, "sizing", reason) for e in pool[cap:]]


def _dedupe_and_decontaminate(plan: BuildPlan, config: BuildConfig, candidates: list[Entry]) -> list[Entry]:
    """Exact dedupe, near dedupe, decontamination: one more read of the candidates for their features."""
    candidates = sorted(candidates, key=lambda e: (e.source, e.line))  # input order: the first one wins
    prompts = load_eval_prompts(config.decontam.eval_prompts, shipped=config.decontam.shipped_suites)
    if not (config.dedupe.exact or config.dedupe.near or prompts):
        return candidates
    index = EvalIndex(prompts, config.decontam.ngram) if prompts else None
    hasher = MinHasher(config.dedupe.num_perm, config.dedupe.shingle) if config.dedupe.near else None
    keys: list[bytes] = []
    signatures = np.empty((len(candidates) if hasher else 0, config.dedupe.num_perm), dtype=np.uint32)
    contaminated: dict[int, str] = {}
    for row, (_, record) in enumerate(plan.inputs.fetch(candidates)):  # candidates are in input order
        if config.dedupe.exact:
            keys.append(exact_key(record))
        if hasher is not None:
            signatures[row] = hasher.of_code(record)
        reason = contamination(record, index, config.decontam.min_shared) if index is not None else None
        if reason is not None:
            contaminated[row] = reason
    rows = list(range(len(candidates)))
    if config.dedupe.exact:
        rows, dropped = first_of_each(keys, [e.id for e in candidates])
        plan.drops += dropped
    if hasher is not None:
        found = near_duplicates(signatures, rows, config.dedupe.threshold)
        plan.drops += [near_drop(candidates[i].id, candidates[j].id, sim) for i, (j, sim) in found.items()]
        rows = [i for i in rows if i not in found]
    plan.drops += [Drop(candidates[i].id, "contaminated", contaminated[i]) for i in rows if i in contaminated]
    return [candidates[i] for i in rows if i not in contaminated]


def assemble(config: BuildConfig, regate: Regate | None = None) -> BuildPlan:
    """Read, gate-filter, dedupe, decontaminate, size and split; ``regate(records, gates)`` first
    gives records whose verdicts are missing or stale a fresh one (the caller owns the gates)."""
    if regate is None and not config.trust_row_verdicts and any(_regate_gates(r, config) for r in (False, True)):
        raise ValueError(
            "rows' compile verdicts are claims to verify: give assemble a regate (the compile gate), "
            "or set trust_row_verdicts = true for inputs you gated yourself"
        )
    inputs = Inputs(config.inputs, config.replay)
    plan = BuildPlan(inputs, [], [], tallies={g: Tally(g) for g in config.required_gates})
    scan = _scan(inputs, config, plan.tallies, regate is not None)
    plan.errors, plan.drops = scan.errors, scan.drops
    todo = [e for e in scan.entries if e.regate]
    if regate is not None and todo:
        _regate(plan, config, regate, todo)

    main = [e for e in scan.entries if not e.replay]
    plan.funnel = [("inputs", len(main))]
    plan.funnel += [(f"{g} pass", sum(e.lead > k for e in main)) for k, g in enumerate(config.required_gates)]
    plan.drops += [_gate_drop(e.id, e.why, "required") for e in main if e.why is not None]
    main = [e for e in main if e.why is None]
    replay = [e for e in scan.entries if e.replay]
    plan.drops += [_gate_drop(e.id, e.why, "replay") for e in replay if e.why is not None]
    replay, dropped = _presample_replay([e for e in replay if e.why is None], len(main), config)
    plan.drops += dropped

    # Main records come first, so a replay record never displaces a framework record.
    candidates = _dedupe_and_decontaminate(plan, config, [*main, *replay])
    main_left = [e for e in candidates if not e.replay]
    plan.funnel.append(("deduped and decontaminated", len(main_left)))
    sized = size_per_crate(main_left, config.sizing.targets(), config.seed)
    plan.drops += sized.drops
    plan.funnel.append(("kept", len(sized.records)))
    chosen = list(sized.records)
    plan.shortfall = dict(sized.shortfall)
    if config.replay:
        replay_left = [e for e in candidates if e.replay]
        drawn = draw_replay(replay_left, replay_count(len(chosen), config.sizing.replay_share), config.seed)
        chosen += drawn.records
        plan.drops += drawn.drops
        plan.shortfall.update(drawn.shortfall)
    plan.train, plan.test = split(chosen, config.split.test, config.seed)
    return plan
