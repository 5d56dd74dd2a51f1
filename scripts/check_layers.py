#!/usr/bin/env python3
"""check_layers.py: every #include in src/ follows the layer rules of docs/architecture.md.

The rules are the fenced ```layers block of docs/architecture.md, one line per
module:

    export (no DPDK): record proto

A module may include its own headers and those of every module it reaches by
following these arrows (the order is one-way: the checker refuses rules with
a cycle). `skyprobe/v1/...` is the generated proto code (module `proto`);
`skyprobe/...` otherwise is include/skyprobe, shared by everyone; includes
whose first directory is not a module (absl/, re2/, gtest/...) are third-party
and not checked. `x/internal/...` headers are private to module x. A module
marked (no DPDK) includes no DPDK header (<rte_*.h>) and reaches only modules
that are marked too.

Every violation is printed as `path:line: rule` and the exit status is 1.

usage: check_layers.py [--root DIR]    (default: the repository of this script)
"""
import argparse
import os
import re
import sys

RULES_DOC = os.path.join("docs", "architecture.md")
RULE_LINE = re.compile(r"^([a-z_]+)\s*(\(no DPDK\))?\s*:\s*(.*?)\s*(#.*)?$")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
SOURCE_EXT = (".h", ".cc", ".hpp", ".cpp", ".c", ".inc")


class RuleError(Exception):
    pass


def read_rules(root):
    """Returns ({module: set(direct deps)}, set(no-DPDK modules)) from the doc."""
    path = os.path.join(root, RULES_DOC)
    try:
        lines = open(path, encoding="utf-8").read().split("\n")
    except OSError as e:
        raise RuleError(f"{RULES_DOC}: cannot read the layer rules: {e.strerror}")
    deps, no_dpdk, inside, seen_block = {}, set(), False, False
    for n, line in enumerate(lines, 1):
        if line.strip() == "```layers":
            inside, seen_block = True, True
            continue
        if inside and line.strip() == "```":
            inside = False
            continue
        if not inside or not line.strip() or line.strip().startswith("#"):
            continue
        m = RULE_LINE.match(line.strip())
        if not m:
            raise RuleError(f"{RULES_DOC}:{n}: not a rule ('module: deps...'): {line.strip()}")
        name = m.group(1)
        if name in deps:
            raise RuleError(f"{RULES_DOC}:{n}: module {name} has two rules")
        deps[name] = set(m.group(3).split()) if m.group(3) else set()
        if m.group(2):
            no_dpdk.add(name)
    if not seen_block:
        raise RuleError(f"{RULES_DOC}: no ```layers block")
    for name, ds in deps.items():
        for d in sorted(ds):
            if d not in deps:
                raise RuleError(f"{RULES_DOC}: {name} -> {d}: {d} has no rule of its own")
            if d == name:
                raise RuleError(f"{RULES_DOC}: {name} -> {name}: a module does not list itself")
    return deps, no_dpdk


def find_cycle(deps):
    """A list of modules forming a cycle, or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(deps[m]):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                c = visit(d)
                if c:
                    return c
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(deps):
        if m not in state:
            c = visit(m)
            if c:
                return c
    return None


def reach(deps):
    """{module: every module it may include, itself excluded}."""
    out = {}

    def walk(m):
        if m not in out:
            out[m] = set()
            for d in deps[m]:
                out[m] |= {d} | walk(d)
        return out[m]

    for m in deps:
        walk(m)
    return out


def include_module(target, modules):
    """The module an include names, or None for third-party headers."""
    parts = target.split("/")
    if len(parts) < 2:
        return None  # same directory
    if parts[0] == "skyprobe":
        return "proto" if parts[1] == "v1" else None  # include/skyprobe: everyone's
    return parts[0] if parts[0] in modules else None


def check(root):
    """Returns the list of violations, as 'path:line: message' strings."""
    deps, no_dpdk = read_rules(root)
    cycle = find_cycle(deps)
    if cycle:
        raise RuleError(f"{RULES_DOC}: the layers have a cycle: {' -> '.join(cycle)}")
    allowed = reach(deps)
    problems = []
    for m in sorted(no_dpdk):
        for d in sorted(allowed[m] - no_dpdk):
            problems.append(f"{RULES_DOC}: {m} is marked (no DPDK) but reaches {d}, which is not")

    def rule_text(m):
        ds = " ".join(sorted(deps[m])) or "nothing"
        return f"rule '{m}: {ds}' in {RULES_DOC}"

    src = os.path.join(root, "src")
    for name in sorted(os.listdir(src)):
        if os.path.isdir(os.path.join(src, name)) and name not in deps:
            problems.append(f"src/{name}/: module has no rule in {RULES_DOC} (add it to the layers)")
    for dirpath, _, files in sorted(os.walk(src)):
        for f in sorted(files):
            if not f.endswith(SOURCE_EXT):
                continue
            path = os.path.join(dirpath, f)
            rel = os.path.relpath(path, root)
            module = os.path.relpath(path, src).split(os.sep)[0]
            if module not in deps:
                continue  # reported above
            with open(path, encoding="utf-8", errors="replace") as fh:
                for n, line in enumerate(fh, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    bracket, target = m.group(1), m.group(2)
                    if module in no_dpdk and os.path.basename(target).startswith("rte_"):
                        problems.append(f"{rel}:{n}: {module} is marked (no DPDK) and may not "
                                        f"include {target} ({rule_text(module)})")
                        continue
                    if bracket != '"':
                        continue
                    inc = include_module(target, deps)
                    if inc is None:
                        continue
                    parts = target.split("/")
                    if "internal" in parts[1:-1] and inc != module:
                        problems.append(f"{rel}:{n}: {target} is internal to {inc}/ and may "
                                        f"only be included from src/{inc}/")
                    elif inc != module and inc not in allowed[module]:
                        problems.append(f"{rel}:{n}: {module} may not include {inc}/ "
                                        f"({target}; {rule_text(module)})")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    args = ap.parse_args()
    try:
        problems = check(args.root)
    except RuleError as e:
        print(f"check_layers: {e}", file=sys.stderr)
        return 2
    for p in problems:
        print(p)
    if problems:
        print(f"check_layers: {len(problems)} include(s) against the layers", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
