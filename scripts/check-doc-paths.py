#!/usr/bin/env python3
"""check-doc-paths.py - every file a doc or a comment names exists.

A learner follows the references in docs/*.md, README.md and the comments of
the sources; one that leads nowhere (a renamed file, a file that is not in the
repository) costs them the thread.  This scans them for repository paths, such
as kernel/dpc/dpc_queue.c, arch/x86_64/rwlock.S or docs/irql.md, and checks each
exists in the work tree, and that a page named alone (irql.md) is one of
docs/ or the top level: a reference to a document outside the repository
cannot be followed by a reader of the repository.  A path with a wildcard (tests/kernel/test_*.c) must
match something; paths under build/ are made by the build and are skipped.
Links in Markdown are relative to their page.

Prints one line per dangling reference (file:line: path) and a summary;
exit status 0 if none, 1 otherwise.  Python 3 standard library only.
"""
import glob
import os
import re
import subprocess
import sys

TOP_DIRS = ("arch", "boot", "docs", "include", "kernel", "lib", "scripts", "tests", ".ci")
# A path: a top-level folder, then name characters and glob wildcards; one
# followed by "<" is a template (tests/kernel/test_<name>.c), not a path.
PATH_RE = re.compile(r"(?<![\w./-])((?:%s)/(?:[\w.*?/-]|\[\w+\])*(?:[\w*]|\[\w+\]))(?![<\w])"
                     % "|".join(re.escape(d) for d in TOP_DIRS))
# A page named alone (a bare *.md name): it must be a page of ours.
PAGE_RE = re.compile(r"(?<![\w./-])([\w-]+\.md)\b")
LINK_RE = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
TOP_FILES = ("Makefile", "linker.ld", "README.md")
SOURCE_EXT = (".c", ".h", ".S", ".py", ".sh", ".ld", ".md", ".cfg")


def tracked_files(root):
    out = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True)
    files = out.stdout.split() if out.returncode == 0 else []
    return [f for f in files if f.endswith(SOURCE_EXT) or os.path.basename(f) in TOP_FILES]


def exists(root, path):
    path = path.rstrip(".")
    if any(c in path for c in "*?["):
        return bool(glob.glob(os.path.join(root, path)))
    return os.path.exists(os.path.join(root, path))


def check(root):
    dangling = []
    for name in tracked_files(root):
        with open(os.path.join(root, name), encoding="utf-8", errors="replace") as f:
            lines = f.read().split("\n")
        for number, line in enumerate(lines, 1):
            for m in PATH_RE.finditer(line):
                path = m.group(1)
                if path.startswith("build/") or exists(root, path):
                    continue
                dangling.append(f"{name}:{number}: {path}")
            for m in PAGE_RE.finditer(line):
                page = m.group(1)
                if not any(exists(root, p) for p in (page, "docs/" + page)):
                    dangling.append(f"{name}:{number}: {page} (not a page of this repository)")
            if name.endswith(".md"):
                for m in LINK_RE.finditer(line):
                    target = m.group(1)
                    if re.match(r"^[a-z]+:", target):
                        continue            # http:, mailto:
                    rel = os.path.normpath(os.path.join(os.path.dirname(name), target))
                    if not exists(root, rel):
                        dangling.append(f"{name}:{number}: link {target}")
    return dangling


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.getcwd()
    dangling = check(root)
    for d in dangling:
        print(d)
    print(f"doc paths: {len(dangling)} dangling reference(s)")
    return 1 if dangling else 0


if __name__ == "__main__":
    sys.exit(main())
