"""The store's naming rules: every branch, path and revision git sees is made from our own ids and
checked first, so user text can never become a git option, a path outside the store's folders or
a ref of someone else's; and what the store reads back (who made a commit, which file is a spec,
whether a conflict is still unresolved) is read the same way every time."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocenter.errors import UserError
from ocenter.store import names

OID = "0123456789abcdef0123456789abcdef01234567"


def refusal(check, value) -> str:  # noqa: ANN001
    with pytest.raises(UserError) as refused:
        check(value)
    return refused.value.key


def test_specs_and_contracts_live_in_their_folders_by_id():
    assert names.spec_path("pantauan-sampling") == "specs/pantauan-sampling.yaml"
    assert names.contract_path("sampling-pengujian") == "data_contracts/sampling-pengujian.yaml"
    assert names.spec_path("a" * 64) == f"specs/{'a' * 64}.yaml"
    assert names.spec_path("ab1") == "specs/ab1.yaml"


@pytest.mark.parametrize("dashboard_id", [
    "ab", "a" * 65, "Pantauan", "-abc", "abc-", "1abc", "../etc", "a/b", "abc\n", 123, None,
])
def test_an_id_outside_the_id_pattern_never_becomes_a_path(dashboard_id):
    assert refusal(names.spec_path, dashboard_id) == "store.invalid_name"
    assert refusal(names.contract_path, dashboard_id) == "store.invalid_name"


@pytest.mark.parametrize(("request_id", "branch"), [
    (1, "mockup/req-1"), (10**18 - 1, f"mockup/req-{10**18 - 1}"),
])
def test_a_mockup_branch_is_named_by_its_request_number(request_id, branch):
    assert names.mockup_branch(request_id) == branch


@pytest.mark.parametrize("request_id", [0, -1, 10**18, True, 1.0, "1", None])
def test_only_a_positive_request_number_names_a_mockup_branch(request_id):
    assert refusal(names.mockup_branch, request_id) == "store.invalid_name"


@pytest.mark.parametrize(("number", "branch"), [
    (1, "contract/sampling-1"), (10**18 - 1, f"contract/sampling-{10**18 - 1}"),
])
def test_a_contract_change_branch_is_named_by_its_dataset_and_number(number, branch):
    assert names.contract_change_branch("sampling", number) == branch


@pytest.mark.parametrize("number", [0, -1, 10**18, True, 1.0, "1", None])
def test_only_a_positive_number_names_a_contract_change_branch(number):
    with pytest.raises(UserError) as refused:
        names.contract_change_branch("sampling", number)
    assert refused.value.key == "store.invalid_name"
    assert refused.value.params == {"name": repr(number)}


LONGEST_PART = "a" * 128
LONGEST_PATH = "/".join(["a" * 100, "b" * 100, "c" * 100, "d" * 97])


@pytest.mark.parametrize("path", ["specs/a.yaml", "data_contracts/b_c.yaml", "README.md", LONGEST_PART,
                                  LONGEST_PATH], ids=["spec", "contract", "readme", "part", "path"])
def test_store_paths_of_plain_parts_are_taken(path):
    assert names._check_path(path) == path


@pytest.mark.parametrize("path", [
    "", LONGEST_PATH + "d", LONGEST_PART + "a", "specs/../x.yaml", "../x", ".git/config",
    "specs/.hidden", "specs/-x",
    "specs//a.yaml", "/specs/a.yaml", "specs/a b.yaml", None, 7,
])
def test_a_path_that_could_leave_the_store_or_look_like_an_option_is_refused(path):
    assert refusal(names._check_path, path) == "store.invalid_path"


def test_a_commit_id_is_forty_lower_case_hex_digits():
    assert names._check_oid(OID) == OID
    for bad in (OID[:-1], OID + "0", OID.upper(), "g" * 40, None):
        assert refusal(names._check_oid, bad) == "store.invalid_revision"


@pytest.mark.parametrize("rev", ["HEAD", "main", "mockup/req-3", "abc1234", OID, "v1.0"])
def test_revisions_a_user_may_name(rev):
    assert names._check_rev(rev) == rev


@pytest.mark.parametrize(("rev", "key"), [
    ("main..mockup/req-1", "store.invalid_revision"),  # a range, not a revision
    ("mockup//req-1", "store.invalid_revision"),
    ("-main", "store.invalid_revision"),  # an option
    ("main~1", "store.invalid_revision"),
    ("main^{tree}", "store.invalid_revision"),
    ("main:specs/a.yaml", "store.invalid_revision"),
    ("a" * 201, "store.invalid_revision"),
    ("main.lock", "store.invalid_name"),  # git's own rule, checked by git check-ref-format
    ("mockup/req-1.", "store.invalid_name"),
    (None, "store.invalid_revision"),
])
def test_revisions_git_would_read_otherwise_are_refused(rev, key):
    assert refusal(names._check_rev, rev) == key


@pytest.mark.parametrize(("path", "kind"), [
    ("specs/pantauan.yaml", ("spec", "pantauan")),
    ("data_contracts/sampling.yaml", ("contract", "sampling")),
    ("specs/sub/pantauan.yaml", ("stray", "")),  # in our folder but not where a spec goes
    ("specs/pantauan.yml", ("stray", "")),
    ("data_contracts/notes.txt", ("stray", "")),
    ("specs/.gitkeep", (None, "")),
    ("specs", (None, "")),
    ("specs/", (None, "")),
    ("README.md", (None, "")),
    ("docs/pantauan.yaml", ("outside", "")),  # named as a problem: it does not belong
])
def test_what_a_file_in_the_store_is(path, kind):
    assert names._file_kind(path) == kind


def test_the_demo_folders_are_loaded_as_the_store_takes_them(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "data_contracts").mkdir()
    (tmp_path / "specs" / "b.yaml").write_text("id: b\n", encoding="utf-8")
    (tmp_path / "specs" / "a.yaml").write_text("id: a ✓\n", encoding="utf-8")
    (tmp_path / "specs" / "notes.md").write_text("not a spec", encoding="utf-8")
    (tmp_path / "data_contracts" / "c.yaml").write_text("id: c\n", encoding="utf-8")
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "d.yaml").write_text("id: d\n", encoding="utf-8")
    files = names.load_folder(tmp_path)
    assert list(files) == ["specs/a.yaml", "specs/b.yaml", "data_contracts/c.yaml"]
    assert files["specs/a.yaml"] == "id: a ✓\n"


def test_the_project_folders_hold_the_demo_content():
    root = Path(__file__).resolve().parent.parent
    files = names.load_folder(root)
    assert any(path.startswith("specs/") for path in files)
    assert any(path.startswith("data_contracts/") for path in files)


def test_who_made_a_commit():
    # The app's own commits carry the username in a domain that cannot be anyone's mail.
    assert names._identity("Analis Data", f"analis@{names.EMAIL_DOMAIN}") == "analis"
    assert names._identity("Analis Data", f" Analis@{names.EMAIL_DOMAIN.upper()} ") == "analis"
    # A developer's commit is known by their e-mail, or their name without one.
    assert names._identity("Dev", " Dev@Example.GO.ID ") == "dev@example.go.id"
    assert names._identity("  Dev Pusdatin ", "") == "dev pusdatin"


def test_short_revisions_in_messages():
    assert names._short(OID) == OID[:12]
    assert names._short(None) == "-"


@pytest.mark.parametrize(("text", "unresolved"), [
    ("a: 1\n<<<<<<< main\nb: 2\n", True),
    ("a: 1\n=======\nb: 2\n", True),
    ("a: 1\n>>>>>>> mockup/req-1\n", True),
    ("a: 1\n||||||| base\n", True),
    ("a: 1\n<<<<<<<\n", True),
    ("a: 1\n>>>>>>>", True),
    ("a: 1\nb: 2\n", False),
    ("title: a <<<<<<< b\n", False),  # not at the start of a line
    ("a: 1\n========\n", False),  # a Markdown rule, eight signs
    ("a: 1\n<<<<<<<< x\n", False),
    ("a: 1\n<<<<<<<x\n", False),
    ("a: 1\n======= x\n", False),
])
def test_a_text_with_a_conflict_marker_line_is_unresolved(text, unresolved):
    assert names._has_conflict_markers(text) is unresolved


def test_a_refusal_quotes_what_was_refused_cut_to_80_characters():
    long_id = "X" * 100
    for check in (names.spec_path, names._check_oid, names._check_rev, names.mockup_branch):
        with pytest.raises(UserError) as refused:
            check(None if check is names._check_rev else long_id)
        [quoted] = refused.value.params.values()
        assert quoted == (repr(None) if check is names._check_rev else repr(long_id)[:80])
    with pytest.raises(UserError) as too_long:
        names._check_path(long_id * 5)
    assert too_long.value.params == {"path": repr(long_id * 5)[:80]}
    with pytest.raises(UserError) as bad_part:
        names._check_path("specs/../x.yaml")
    assert bad_part.value.params == {"path": "specs/../x.yaml"}
    with pytest.raises(UserError) as bad_rev:
        names._check_rev("main..x")
    assert bad_rev.value.params == {"rev": "main..x"}


def test_a_one_character_path_is_a_path():
    assert names._check_path("a") == "a"


def test_an_address_with_two_at_signs_is_not_one_of_the_apps():
    email = f"analis@evil@{names.EMAIL_DOMAIN}"
    assert names._identity("Analis", email) == email
