"""Every reader survives every line: a hostile JSON row is an input error for that row (file, line,
id), the good rows around it are still processed, and no command dies (issue 20, item 3).

Each hostile line has a near twin that is fine and must be read as a record.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from data_fixtures import distinct_code, gated, row, write_records
from test_cli_check import rustgate

from arcwright_train.gated import DatasetError, load_gated
from rustgate import safejson
from rustgate.data.formats import read_records
from rustgate.data.formats import write_records as write_table
from rustgate.data.importers import import_rows
from rustgate.data.jsonl import LoadedRecord, parse_line
from rustgate.eval.suite import load_suite
from rustgate.hook import schema_findings
from rustgate.records import Record

HEAD = '{"id": "%s", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "%s"}]'


def _line(rid: str, meta: str | None = None, content: str = "a") -> str:
    return HEAD % (rid, content) + (f', "meta": {{"k": {meta}}}' if meta is not None else "") + "}"


# (name, hostile line, what its error says, the near twin that must read)
PAIRS = [
    ("deep", _line("deep", "[" * 5000 + "]" * 5000), "nested", _line("deep", "[" * 40 + "]" * 40)),
    ("deep-jiter-ok", _line("deep2", "[" * 100 + "]" * 100), "nested", _line("deep2", "[" * 60 + "]" * 60)),
    ("deep-objects", _line("deepo", '{"a":' * 3000 + "1" + "}" * 3000), "nested",
     _line("deepo", '{"a":' * 30 + "1" + "}" * 30)),
    ("huge-int", _line("int", "9" * 5000), "digits", _line("int", "9" * 18)),
    ("mid-int", _line("int2", "9" * 2000), "digits", _line("int2", "-" + "9" * 300)),
    ("nan", _line("nan", "NaN"), "NaN", _line("nan", "0.5")),
    ("infinity", _line("inf", "-Infinity"), "Infinity", _line("inf", "-1.5e300")),
    ("overflow-float", _line("big", "1e999"), "out of range", _line("big", "1e99")),
    ("lone-surrogate", _line("sur", None, "\\ud800 x"), "surrogate", _line("sur", None, "\\ud83d\\ude00 x")),
    ("lone-low-surrogate", _line("low", '"\\udc00"'), "surrogate", _line("low", '"\\u00e9"')),
    ("brackets-in-strings", _line("str", '"' + "[" * 200 + '"', "x"), None, None),
]


@pytest.mark.parametrize(("name", "hostile", "says", "twin"), PAIRS, ids=[p[0] for p in PAIRS])
def test_each_hostile_line_is_its_own_error_and_its_twin_reads(
    name: str, hostile: str, says: str | None, twin: str | None
) -> None:
    parsed = parse_line(hostile.encode(), "d.jsonl", 7)
    if says is None:  # brackets inside a string are text, not nesting: this one must read
        assert isinstance(parsed, LoadedRecord), parsed
        return
    assert not isinstance(parsed, LoadedRecord), f"{name} was read as a record"
    rid = json.loads(twin or "{}")["id"]  # named although the line could not be read
    assert str(parsed).startswith(f"d.jsonl:7: {rid}: ") and says in str(parsed), str(parsed)
    assert twin is not None
    good = parse_line(twin.encode(), "d.jsonl", 8)
    assert isinstance(good, LoadedRecord), good
    good.record.content_hash()  # hashable and writable back out as strict JSON
    json.loads(json.dumps(good.record.to_row(with_gates=True), allow_nan=False))


def test_safe_loads_bounds_what_json_loads_lets_through() -> None:
    for text in ("[" * 100_000, '{"a": NaN}', "[1e400]", "9" * 5000, '["\\udfff"]', b'"\xff"'):
        with pytest.raises(safejson.UnsafeJSON):
            safejson.loads(text)
    assert safejson.loads('{"a": [1, 2.5, "\\ud83d\\ude00", null, true]}') == {"a": [1, 2.5, "😀", None, True]}
    assert safejson.nesting_depth('{"a": "[[[[", "b": [[1]]}') == 3


def test_python_values_that_are_not_json_are_refused_in_a_record() -> None:
    base = row("r", distinct_code(1))
    for meta in ({"k": float("nan")}, {"k": {1, 2}}, {"k": b"x"}, {"k": "\udc80"}, {1: "x"}):
        with pytest.raises(ValueError):
            Record.model_validate({**base, "meta": meta})
    assert Record.model_validate({**base, "meta": {"k": [1.5, "é", {"n": None}]}}).meta["k"][0] == 1.5


def _mixed(path: Path) -> tuple[Path, list[str]]:
    """Good records around every hostile line; returns the file and the good ids."""
    good = [row(f"good-{i}", distinct_code(4000 + i)) for i in range(3)]
    lines = [json.dumps(good[0])] + [p[1] for p in PAIRS if p[2]] + [json.dumps(good[1]), json.dumps(good[2])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, [g["id"] for g in good]


HOSTILE_LINES = range(2, 2 + sum(1 for p in PAIRS if p[2]))


def test_the_hook_names_every_hostile_line_and_keeps_the_good(tmp_path: Path) -> None:
    data, good = _mixed(tmp_path / "d.jsonl")
    loaded, findings = schema_findings([data])
    assert [item.record.id for item in loaded] == good
    assert sorted(f.line for f in findings) == list(HOSTILE_LINES)
    assert all(str(f).startswith(f"{data}:") for f in findings)


def test_check_reports_hostile_lines_and_checks_the_rest(warm_cache: Path, tmp_path: Path) -> None:
    data, good = _mixed(tmp_path / "d.jsonl")
    report, out = tmp_path / "r.json", tmp_path / "out.jsonl"
    ledger = str(tmp_path / "l.db")
    done = rustgate("check", str(data), "--report-json", str(report), "-o", str(out), "--ledger", ledger)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    for number in HOSTILE_LINES:
        assert f"{data}:{number}: " in done.stderr
    verdicts = {r["id"]: r["verdict"] for r in json.loads(report.read_text())["records"]}
    assert verdicts == dict.fromkeys(good, "pass")
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == good


def test_report_and_import_go_on_past_hostile_lines(tmp_path: Path) -> None:
    data, good = _mixed(tmp_path / "d.jsonl")
    done = rustgate("report", str(data), "--markdown-only")
    assert "Traceback" not in done.stderr, done.stderr
    assert f"{data}:2: deep: nested 5002 levels deep" in done.stderr
    assert "rustgate report: 3 records" in done.stdout
    alpaca = tmp_path / "alpaca.jsonl"
    rows = [json.dumps({"instruction": "Write a fn", "output": "```rust\nfn main() {}\n```"})]
    rows += ['{"instruction": "x", "output": ' + "[" * 5000 + "]" * 5000 + "}", '{"instruction": "y", "output": NaN}']
    alpaca.write_text("\n".join(rows) + "\n")
    result = import_rows(alpaca)
    assert len(result.records) == 1
    assert [e.line for e in result.errors] == [2, 3]
    done = rustgate("import", str(alpaca), str(tmp_path / "imported.jsonl"))
    assert "Traceback" not in done.stderr and (tmp_path / "imported.jsonl").is_file(), done.stderr


def test_a_parquet_meta_column_too_deep_is_that_rows_error(tmp_path: Path) -> None:
    records = [Record.model_validate(row(f"p-{i}", distinct_code(i))) for i in range(3)]
    table = tmp_path / "t.parquet"
    write_table(table, records)
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = pq.read_table(table).to_pylist()
    rows[1]["meta"] = '{"k": ' + "[" * 5000 + "]" * 5000 + "}"
    rows[2]["meta"] = '{"k": NaN}'
    pq.write_table(pa.Table.from_pylist(rows, schema=pq.read_schema(table)), table)
    result = read_records(table)
    assert [r.record.id for r in result.records] == ["p-0"]
    assert [(e.line, e.record_id) for e in result.errors] == [(2, "p-1"), (3, "p-2")]


def test_build_reads_past_hostile_lines(tmp_path: Path) -> None:
    records = [gated(f"b-{i}", distinct_code(6000 + i)) for i in range(6)]
    write_records(tmp_path / "gated.jsonl", records)
    with open(tmp_path / "gated.jsonl", "a", encoding="utf-8") as handle:
        handle.write("\n".join(p[1] for p in PAIRS if p[2]) + "\n")
    (tmp_path / "build.toml").write_text(
        '[build]\ninputs = ["gated.jsonl"]\noutput = "out"\nrequired_gates = ["compile"]\nseed = 1\n'
        "[build.split]\ntest = 0.5\n"
    )
    done = rustgate("build", str(tmp_path / "build.toml"))
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert f"{tmp_path / 'gated.jsonl'}:7: " in done.stderr
    written = (tmp_path / "out" / "train.jsonl").read_text().splitlines()
    written += (tmp_path / "out" / "test.jsonl").read_text().splitlines()
    assert len(written) == 6


def test_eval_suite_and_trainer_name_hostile_lines(tmp_path: Path) -> None:
    suite = tmp_path / "suite.jsonl"
    suite.write_text(
        '{"id": "s1", "crate": "axum", "prompt": "Write a handler"}\n'
        '{"id": "s2", "crate": "axum", "prompt": "x", "meta": ' + "[" * 5000 + "]" * 5000 + "}\n"
        '{"id": "s3", "crate": "axum", "prompt": "y", "meta": {"w": Infinity}}\n'
    )
    loaded = load_suite(suite)
    assert [p.id for p in loaded.prompts] == ["s1"]
    assert [e.line for e in loaded.errors] == [2, 3]
    data, _ = _mixed(tmp_path / "train.jsonl")
    with pytest.raises(DatasetError) as refused:
        load_gated(data, ["compile"])
    assert f"{data}:2: " in str(refused.value)
