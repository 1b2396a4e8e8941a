#!/bin/sh
# check-notes.sh READELF LIBRARY: the static probes of docs/profiling.md are in the library's
# .note.stapsdt, provider libparking, each name at least once.
readelf=$1
lib=$2
notes=$("$readelf" -n "$lib") || exit 1
status=0
for probe in slow_begin park_begin park_end unpark handoff table_grow; do
    if ! printf '%s\n' "$notes" | grep -A2 'stapsdt' | grep -q "Name: $probe\$"; then
        echo "check-notes: probe libparking:$probe missing from $lib" >&2
        status=1
    fi
done
printf '%s\n' "$notes" | grep -q 'Provider: libparking' || {
    echo "check-notes: no provider libparking in $lib" >&2
    status=1
}
[ $status -eq 0 ] && echo "check-notes: all six libparking probes in $lib"
exit $status
