#!/usr/bin/env bash
# format.sh: apply .clang-format to every C++ file in the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files '*.cc' '*.h' | xargs clang-format -i
