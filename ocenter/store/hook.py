"""The store's own pre-receive hook: pushes may touch only mock-up branches; main moves by approvals."""

from __future__ import annotations

_PRE_RECEIVE_HOOK = """#!/bin/sh
# Installed by OCenter. main moves only through approvals made in the app, so a plain
# `git push` may only create or fast-forward mock-up branches refs/heads/mockup/req-<number>.
status=0
while read -r old new ref; do
  if ! printf '%s\\n' "$ref" | grep -Eq '^refs/heads/mockup/req-[1-9][0-9]{0,17}$'; then
    echo "ocenter: only refs/heads/mockup/req-<number> may be pushed, not $ref" >&2
    status=1
  fi
done
exit $status
"""
