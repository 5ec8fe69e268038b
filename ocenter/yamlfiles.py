"""YAML that others wrote (specs, data contracts, ODCS files), read within fixed bounds.

Every spec and contract the app or the command line reads comes through :func:`load_yaml`; only
the message catalogue, which is ours, is read without it. libyaml is fast but not built for
hostile input: PyYAML's C composer recurses once per level of nesting, so a file of a few tens
of thousands of ``[`` overflows the C stack and kills the whole process (signal 11, not an
exception); libyaml's own bookkeeping of possible keys grows with the nesting too (250,000
``[`` take more than two minutes to tokenize, 100,000 take 10 GB to parse); and a few lines of
aliases (``*name``) expand into billions of nodes for whatever walks the result. So:

1. The size is checked first: at most :data:`MAX_YAML_BYTES` per file.
2. A pre-scan in plain Python, one loop over the lines and no recursion, bounds how deeply the
   text can possibly nest (below). A text it proves shallow, without aliases and small enough
   that its node count is bounded too, is loaded by libyaml's full-speed C loader: that is
   every spec and contract the app writes.
3. Any other text is composed here from libyaml's event stream, one event at a time and
   without recursion, counting the nesting, the aliases and the nodes the aliases expand to;
   reading stops at the first level, alias or node over its limit. libyaml's parser is a
   loop with explicit stacks that produces one event at a time, so it never holds more than
   :data:`MAX_YAML_DEPTH` levels plus the one line it looks ahead. A text whose bound exceeds
   :data:`_PRESCAN_CEILING` is refused by the pre-scan without libyaml seeing it at all.

Why the pre-scan's bound holds: every flow collection starts with a ``[`` or ``{`` character,
except the one-pair mapping a flow sequence may hold (``[a: b]``), at most one per ``[``; so the
number of ``{`` plus twice the number of ``[`` bounds the flow nesting. A block collection is
opened only by a token at a new, greater column (libyaml's indentation stack): a block entry
``- ``, a key ``? ``, a ``: `` or a key written before a ``: `` on the same line, each at the
start of a word (after a space, a tab or the start of a line); a sequence written without
indentation under a mapping key adds at most one level per column. So twice the number of
such columns bounds the block nesting. Quoting and comments can only make these counts larger
than the truth, never smaller. (tests/test_yaml_limits.py checks the bound against libyaml's
own events on many generated texts.)
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from yaml.composer import ComposerError
from yaml.events import (
    AliasEvent,
    DocumentEndEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ocenter.errors import UserError
from ocenter.i18n import Said, Term

#: The largest spec or contract file read, in bytes (a real one is a few kilobytes).
MAX_YAML_BYTES = 1_048_576
#: How many lists and mappings may be nested inside each other (a spec needs about six).
MAX_YAML_DEPTH = 64
#: How many nodes a file may hold once every alias is expanded: the "billion laughs" bound.
MAX_YAML_NODES = 200_000
#: How many aliases (``*name``) a file may use.
MAX_YAML_ALIASES = 1_000
#: Beyond this possible nesting the pre-scan refuses a file without handing it to libyaml.
_PRESCAN_CEILING = 4_096

#: libyaml's C loader, for texts the pre-scan has proven safe.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# libyaml's line breaks: a column restarts after each, exactly as libyaml counts them.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
# The first character of a word: after a space, a tab, a byte order mark or the line's start.
_WORD_START = re.compile("(?:^|(?<=[ \t\ufeff]))[^ \t\ufeff]")
# A block entry or key indicator: "-" or "?" starting a word, before a blank or the line's end.
_BLOCK_INDICATOR = re.compile("(?:^|(?<=[ \t\ufeff]))[-?](?=[ \t]|$)")


class YamlLimitError(UserError, ValueError):
    """A YAML text over one of the limits above; nothing of it was built.

    A ``ValueError`` too, so code that reports a file's bad content reports this the same way.
    """


def load_yaml(text: str) -> object:
    """The data of one YAML document, read with libyaml's safe loader within the limits above.

    Raises ``YamlLimitError`` for a text over a limit and ``yaml.YAMLError`` for one that is not
    YAML; never recurses more than :data:`MAX_YAML_DEPTH` levels, whatever the text.
    """
    size = _utf8_size(text)
    if size > MAX_YAML_BYTES:
        raise YamlLimitError("yaml.too_large", size=size, limit=MAX_YAML_BYTES)
    bound = nesting_bound(text, _PRESCAN_CEILING)
    if bound > _PRESCAN_CEILING:
        raise YamlLimitError("yaml.too_deep", limit=MAX_YAML_DEPTH)
    if bound <= MAX_YAML_DEPTH and "*" not in text and 2 * len(text) < MAX_YAML_NODES:
        # No alias, at most about one node per character: nothing here can exceed a limit.
        return yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 - a safe loader, the C one
    return _load_counted(text)


#: PyYAML's words for the problems people make most, and what the catalogue calls them.
_YAML_PROBLEMS = (
    ("mapping values are not allowed", "yaml.problem.mapping_values"),
    ("could not find expected ':'", "yaml.problem.expected_colon"),
    ("did not find expected key", "yaml.problem.expected_key"),
    ("'\\t' that cannot start any token", "yaml.problem.tab"),
    ("tab character that violates indentation", "yaml.problem.tab"),
    ("expected <block end>", "yaml.problem.block_end"),
    ("found unexpected end of stream", "yaml.problem.quote_end"),
    ("found undefined alias", "yaml.problem.alias"),
)


def yaml_problem(error: yaml.YAMLError) -> Said | str:
    """Where YAML could not be read and why, "line 3, column 7: ...", in the reader's language
    for the usual mistakes (else PyYAML's own words)."""
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    key = next((key for words, key in _YAML_PROBLEMS if words in problem), None)
    said: Said | str = Said(key) if key else problem
    mark = getattr(error, "problem_mark", None)
    if mark is None:
        return said
    return Said("yaml.syntax", line=mark.line + 1, column=mark.column + 1, problem=said)


def load_yaml_mapping(text: str, what: str) -> dict:
    """``text`` read by ``load_yaml`` (within the limits), which must be a mapping: the shape of
    every record the store keeps. ``what`` ("spec", "lifecycle" or "contract") names it in the
    refusal, a ``ValueError`` whose argument is the message (``i18n.Said``)."""
    data = load_yaml(text)
    if not isinstance(data, dict):
        raise ValueError(Said("check.not_a_mapping", what=Term(f"check.what.{what}")))
    return data


def dump_record(record: object) -> str:
    """A stored record (a pydantic model with an ``id``) as reviewable YAML: its id first, then
    its keys in declaration order, defaults left out."""
    data = record.model_dump(mode="json", exclude_defaults=True)  # type: ignore[attr-defined]
    data = {"id": record.id, **data}  # type: ignore[attr-defined]
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def read_yaml_file(path: Path) -> str:
    """The text of a YAML file, refused before it is read when it is over the size limit."""
    path = Path(path)
    with path.open("rb") as handle:
        data = handle.read(MAX_YAML_BYTES + 1)
        if len(data) > MAX_YAML_BYTES:
            size = max(path.stat().st_size, len(data))
            raise YamlLimitError("yaml.too_large", size=size, limit=MAX_YAML_BYTES)
    return data.decode("utf-8")


def nesting_bound(text: str, ceiling: int = _PRESCAN_CEILING) -> int:
    """An upper bound of how deeply ``text`` nests lists and mappings, without parsing it.

    Stops counting once the bound passes ``ceiling``. See the module's description for why the
    bound holds whatever the text contains.
    """
    flow = 2 * text.count("[") + text.count("{")
    if flow > ceiling:
        return flow
    columns: set[int] = set()
    for line in _LINE_BREAK.split(text):
        # Where a key can start: any word up to the last value indicator, or a block indicator.
        last_colon = len(line) - 1 if line.endswith(":") else max(line.rfind(": "), line.rfind(":\t"))
        if last_colon >= 0:
            columns.update(m.start() for m in _WORD_START.finditer(line, 0, last_colon + 1))
        if "-" in line or "?" in line:
            columns.update(m.start() for m in _BLOCK_INDICATOR.finditer(line, max(last_colon, 0)))
        if flow + 2 * len(columns) > ceiling:
            break
    return flow + 2 * len(columns)


def _utf8_size(text: str) -> int:
    if len(text) * 4 <= MAX_YAML_BYTES:
        return len(text)  # at most four bytes a character: certainly within the limit
    return len(text.encode("utf-8", "surrogatepass"))


def _load_counted(text: str) -> object:
    """Compose ``text`` from libyaml's events without recursion, within every limit, then
    construct its data (the constructor recurses, but only as deep as the limit allows)."""
    loader = _FAST_LOADER(text)
    try:
        root = _compose(loader)
        return None if root is None else loader.construct_document(root)
    finally:
        loader.dispose()


class _Open:
    """A list or mapping being composed: its node, where its count started, its height so far."""

    __slots__ = ("anchor", "height", "key", "node", "start")

    def __init__(self, node: Node, anchor: str | None, start: int) -> None:
        self.node, self.anchor, self.start = node, anchor, start
        self.height = 1
        self.key: Node | None = None


def _compose(loader) -> Node | None:  # noqa: ANN001 - a yaml loader (CParser and Resolver)
    """The root node of the one document of ``loader``'s stream, or None for an empty stream.

    The same nodes PyYAML's composer builds, with an explicit stack instead of recursion.
    ``nodes`` counts every node of the expanded document (an alias counts as many nodes as the
    node it names); an anchored node's size and height are known when its alias is met, since
    an alias may name only a node already complete (one naming an enclosing node is refused:
    the data would contain itself).
    """
    loader.get_event()  # the stream's start
    if loader.check_event(StreamEndEvent):
        loader.get_event()
        return None
    loader.get_event()  # the document's start
    anchors: dict[str, tuple[Node, int, int] | None] = {}  # name -> (node, size, height)
    stack: list[_Open] = []
    nodes = aliases = 0
    root: Node | None = None

    def attach(node: Node, height: int) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        parent = stack[-1]
        parent.height = max(parent.height, height + 1)
        if isinstance(parent.node, SequenceNode):
            parent.node.value.append(node)
        elif parent.key is None:
            parent.key = node
        else:
            parent.node.value.append((parent.key, node))
            parent.key = None

    def claim(event) -> None:  # noqa: ANN001 - a yaml event
        """Name the node ``event`` starts; no alias may use it before it is complete."""
        if event.anchor is None:
            return
        if event.anchor in anchors:
            raise ComposerError(None, None, f"found duplicate anchor {event.anchor!r}",
                                event.start_mark)
        anchors[event.anchor] = None

    while not loader.check_event(DocumentEndEvent):
        event = loader.get_event()
        if isinstance(event, AliasEvent):
            if event.anchor not in anchors:
                raise ComposerError(None, None, f"found undefined alias {event.anchor!r}",
                                    event.start_mark)
            named = anchors[event.anchor]
            if named is None:
                raise YamlLimitError("yaml.alias_cycle", alias=event.anchor)
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                raise YamlLimitError("yaml.too_many_aliases", limit=MAX_YAML_ALIASES)
            node, size, height = named
            nodes += size
            if nodes > MAX_YAML_NODES:
                raise YamlLimitError("yaml.too_many_nodes", limit=MAX_YAML_NODES)
            if len(stack) + height > MAX_YAML_DEPTH:
                raise YamlLimitError("yaml.too_deep", limit=MAX_YAML_DEPTH)
            attach(node, height)
        elif isinstance(event, ScalarEvent):
            nodes += 1
            if nodes > MAX_YAML_NODES:
                raise YamlLimitError("yaml.too_many_nodes", limit=MAX_YAML_NODES)
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(ScalarNode, event.value, event.implicit)
            node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
            claim(event)
            if event.anchor is not None:
                anchors[event.anchor] = (node, 1, 0)
            attach(node, 0)
        elif isinstance(event, (SequenceStartEvent, MappingStartEvent)):
            if len(stack) >= MAX_YAML_DEPTH:
                raise YamlLimitError("yaml.too_deep", limit=MAX_YAML_DEPTH)
            nodes += 1
            if nodes > MAX_YAML_NODES:
                raise YamlLimitError("yaml.too_many_nodes", limit=MAX_YAML_NODES)
            kind = SequenceNode if isinstance(event, SequenceStartEvent) else MappingNode
            tag = event.tag
            if tag is None or tag == "!":
                tag = loader.resolve(kind, None, event.implicit)
            node = kind(tag, [], event.start_mark, None, flow_style=event.flow_style)
            claim(event)
            stack.append(_Open(node, event.anchor, nodes - 1))
        elif isinstance(event, (SequenceEndEvent, MappingEndEvent)):
            done = stack.pop()
            done.node.end_mark = event.end_mark
            if done.anchor is not None:
                anchors[done.anchor] = (done.node, nodes - done.start, done.height)
            attach(done.node, done.height)
    loader.get_event()  # the document's end
    if not loader.check_event(StreamEndEvent):
        event = loader.get_event()
        raise ComposerError("expected a single document in the stream", None,
                            "but found another document", event.start_mark)
    loader.get_event()
    return root
