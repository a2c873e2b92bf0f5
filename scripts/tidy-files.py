#!/usr/bin/env python3
"""Lists the sources clang-tidy must check (scripts/test-hardening.sh, docs/testing.md).

Usage: tidy-files.py COMPILE_COMMANDS ROOT [BASELINE_FILE]

Every crypto/ vault/ api/ fuzz/ source in the compile database, or, when BASELINE_FILE names
a commit whose whole tree passed clang-tidy and that commit is in this checkout's history,
only the sources that differ from it and the sources that include a header that differs from
it (directly or through other changed headers). A change to .clang-tidy, to the top-level
CMakeLists.txt (where the compile flags are set; the others add sources, which then count as
changed themselves) or a missing baseline means every source. LETHE_TIDY_FULL=1 forces every
source. The first line of the output says which selection was made (for the log); the rest
are the files.
"""
import json
import os
import re
import subprocess
import sys

CHECKED = re.compile(r"(crypto|vault|api|fuzz)/[^/]+\.cc$")


def changed_since(root, commit):
    """Paths changed between commit and the work tree, or None when commit is not here."""
    def git(*args):
        return subprocess.run(["git", "-C", root, *args], capture_output=True, text=True)
    if git("cat-file", "-e", commit + "^{commit}").returncode != 0:
        return None
    diff = git("diff", "--name-only", commit, "--")
    if diff.returncode != 0:
        return None
    untracked = git("ls-files", "--others", "--exclude-standard")
    return set(diff.stdout.split()) | set(untracked.stdout.split())


def includers(root, files, headers):
    """Sources that include one of headers, directly or through an included changed header."""
    headers = set(headers)
    texts = {}
    for f in files:
        with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
            texts[f] = fh.read()
    out = set()
    for f, text in texts.items():
        if any(f'#include "{h}"' in text for h in headers):
            out.add(f)
    return out


def main():
    db, root = sys.argv[1], sys.argv[2].rstrip("/")
    baseline = sys.argv[3] if len(sys.argv) > 3 else ""
    entries = json.load(open(db))
    sources = sorted({os.path.relpath(e["file"], root) for e in entries
                      if CHECKED.match(os.path.relpath(e["file"], root))})
    reason = "full (LETHE_TIDY_FULL=1)" if os.environ.get("LETHE_TIDY_FULL") == "1" else None
    commit = ""
    if reason is None:
        if baseline and os.path.exists(baseline):
            commit = open(baseline).read().split()[0] if open(baseline).read().split() else ""
        changed = changed_since(root, commit) if commit else None
        if changed is None:
            reason = "full (no baseline commit in this checkout)"
        elif ".clang-tidy" in changed or "CMakeLists.txt" in changed:
            reason = "full (.clang-tidy or the top-level CMakeLists.txt changed since the baseline)"
    if reason is not None:
        print(f"# {reason}: {len(sources)} files")
        print("\n".join(os.path.join(root, f) for f in sources))
        return
    # Headers that changed, then headers that include those, until none is added.
    headers = {p for p in changed if p.endswith(".h")}
    tracked = subprocess.run(["git", "-C", root, "ls-files", "*.h"], capture_output=True,
                             text=True).stdout.split()
    while True:
        more = includers(root, [h for h in tracked if h not in headers], headers)
        if not more:
            break
        headers |= more
    picked = {s for s in sources if s in changed} | includers(root, sources, headers)
    print(f"# changed since {commit[:12]} (.ci/tidy-baseline): {len(picked)} of "
          f"{len(sources)} files")
    print("\n".join(os.path.join(root, f) for f in sorted(picked)))


if __name__ == "__main__":
    main()
