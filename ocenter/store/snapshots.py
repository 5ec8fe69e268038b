"""A commit read into a checked snapshot: specs and contracts parsed, validated and cached by object id."""

from __future__ import annotations

import yaml
from pydantic import ValidationError

from ocenter.contracts.model import contract_from_yaml
from ocenter.display.lifecycle import DashboardLifecycle, lifecycle_from_yaml, lifecycle_problems
from ocenter.display.spec import DashboardSpec, content_problems, spec_from_yaml
from ocenter.errors import said_of, validation_problems
from ocenter.i18n import Said, t
from ocenter.store.git import _one_line
from ocenter.store.models import StoreSnapshot, _Entry, _Parsed, _State
from ocenter.store.names import (
    _PARSE_CACHE_SIZE,
    _SNAPSHOT_CACHE_SIZE,
    LIFECYCLE_DIR,
    SPEC_DIR,
    _file_kind,
)
from ocenter.yamlfiles import MAX_YAML_BYTES, yaml_problem

#: The one mode a file in the store may have: a plain file, not executable.
_REGULAR_FILE = "100644"
#: What each other mode is, for the problem that names it.
_NOT_REGULAR = {
    "100755": "store.file_executable",
    "120000": "store.file_symlink",
    "160000": "store.file_submodule",
}


class Snapshots:
    """Snapshots derived from trees, cached by commit id; mixed into SpecStore."""

    def _evaluate(self, entries: dict[str, _Entry]) -> _State:
        """Parse and check every spec and contract listed in ``entries``, and name every file
        that does not belong in the store."""
        state = _State({}, {}, {}, {}, {}, {})
        self._apply(state, entries, list(entries), set())
        return state

    def _derive(self, base: StoreSnapshot | None, entries: dict[str, _Entry]) -> _State:
        """The state of ``entries``, re-reading only the files that differ from ``base``.

        A save on a store of 10,000 specs re-parses one file and re-checks only the specs that
        file can affect, instead of everything.
        """
        if base is None:
            return self._evaluate(entries)
        old = base._entries
        changed = [p for p in old.keys() | entries.keys() if old.get(p) != entries.get(p)]
        state = _State(
            dict(base.specs),
            dict(base.contracts),
            dict(base.problems),
            dict(base._spec_oids),
            dict(base._contract_oids),
            dict(base.lifecycle),
        )
        self._apply(state, entries, changed, set(base.specs))
        return state

    def _apply(self, state: _State, entries: dict[str, _Entry], paths: list[str], known: set[str]) -> None:
        """Bring ``state`` up to date for ``paths`` (as they are in ``entries``), then re-check
        the specs those files can affect. ``known`` holds the spec ids already checked."""
        wanted: dict[str, tuple[str, str, str]] = {}
        recheck: set[str] = set()
        touched_contracts: set[str] = set()
        touched_lifecycle: set[str] = set()
        for path in paths:
            file_kind, stem = _file_kind(path)
            state.problems.pop(path, None)
            if file_kind == "spec":
                state.specs.pop(stem, None)
                state.spec_oids.pop(stem, None)
                recheck.add(stem)
            elif file_kind == "contract":
                state.contracts.pop(stem, None)
                state.contract_oids.pop(stem, None)
                touched_contracts.add(stem)
            elif file_kind == "lifecycle":
                state.lifecycle.pop(stem, None)
                touched_lifecycle.add(stem)
            entry = entries.get(path)
            if file_kind is None or entry is None or entry[1] == "tree":
                continue
            mode, _, oid = entry
            if file_kind == "outside":
                state.problems[path] = [Said("store.file_outside")]
            elif file_kind == "stray":
                state.problems[path] = [Said("check.stray_file")]
            elif mode != _REGULAR_FILE:
                state.problems[path] = [Said(_NOT_REGULAR.get(mode, "store.file_not_regular"), mode=mode)]
            else:
                wanted[path] = (file_kind, stem, oid)

        results: dict[tuple[str, str], _Parsed] = {}
        with self._lock:
            for file_kind, _, oid in wanted.values():
                hit = self._parsed.get((file_kind, oid))
                if hit is not None:
                    results[(file_kind, oid)] = hit
        missing = {(k, o) for k, _, o in wanted.values() if (k, o) not in results}
        if missing:
            # A file over the size limit is judged by its size alone: never read into memory.
            sizes = self._blob_sizes({o for _, o in missing})
            small = {o for _, o in missing if sizes[o] <= MAX_YAML_BYTES}
            blobs = self._cat_blobs(small) if small else {}
            for key in missing:
                if key[1] in blobs:
                    results[key] = _parse(key[0], blobs[key[1]])
                else:
                    too_large = t("yaml.too_large", "en", size=sizes[key[1]], limit=MAX_YAML_BYTES)
                    results[key] = _Parsed(None, (too_large,))
                self._parsed_put(key, results[key])

        for path, (file_kind, stem, oid) in sorted(wanted.items()):
            parsed = results[(file_kind, oid)]
            if parsed.errors or parsed.model is None:
                state.problems[path] = list(parsed.errors)
            elif parsed.model.id != stem:
                state.problems[path] = [Said("check.name_not_id", stem=stem, id=parsed.model.id)]
            elif isinstance(parsed.model, DashboardSpec):
                state.specs[stem], state.spec_oids[stem] = parsed.model, oid
            elif isinstance(parsed.model, DashboardLifecycle):
                state.lifecycle[stem] = parsed.model
            else:
                state.contracts[stem], state.contract_oids[stem] = parsed.model, oid

        if touched_contracts and known:
            recheck.update(
                spec_id
                for spec_id, spec in state.specs.items()
                if not touched_contracts.isdisjoint(spec.datasets)
            )
        elif not known:
            recheck = set(state.specs)
        if not known.issuperset(state.specs):
            state.specs = dict(sorted(state.specs.items()))  # the same order as a fresh read
        if touched_contracts:
            state.contracts = dict(sorted(state.contracts.items()))
        if touched_lifecycle:
            state.lifecycle = dict(sorted(state.lifecycle.items()))
        self._check_content(state, recheck)
        self._check_lifecycle(state, touched_lifecycle | (recheck & state.lifecycle.keys()))

    @staticmethod
    def _check_lifecycle(state: _State, dashboard_ids: set[str]) -> None:
        # Cheap (no contract is parsed), so not cached: only the step-7 filters are checked.
        for dashboard_id in dashboard_ids:
            lifecycle = state.lifecycle.get(dashboard_id)
            if lifecycle is None:  # (a record that does not parse keeps its parse errors)
                continue
            path = f"{LIFECYCLE_DIR}/{dashboard_id}.yaml"
            state.problems.pop(path, None)
            spec = state.specs.get(dashboard_id)
            used = {d: state.contracts[d] for d in (spec.datasets if spec else []) if d in state.contracts}
            problems = lifecycle_problems(lifecycle, spec, used)
            if problems:
                state.problems[path] = problems

    def _check_content(self, state: _State, spec_ids: set[str]) -> None:
        # Content problems depend only on the spec and the contracts it reads, so they are
        # cached by those blob ids: a save re-checks only what it touched.
        keys = {}
        for spec_id in spec_ids:
            spec = state.specs.get(spec_id)
            if spec is not None:  # (a spec that does not parse keeps its parse errors)
                state.problems.pop(f"{SPEC_DIR}/{spec_id}.yaml", None)
                used = tuple((d, state.contract_oids.get(d)) for d in spec.datasets)
                keys[spec_id] = (state.spec_oids[spec_id], used)
        with self._lock:
            found = {spec_id: self._checked.get(key) for spec_id, key in keys.items()}
        fresh = {}
        for spec_id, hit in found.items():
            if hit is None:
                spec = state.specs[spec_id]
                used = {d: state.contracts[d] for d in spec.datasets if d in state.contracts}
                found[spec_id] = fresh[keys[spec_id]] = content_problems(spec, used)
        if fresh:
            with self._lock:
                if len(self._checked) + len(fresh) > _PARSE_CACHE_SIZE:
                    self._checked.clear()
                self._checked.update(fresh)
        for spec_id, spec_problems in found.items():
            if spec_problems:
                state.problems[f"{SPEC_DIR}/{spec_id}.yaml"] = list(spec_problems)

    @staticmethod
    def _new_problems(before: dict[str, list[str]], after: dict[str, list[str]]) -> str:
        """Problems in ``after`` that ``before`` did not have, as one readable text."""
        new = [
            f"{path}: {msg}"
            for path, msgs in sorted(after.items())
            for msg in msgs
            if msg not in before.get(path, ())
        ]
        return "; ".join(new)

    @staticmethod
    def _reasons(problems: dict[str, list[str]]) -> str:
        return "; ".join(f"{p}: {msg}" for p, msgs in sorted(problems.items()) for msg in msgs)

    @staticmethod
    def _make_snapshot(commit: str, tree: str, entries: dict[str, _Entry], state: _State) -> StoreSnapshot:
        # model_construct: the models inside are validated already; re-validating 10,000 specs
        # would cost seconds for nothing.
        snap = StoreSnapshot.model_construct(
            commit=commit,
            tree=tree,
            specs=state.specs,
            contracts=state.contracts,
            lifecycle=state.lifecycle,
            problems=dict(sorted(state.problems.items())),
        )
        snap._entries = entries
        snap._spec_oids = state.spec_oids
        snap._contract_oids = state.contract_oids
        return snap

    def _cache_get(self, commit: str) -> StoreSnapshot | None:
        with self._lock:
            snap = self._snapshots.get(commit)
            if snap is not None:
                self._snapshots.move_to_end(commit)
            return snap

    def _cache_put(self, commit: str, snap: StoreSnapshot) -> None:
        with self._lock:
            self._snapshots[commit] = snap
            self._snapshots.move_to_end(commit)
            while len(self._snapshots) > _SNAPSHOT_CACHE_SIZE:
                self._snapshots.popitem(last=False)

    def _parsed_put(self, key: tuple[str, str], parsed: _Parsed) -> None:
        with self._lock:
            if len(self._parsed) >= _PARSE_CACHE_SIZE:
                self._parsed.clear()
            self._parsed[key] = parsed


_READERS = {"spec": spec_from_yaml, "contract": contract_from_yaml, "lifecycle": lifecycle_from_yaml}


def _parse(kind: str, data: bytes) -> _Parsed:
    if len(data) > MAX_YAML_BYTES:
        return _Parsed(None, (t("yaml.too_large", "en", size=len(data), limit=MAX_YAML_BYTES),))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _Parsed(None, ("the file is not UTF-8 text",))
    try:
        model = _READERS[kind](text)
    except ValidationError as exc:
        return _Parsed(None, tuple(validation_problems(exc)))
    except yaml.YAMLError as exc:
        return _Parsed(None, (Said.joined("", ["YAML: ", yaml_problem(exc)]),))
    except ValueError as exc:
        said = said_of(exc)
        return _Parsed(None, (said if isinstance(said, Said) else _one_line(exc),))
    return _Parsed(model, ())
