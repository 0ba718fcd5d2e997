#!/usr/bin/env python3
"""Include graph between the folders of src/ (and tools/simulator), from the #include "folder/..." lines.

usage: tools/checks/include_graph.py [--rev GIT_REV] [--dot]
  prints one line per edge "from -> to  (N includes)", or Graphviz text with --dot;
  --rev reads the files of that commit (git show) instead of the working tree.
docs/ARCHITECTURE.md lists the graph before and after the module split.
"""
import argparse
import collections
import pathlib
import re
import subprocess

INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z_]+)/[^"]+"', re.M)
# Third-party headers whose use the module table restricts (HDF5, Boost, sdbus-c++, ...).
EXTERNAL = re.compile(r'^\s*#\s*include\s+<(hdf5|boost|sdbus-c\+\+|toml\+\+|Eigen|unsupported/Eigen|edflib|zlib|CLI)(?=[/.>])',
                      re.M)
ROOTS = ("src/", "tools/simulator/")


def files(rev):
    if rev:
        names = subprocess.run(["git", "ls-tree", "-r", "--name-only", rev], check=True, capture_output=True,
                               text=True).stdout.split()
        for n in names:
            if n.startswith(ROOTS) and n.endswith((".hpp", ".cpp", ".h", ".c")):
                yield n, subprocess.run(["git", "show", f"{rev}:{n}"], check=True, capture_output=True,
                                        text=True).stdout
    else:
        for root in ROOTS:
            for p in sorted(pathlib.Path(root).rglob("*")):
                if p.suffix in (".hpp", ".cpp", ".h", ".c"):
                    yield str(p), p.read_text(encoding="utf-8")


def folder_of(path):
    parts = path.split("/")
    return parts[1]  # src/<folder>/... or tools/simulator/...


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rev")
    ap.add_argument("--dot", action="store_true")
    args = ap.parse_args()
    edges = collections.Counter()
    external = collections.defaultdict(set)
    for path, text in files(args.rev):
        here = folder_of(path)
        for target in INCLUDE.findall(text):
            if target != here:
                edges[(here, target)] += 1
        for lib in EXTERNAL.findall(text):
            external[here].add(lib.replace("unsupported/", ""))
    if args.dot:
        print("digraph includes {")
        for (a, b), n in sorted(edges.items()):
            print(f'  "{a}" -> "{b}" [label="{n}"];')
        print("}")
    else:
        for (a, b), n in sorted(edges.items()):
            print(f"{a} -> {b}  ({n})")
        for folder in sorted(external):
            print(f"{folder} uses <{'>, <'.join(sorted(external[folder]))}>")


if __name__ == "__main__":
    main()
