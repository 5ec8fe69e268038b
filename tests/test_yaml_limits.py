"""YAML that others wrote is read within bounds: too large, too deep or too many aliases is a clear
refusal, never a crashed process, wherever the app or the command line reads it."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ocenter import procedure
from ocenter.errors import UserError
from ocenter.i18n import t
from ocenter.verification.command import load_contract
from ocenter.yamlfiles import (
    MAX_YAML_ALIASES,
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    YamlLimitError,
    load_yaml,
    nesting_bound,
)

ROOT = Path(__file__).resolve().parent.parent

#: About 80 KB of nesting each: enough to overflow the C stack of an unbounded parse.
DEEP_TEXTS = {
    "flow-sequences": "[" * 80_000,
    "flow-mappings": "{a: " * 20_000,
    "one-pair-mappings": "[a: " * 20_000,
    "block-sequences": "- " * 40_000 + "x\n",
    "indented-mappings": "".join(" " * i + "k:\n" for i in range(400)),
    # A quoted "]" closes nothing: counting brackets while ignoring quotes would be fooled.
    "quoted-closers": 'a: ' + '["]", ' * 13_000,
}


def _billion_laughs(levels: int = 9) -> str:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels + 1):
        name, previous = chr(ord("a") + i), chr(ord("a") + i - 1)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_every_spec_and_contract_of_the_project_reads_as_before():
    files = [*ROOT.glob("specs/*.yaml"), *ROOT.glob("data_contracts/*.yaml"),
             ROOT / "ocenter" / "demo_mockup.yaml"]
    assert len(files) >= 4
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert load_yaml(text) == yaml.safe_load(text), path
        assert nesting_bound(text) <= MAX_YAML_DEPTH, path  # proven shallow without libyaml


@pytest.mark.parametrize("name", list(DEEP_TEXTS))
def test_deep_nesting_is_refused_with_the_limit(name):
    with pytest.raises(YamlLimitError) as refused:
        load_yaml(DEEP_TEXTS[name])
    assert refused.value.key == "yaml.too_deep"
    assert str(refused.value) == t("yaml.too_deep", "en", limit=MAX_YAML_DEPTH)


def test_nesting_up_to_the_limit_is_read_and_one_more_level_is_not():
    at_limit = "[" * MAX_YAML_DEPTH + "x" + "]" * MAX_YAML_DEPTH
    data = load_yaml(at_limit)
    for _ in range(MAX_YAML_DEPTH):
        (data,) = data
    assert data == "x"
    with pytest.raises(YamlLimitError) as refused:
        load_yaml("[" + at_limit + "]")
    assert refused.value.key == "yaml.too_deep"
    # The same through indentation: 64 nested mappings, then 65.
    nested = "".join(" " * i + "k:\n" for i in range(MAX_YAML_DEPTH)) + " " * MAX_YAML_DEPTH + "v\n"
    assert load_yaml(nested) is not None
    with pytest.raises(YamlLimitError):
        load_yaml("top:\n" + "".join(" " + line + "\n" for line in nested.splitlines()))


def test_a_file_over_the_size_limit_is_refused_by_its_size():
    text = "a: " + "x" * MAX_YAML_BYTES + "\n"
    with pytest.raises(YamlLimitError) as refused:
        load_yaml(text)
    assert refused.value.key == "yaml.too_large"
    assert str(refused.value) == (
        f"the file is too large: {len(text)} bytes; at most {MAX_YAML_BYTES} bytes are read"
    )


def test_a_20_mb_file_is_refused_without_being_parsed_and_memory_stays_bounded(tmp_path):
    """A fresh process reads a 20 MB YAML file the way `verify` and `contract` do; before the
    limit this cost a minute of CPU and 3.5 GB. Its peak memory is that of a small process."""
    big = tmp_path / "big.yaml"
    row = "- {kode: ABC, jumlah: 1, catatan: baris yang cukup panjang untuk contoh}\n"
    big.write_text(row * (20 * 1024 * 1024 // len(row)), encoding="utf-8")
    # The peak of this process alone (VmHWM): getrusage would also count the memory of the test
    # process it was started from, which the kernel carries over the exec.
    script = (
        "import re, sys\n"
        "from pathlib import Path\n"
        "from ocenter.yamlfiles import YamlLimitError, load_yaml, read_yaml_file\n"
        "text = Path(sys.argv[1]).read_text(encoding='utf-8')\n"  # the whole text in memory
        "for read in (lambda: load_yaml(text), lambda: read_yaml_file(Path(sys.argv[1]))):\n"
        "    try:\n"
        "        read()\n"
        "    except YamlLimitError as error:\n"
        "        print(error.key, error)\n"
        "status = Path('/proc/self/status').read_text()\n"
        "print(int(re.search(r'VmHWM:\\s+(\\d+) kB', status).group(1)) // 1024)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(big)], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    *refusals, peak_mb = done.stdout.splitlines()
    size = big.stat().st_size
    assert refusals == [f"yaml.too_large {t('yaml.too_large', 'en', size=size, limit=MAX_YAML_BYTES)}"] * 2
    assert int(peak_mb) < 300  # the 20 MB text, its size check and the interpreter


def test_billion_laughs_are_refused():
    with pytest.raises(YamlLimitError) as refused:
        load_yaml(_billion_laughs())
    assert refused.value.key == "yaml.too_many_nodes"
    assert str(refused.value) == t("yaml.too_many_nodes", "en", limit=MAX_YAML_NODES)
    assert load_yaml(_billion_laughs(levels=2))["c"][0][0] == ["lol"] * 9  # a few aliases are fine


def test_too_many_aliases_and_an_alias_inside_its_own_value_are_refused():
    many = "a: &a x\nb: [" + ", ".join(["*a"] * (MAX_YAML_ALIASES + 1)) + "]\n"
    with pytest.raises(YamlLimitError) as refused:
        load_yaml(many)
    assert refused.value.key == "yaml.too_many_aliases"
    with pytest.raises(YamlLimitError) as cycle:
        load_yaml("a: &a [1, *a]\n")
    assert cycle.value.key == "yaml.alias_cycle"
    assert str(cycle.value) == "the alias *a refers to a value that contains the alias itself"


def test_aliases_read_as_pyyaml_reads_them():
    text = "base: &base {x: 1, y: [a, b]}\nother:\n  <<: *base\n  y: [c]\nsame: *base\n"
    assert load_yaml(text) == yaml.safe_load(text)
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: *missing\n")
    with pytest.raises(yaml.YAMLError):
        load_yaml("a: 1\n---\nb: 2\n")


def test_a_deep_spec_typed_in_the_editor_is_refused_in_the_users_language():
    with pytest.raises(UserError) as refused:
        procedure.parse_spec("panels: " + "[" * 80_000)
    assert refused.value.key == "yaml.too_deep"
    assert refused.value.text("id") == t("yaml.too_deep", "id", limit=MAX_YAML_DEPTH)


def test_a_deep_contract_given_to_verify_or_to_the_odcs_import_is_refused(tmp_path):
    deep = tmp_path / "kontrak.yaml"
    deep.write_text("apiVersion: v3.0.0\nkind: DataContract\nschema: " + "[" * 80_000, encoding="utf-8")
    with pytest.raises(UserError) as refused:
        load_contract(deep)
    assert refused.value.key == "verify.contract_unreadable"
    assert refused.value.params["detail"] == t("yaml.too_deep", "en", limit=MAX_YAML_DEPTH)

    imported = subprocess.run([sys.executable, "-m", "ocenter", "contract", "import-odcs", str(deep)],
                              cwd=ROOT, capture_output=True, text=True)
    assert imported.returncode == 2  # a refusal, not a signal
    # The import says which file it could not read, then why.
    detail = t('yaml.too_deep', 'en', limit=MAX_YAML_DEPTH)
    assert imported.stderr.strip() == f"error: {t('odcs.not_yaml', 'en', detail=detail)}"


def _libyaml_depth(text: str) -> int:
    """How deeply libyaml itself nests ``text`` (events up to its first error, if any)."""
    depth = deepest = 0
    loader = yaml.CSafeLoader(text)
    try:
        while loader.check_event():
            event = loader.get_event()
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                deepest = max(deepest, depth)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    except yaml.YAMLError:
        pass
    finally:
        loader.dispose()
    return deepest


#: Pieces of YAML, tricky ones included (quotes, comments, tabs, other line breaks, properties).
PIECES = ["[", "]", "{", "}", ", ", ":", ": ", "- ", "? ", "'", '"', "#", " ", "\t", "\r", "\u2028",
          "\x85", "\ufeff", "a", "k: ", "- - ", "- k: ", "|\n", ">-\n", "&x ", "*x", "!t ", "\\",
          "---\n", "%", "''", '\\"', "[k: ", "{? ", "x y: ", "?", "[?", "[a:", ",", "x"]


@pytest.mark.parametrize("seed", range(4))
def test_the_pre_scan_never_counts_less_nesting_than_libyaml_finds(seed):
    """The pre-scan decides which texts libyaml may load at full speed; on thousands of
    generated texts its bound is never below the nesting libyaml actually builds."""
    rng = random.Random(seed)
    for _ in range(2_500):
        parts = []
        for _ in range(rng.randint(1, 40)):
            if rng.random() < 0.3:
                parts.append("\n" + " " * rng.randint(0, 12))
            parts.append(rng.choice(PIECES))
        text = "".join(parts)
        assert nesting_bound(text, 10**9) >= _libyaml_depth(text), repr(text)
