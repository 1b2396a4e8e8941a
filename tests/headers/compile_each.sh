#!/bin/sh
# compile_each.sh <compiler> <flags...> -- <sources...>: compiles each source alone
# (-fsyntax-only) with the flags; fails at the first source that does not compile cleanly.
cc=$1
shift
flags=
while [ $# -gt 0 ] && [ "$1" != -- ]; do
    flags="$flags $1"
    shift
done
shift
for f; do
    # shellcheck disable=SC2086  # the flags are separate words
    "$cc" -fsyntax-only $flags "$f" || { echo "compile_each: $f fails with $cc" >&2; exit 1; }
done
