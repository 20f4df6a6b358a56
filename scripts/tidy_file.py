#!/usr/bin/env python3
"""clang-tidy on one file, remembering clean results (scripts/tidy.sh).

Usage: scripts/tidy_file.py BUILD_DIR FILE

Prints clang-tidy's findings in the project's own files and exits 1 when
there are any, 0 when there are none.

Why a cache: clang-tidy parses each file with all of CAF's and Beast's
headers, 10-30 s per file, and scripts/test.sh checks 80 of them, the
largest fixed cost of CI after the builds (ccache does the same for those).
A clean result is stored under a key made of everything the verdict depends
on: clang-tidy's version, .clang-tidy, the compile command (with the
checkout's path taken out, so clones share it) and the file after the
preprocessor with comments kept (-E -C: the file and every header it
includes, NOLINT comments too). Any change to any of them is a miss and
clang-tidy runs. Only clean results are stored: a file with findings is
checked again every time. The cache lives beside ccache's, in
$PA_TIDY_CACHE or ~/.cache/pa-tidy; PA_TIDY_CACHE=off turns it off.
"""
import hashlib
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys

# clang-tidy's analyzer may end a report inside a system header (Boost.Asio's
# any_executor); those are not our code, so only diagnostics located in the
# project's own files count.
FINDING = re.compile(r"^(?!/usr/).*: (error|warning): ", re.M)


def compile_entry(build_dir, path):
    with open(os.path.join(build_dir, "compile_commands.json")) as f:
        for e in json.load(f):
            if os.path.realpath(e["file"]) == path:
                return e
    raise SystemExit(f"tidy: {path} is not in {build_dir}/compile_commands.json")


def preprocessed(entry):
    """The translation unit as the compiler sees it, comments kept."""
    argv = shlex.split(entry["command"]) if "command" in entry else entry["arguments"]
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a == "-c":
            continue
        out.append(a)
    out += ["-E", "-C", "-P", "-o", "-"]
    r = subprocess.run(out, cwd=entry["directory"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL)
    return r.stdout if r.returncode == 0 else None


def cache_key(root, entry, source):
    h = hashlib.sha256()
    h.update(subprocess.run(["clang-tidy", "--version"], stdout=subprocess.PIPE).stdout)
    h.update((root / ".clang-tidy").read_bytes())
    h.update(entry.get("command", " ".join(entry.get("arguments", [])))
             .replace(str(root), "@").encode())
    h.update(source)
    return h.hexdigest()


def main():
    build_dir, path = sys.argv[1], os.path.realpath(sys.argv[2])
    root = pathlib.Path(__file__).resolve().parents[1]
    where = os.environ.get("PA_TIDY_CACHE", str(pathlib.Path.home() / ".cache" / "pa-tidy"))
    stamp = None
    if where != "off":
        entry = compile_entry(build_dir, path)
        source = preprocessed(entry)
        if source is not None:
            stamp = pathlib.Path(where) / cache_key(root, entry, source)
            if stamp.exists():
                return 0
    r = subprocess.run(["clang-tidy", "-p", build_dir, "--quiet", path],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    found = FINDING.findall(r.stdout)
    if found:
        sys.stdout.write(r.stdout)
        return 1
    # A non-zero status with no finding of ours (a system header's report)
    # passes, as before, but is not remembered.
    if stamp is not None and r.returncode == 0:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(os.path.relpath(path, root) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
