"""The one message catalogue: complete in both languages and covering every key the code uses."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from ocenter.i18n import LANGUAGES, catalogue, t

ROOT = Path(__file__).resolve().parent.parent
# A literal key passed to t()/tr() or to a UserError and its subclasses.
KEY_USE = re.compile(
    r"""\b(?:tr|t|UserError|NotFound|Conflict|PermissionDenied|IntegrityError)\(\s*"([a-z_]+\.[a-z0-9_.-]+)\""""
)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_both_languages_with_the_same_placeholders():
    for key, texts in catalogue().items():
        assert set(texts) == set(LANGUAGES), key
        assert _placeholders(texts["id"]) == _placeholders(texts["en"]), key


def test_every_literal_key_in_the_code_exists():
    sources = [*ROOT.glob("ocenter/**/*.py"), *ROOT.glob("pages/*.py"), ROOT / "Home.py"]
    used = {key for path in sources for key in KEY_USE.findall(path.read_text(encoding="utf-8"))}
    missing = sorted(used - set(catalogue()))
    assert not missing, missing
    assert len(used) > 150  # the scan really found the keys


def test_every_role_level_status_and_step_has_words():
    from ocenter.accounts.levels import Level, Role, ScopeKind
    from ocenter.models import RequestStatus, SubmissionStatus
    from ocenter.navigation import PAGES

    keys = (
        [f"role.{r.value}" for r in Role] + [f"level.{lv.value}" for lv in Level]
        + [f"scope.{s.value}" for s in ScopeKind] + [f"status.{s.value}" for s in RequestStatus]
        + [f"submission.{s.value}" for s in SubmissionStatus]
        + [f"step.{n}.caption" for n in range(1, 11)]
        + [p.title_key for p in PAGES] + [p.section_key for p in PAGES]
    )
    assert [k for k in keys if k not in catalogue()] == []


def test_indonesian_is_the_default():
    assert t("login.title") == "Masuk"
    assert t("login.title", "en") == "Log in"


def test_a_key_read_before_the_whole_catalogue_is_the_same_text():
    # A short command parses only the files holding its area's keys; every key must read the
    # same that way as from the whole catalogue, and an unknown key is still a KeyError.
    from ocenter import i18n

    whole = catalogue()
    try:
        for key, texts in whole.items():
            i18n.catalogue.cache_clear()
            i18n._file_messages.cache_clear()
            assert t(key, "en") == texts["en"] and t(key) == texts["id"], key
            assert i18n.catalogue.cache_info().currsize == 0, key  # the whole was not needed
        i18n._file_messages.cache_clear()
        t("verify.summary.valid", rows="1")
        assert i18n._file_messages.cache_info().currsize == 1  # verification.yaml alone
        with pytest.raises(KeyError):
            t("verify.no_such_message")
    finally:
        i18n.catalogue.cache_clear()


def test_every_action_the_log_records_has_words_and_an_unknown_one_is_refused(demo_ctx):
    """The log page shows each entry's action in the reader's language: ``events.record``
    refuses an action code the catalogue does not name, so a new one cannot slip by."""
    from sqlmodel import Session, select

    from ocenter.events import action_text, outcome_text, record
    from ocenter.models import Event

    with Session(demo_ctx.engine) as session:
        recorded = set(session.exec(select(Event.action)).all())
        outcomes = set(session.exec(select(Event.outcome)).all())
        with pytest.raises(ValueError, match="action 'request.invented'"):
            record(session, "analis", "request.invented")
    assert recorded and outcomes
    for action in recorded:
        assert action_text(action, "id") == t(f"action.{action}", "id") != action
    for outcome in outcomes:
        assert outcome_text(outcome, "en") == t(f"outcome.{outcome}", "en")
    assert action_text("request.filed", "id") == "Formulir permintaan diajukan"
    assert action_text("an.old_code", "id") == "an.old_code"  # older entries stay readable


def test_a_problem_of_a_spec_in_the_store_is_said_in_each_language(demo_ctx):
    """What the store finds wrong is English for Git and the hook, and Indonesian on a page."""
    import pickle

    from ocenter.display.spec import content_problems
    from ocenter.i18n import said_in

    main = demo_ctx.store.snapshot("main")
    spec = next(iter(main.specs.values()))
    panel = spec.panels[0].model_copy(update={"dimension": "kolom_tak_ada"})
    [problem] = content_problems(spec.model_copy(update={"panels": [panel]}), main.contracts)
    assert problem == (f"panel {panel.id}: field 'kolom_tak_ada' is not in contract "
                       f"{panel.dataset}")
    assert said_in(problem, "id") == (f"panel {panel.id}: kolom 'kolom_tak_ada' tidak ada dalam "
                                      f"kontrak {panel.dataset}")
    # The snapshot cache may keep it pickled: it comes back still able to say it in Indonesian.
    assert said_in(pickle.loads(pickle.dumps(problem)), "id") == said_in(problem, "id")  # noqa: S301
