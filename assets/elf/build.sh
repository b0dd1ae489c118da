#!/usr/bin/env bash
# Builds the real ELF files of the demo image (src/demo.rs) from the C sources beside this
# script. Needs gcc and musl-gcc (Debian: build-essential musl-tools). The outputs are
# committed, so the demo builds without these toolchains.
set -euo pipefail
cd "$(dirname "$0")"
cc -shared -fPIC -nostdlib -Wl,-soname,libc.so.6 -Wl,--version-script=libc_stub.map -s -o libc.so.6 libc_stub.c
cc -shared -fPIC -nostdlib -Wl,-soname,ld-linux-x86-64.so.2 -s -o ld-linux-x86-64.so.2 loader_stub.c
cc -O2 -s -o python3.11 python.c
cc -shared -fPIC -O2 -g -o _multiarray_umath.cpython-311-x86_64-linux-gnu.so extension.c
musl-gcc -shared -fPIC -nostdlib -Wl,-soname,libc.musl-x86_64.so.1 -s -o libc.musl-x86_64.so.1 musl_libc_stub.c
musl-gcc -shared -fPIC -nostdlib -O2 -s -o _speedups.cpython-311-x86_64-linux-musl.so extension.c ./libc.musl-x86_64.so.1
rm libc.musl-x86_64.so.1
