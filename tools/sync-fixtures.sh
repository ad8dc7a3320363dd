#!/bin/sh
# Refresh the copies of the reference kit kept in this repository, so tests,
# benchmarks and docs never read a directory outside the clone:
#   KIT/gotmpl/                  -> test/fixtures/gotmpl/       (Go text/template conformance kit + oracle source)
#   KIT/reference/confd-golden/  -> test/fixtures/confd-golden/ (real confd output, byte for byte)
#   KIT/reference/*.md           -> docs/reference/             (how the originals behave)
# Usage: tools/sync-fixtures.sh KIT_DIR   (the kit's root: the folder holding gotmpl/ and reference/)
# Afterwards review `git diff` and commit: the copies are what CI tests against.
set -eu
kit=${1:?usage: tools/sync-fixtures.sh KIT_DIR}
[ -f "$kit/gotmpl/core.json" ] && [ -d "$kit/reference/confd-golden" ] || {
  echo "sync-fixtures: $kit has no gotmpl/core.json or reference/confd-golden/" >&2
  exit 2
}
root=$(cd "$(dirname "$0")/.." && pwd)
copy() { # SRC DEST: replace DEST with a writable copy of SRC
  rm -rf "$2"
  mkdir -p "$(dirname "$2")"
  cp -R "$1" "$2"
  chmod -R u+w "$2"
}
copy "$kit/gotmpl" "$root/test/fixtures/gotmpl"
copy "$kit/reference/confd-golden" "$root/test/fixtures/confd-golden"
mkdir -p "$root/docs/reference"
for f in "$kit"/reference/*.md; do cp "$f" "$root/docs/reference/" && chmod u+w "$root/docs/reference/$(basename "$f")"; done
# The kit's README speaks of its own location; point it at the copies.
sed -i -e 's#\.\./shared/gotmpl/#test/fixtures/gotmpl/#g' \
  -e 's#`\.\./reference/\([a-z]*\.md\)`#`docs/reference/\1`#g' "$root/test/fixtures/gotmpl/README.md"
echo "sync-fixtures: copied from $kit; review with: git -C $root status --short test/fixtures docs/reference"
