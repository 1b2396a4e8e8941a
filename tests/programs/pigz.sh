#!/usr/bin/env bash
# pigz (Debian's, its threads synchronised by pthread mutexes and condition variables in its
# yarn.c) compresses and decompresses a generated 124 MB file with 8 threads on
# libparking-pthread: the output must be byte for byte glibc's run's, and decompress to the
# input.  About 10 s on 2 cores.
#
#   pigz.sh LIB PIGZ
source "$(dirname "${BASH_SOURCE[0]}")/preload.sh"
preload_setup pthread-prog-pigz "${1:-}"
pigz=${2:-}
require_program "$pigz" pigz pigz

cd "$work"
seq 1 15000000 > data
want=$(sha256sum < data)
# -n: no name nor time stamp in the header, so the two compressed files can be compared.
"$pigz" -p 8 -n -c data > glibc.gz
preloaded "$pigz" -p 8 -n -c data > ours.gz
cmp glibc.gz ours.gz || {
    echo "$test_name: FAIL: the compressed output differs from glibc's run" >&2
    exit 1
}
rm glibc.gz
got=$(preloaded "$pigz" -p 8 -d -c ours.gz | sha256sum)
[[ $got == "$want" ]] || {
    echo "$test_name: FAIL: decompressed checksum $got, expected $want" >&2
    exit 1
}
echo "$test_name: $(stat -c %s data) bytes -> $(stat -c %s ours.gz) and back, checksums equal"
require_report "mutex locks on the parking lot" 1000 "condvar waits on the parking lot" 10
