"""The store's own pre-receive hook: what a plain ``git push`` may bring, and who brought it.

Pushes may only create or fast-forward mock-up branches (main moves by approvals in the app).
Every commit a push brings is checked before any ref moves: it may add or change only regular
files (mode 100644, no symbolic link, no submodule, no executable) of at most
``MAX_YAML_BYTES`` in specs/ and data_contracts/ (or the store's README.md), and it may not
carry the marks only the app writes (an author or committer e-mail in the app's domain, a
``Change-kind`` trailer), so a commit bearing them is known to be the app's. Then the identity
the hosting server gives the push (``REMOTE_USER`` from a web server in front of
git-http-backend, ``GL_USERNAME`` from GitLab, ``GL_USER`` from gitolite) is recorded for each
new commit in ``PUSHERS_FILE``: who pushed a commit is a participant of the mock-up, whatever
author line the commit claims. The hook is plain POSIX shell and git, so it needs neither
Python nor the app to run; its refusals are the catalogue's English texts, like the command
line's.
"""

from __future__ import annotations

import re

from ocenter.i18n import t
from ocenter.store.names import EMAIL_DOMAIN, PUSHERS_FILE
from ocenter.yamlfiles import MAX_YAML_BYTES

#: First line after the interpreter: how ``open_or_init`` recognises (and updates) its own hook.
HOOK_MARKER = "# Installed by OCenter."
#: The trailer every commit of the app carries (``Change-kind: mockup-save`` and so on).
APP_TRAILER = "Change-kind"

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _say(key: str, **shell_variables: str) -> str:
    """A ``printf`` of the catalogue's English text of ``key``, each ``{name}`` taken from the
    shell variable ``shell_variables[name]`` when the hook runs."""
    text = "ocenter: " + t(key, "en")
    word, pos = "", 0
    for match in _PLACEHOLDER.finditer(text):
        word += _quoted(text[pos : match.start()]) + f'"${{{shell_variables[match.group(1)]}}}"'
        pos = match.end()
    return f"printf '%s\\n' {word + _quoted(text[pos:])}"


def _quoted(literal: str) -> str:
    return "'" + literal.replace("'", "'\\''") + "'" if literal else ""


def pre_receive_hook() -> str:
    """The text of the store's pre-receive hook."""
    domain = re.escape(EMAIL_DOMAIN.lower())
    return f"""#!/bin/sh
{HOOK_MARKER} The app rewrites this file when its rules change.
# main moves only through approvals made in the app, so a plain `git push` may only create or
# fast-forward mock-up branches refs/heads/mockup/req-<number>. Each commit a push brings may
# add or change only regular files of at most {MAX_YAML_BYTES} bytes in specs/ and
# data_contracts/ (or README.md), and may not carry what only the app writes: an e-mail in
# {EMAIL_DOMAIN} or a {APP_TRAILER} trailer. Who pushed each new commit, as the hosting server
# names them, is appended to {PUSHERS_FILE}.
max_bytes={MAX_YAML_BYTES}
zero=0000000000000000000000000000000000000000
status=0
commits=
while read -r old new ref; do
  if ! printf '%s\\n' "$ref" | grep -Eq '^refs/heads/mockup/req-[1-9][0-9]{{0,17}}$'; then
    {_say("hook.ref_refused", ref="ref")} >&2
    status=1
    continue
  fi
  [ "$new" = "$zero" ] && continue
  if ! found=$(git rev-list "$new" --not --all); then
    status=1
    continue
  fi
  commits="$commits $found"
done
# Word splitting is wanted: commit ids, one per word.
# shellcheck disable=SC2086
set -- $commits
if [ "$status" -ne 0 ] || [ $# -eq 0 ]; then
  exit "$status"
fi

unchecked() {{
  {_say("hook.unchecked")} >&2
  exit 1
}}
# What the new commits are: their e-mails and the app's trailer, and every file each adds or
# changes (for a merge, what differs from all its parents), then the size of each plain file.
log=$(printf '%s\\n' "$@" | git log --stdin --no-walk=unsorted \\
  --format='%H%x09%ae%x09%ce%x09%(trailers:key={APP_TRAILER},valueonly,separator=%x2C)') || unchecked
changes=$(printf '%s\\n' "$@" |
  git -c core.quotePath=true diff-tree --stdin -r -c --root --no-commit-id) || unchecked
entries=$(printf '%s\\n' "$changes" | awk -F '\\t' '$0 ~ /^:/ {{
  meta = $1; path = substr($0, length($1) + 2)
  sub(/^:+/, "", meta)
  n = split(meta, f, " "); k = (n - 1) / 2
  if (f[k] != "000000") print f[k] " " f[n - 1] " " path
}}')
sizes=$(printf '%s\\n' "$entries" | awk '$1 == "100644" {{ print substr($0, 8) }}' |
  git cat-file --batch-check='%(objectsize) %(rest)') || unchecked

problems=$(
  printf '%s\\n' "$log" | awk -F '\\t' 'NF >= 3 {{
    if (tolower($2) ~ /{domain}/) print $1 "\\t" "e-mail " $2
    else if (tolower($3) ~ /{domain}/) print $1 "\\t" "e-mail " $3
    else if ($4 != "") print $1 "\\t" "trailer {APP_TRAILER}"
  }}' | while IFS="$(printf '\\t')" read -r commit mark; do
    {_say("hook.app_mark", commit="commit", mark="mark")}
  done
  printf '%s\\n' "$entries" | while read -r mode oid path; do
    [ -z "$mode" ] && continue
    case "$path" in
      specs/*|data_contracts/*|README.md) ;;
      *) {_say("hook.outside", path="path")}; continue ;;
    esac
    case "$mode" in
      100644) ;;
      100755) {_say("hook.executable", path="path")} ;;
      120000) {_say("hook.symlink", path="path")} ;;
      160000) {_say("hook.submodule", path="path")} ;;
      *) {_say("hook.not_regular", path="path", mode="mode")} ;;
    esac
  done
  printf '%s\\n' "$sizes" | while read -r size path; do
    case "$size" in
      '') ;;
      *[!0-9]*) {_say("hook.unchecked")} ;;
      *) if [ "$size" -gt "$max_bytes" ]; then
           {_say("hook.too_large", path="path", size="size", limit="max_bytes")}
         fi ;;
    esac
  done
)
if [ -n "$problems" ]; then
  printf '%s\\n' "$problems" | sort -u >&2
  exit 1
fi

pusher=${{REMOTE_USER:-${{GL_USERNAME:-$GL_USER}}}}
case "$pusher" in
  ''|*[!A-Za-z0-9._-]*|[!A-Za-z0-9]*) pusher= ;;
esac
if [ ${{#pusher}} -gt 64 ]; then
  pusher=
fi
if [ -z "$pusher" ]; then
  {_say("hook.no_pusher")} >&2
  exit 0
fi
for commit in "$@"; do
  printf '%s %s\\n' "$commit" "$pusher"
done >> "${{GIT_DIR:-.}}/{PUSHERS_FILE}"
"""
