#!/usr/bin/env bash
# Builds the judge's guest interpreter: CPython 3.11.2 for wasm32-wasi as a reactor module with a
# large C stack, plus the pure-Python stdlib. Called by the sandbox crate when its cache is empty.
#
#   build-python.sh OUT_DIR WORK_DIR STACK_BYTES
#
# Inputs come from the package registries through their ordinary clients and are checked by sha256:
#   - the Zig toolchain (clang + wasm-ld + wasi-libc) from the Python package index (`ziglang`);
#   - the CPython source as Debian's `python3.11` source package (its .orig tarball is upstream's).
# Set R1_ZIG to a zig binary or R1_CPYTHON_TARBALL to a Python-3.11.2 tarball to skip a download.
set -euo pipefail

out=$1
work=$2
stack=$3
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
shim=$here/r1_shim.c
stubs=$here/wasi_stubs.c

zig_version=0.17.0
zig_wheel_sha=97079827064a7492cce5541ceb438ae8003ce1e54e399676da2d62fb7a5dc08b
cpython_version=3.11.2
cpython_sha=2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849
jobs=$(nproc 2>/dev/null || echo 2)

mkdir -p "$out" "$work"
cd "$work"
log() { printf '[r1-sandbox] %s\n' "$*" >&2; }
check_sha() { echo "$2  $1" | sha256sum -c --quiet - || { log "sha256 mismatch for $1"; exit 3; }; }

# --- Zig ----------------------------------------------------------------------------------------
if [[ -n "${R1_ZIG:-}" ]]; then
    zig=$R1_ZIG
else
    zig=$work/zig/ziglang/zig
    if [[ ! -x $zig ]]; then
        log "fetching ziglang $zig_version (Python package index)"
        python3 -m pip download --quiet --no-deps --only-binary=:all: --platform manylinux_2_12_x86_64 \
            -d "$work/wheels" "ziglang==$zig_version"
        wheel=$(ls "$work"/wheels/ziglang-$zig_version-*.whl)
        check_sha "$wheel" "$zig_wheel_sha"
        rm -rf "$work/zig" && mkdir -p "$work/zig"
        python3 -m zipfile -e "$wheel" "$work/zig"
        chmod +x "$zig"
    fi
fi
mkdir -p "$work/bin"
for tool in cc ar ranlib; do
    case $tool in
        cc) cmd="$zig cc -target wasm32-wasi" ;;
        *) cmd="$zig $tool" ;;
    esac
    printf '#!/bin/sh\nexec %s "$@"\n' "$cmd" > "$work/bin/z$tool"
    chmod +x "$work/bin/z$tool"
done
export PATH="$work/bin:$PATH"

# --- CPython source -----------------------------------------------------------------------------
tarball=${R1_CPYTHON_TARBALL:-$work/src/python3.11_$cpython_version.orig.tar.gz}
if [[ ! -f $tarball ]]; then
    log "fetching the CPython $cpython_version source (Debian source package python3.11)"
    # A private apt configuration: deb-src entries for the mirror this machine already uses.
    uri=$(grep -h -E '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk 'NR==1 {print $2}' || true)
    if [[ -z $uri ]]; then
        uri=$(grep -h -E '^deb ' /etc/apt/sources.list 2>/dev/null | awk 'NR==1 {print $2}' || true)
    fi
    [[ -n $uri ]] || { log "no Debian mirror configured in /etc/apt"; exit 3; }
    apt_dir=$work/apt
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$work/src"
    printf 'deb-src %s bookworm main\n' "$uri" > "$apt_dir/sources.list"
    apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=/nonexistent"
        -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives"
        -o "APT::Sandbox::User=$(id -un)" -o "Debug::NoLocking=1")
    apt-get "${apt_opts[@]}" -qq update
    (cd "$work/src" && apt-get "${apt_opts[@]}" -qq source --download-only python3.11)
fi
check_sha "$tarball" "$cpython_sha"

src=$work/Python-$cpython_version
if [[ ! -f $src/.r1-patched ]]; then
    rm -rf "$src"
    tar xzf "$tarball" -C "$work"
    # The only thread-exit call site; WASI has no threads (configure picks zig's pthread stubs).
    sed -i 's/^    pthread_exit(0);$/    exit(0);/' "$src/Python/thread_pthread.h"
    touch "$src/.r1-patched"
fi

# --- Configure and build libpython --------------------------------------------------------------
build=$src/build-wasi
cflags="-O2 -Wno-int-conversion -Wno-incompatible-pointer-types -Wno-date-time -D_WASI_EMULATED_SIGNAL -D_WASI_EMULATED_GETPID -D_WASI_EMULATED_PROCESS_CLOCKS -D_WASI_EMULATED_MMAN"
if [[ ! -f $build/Makefile ]]; then
    log "configuring CPython for wasm32-wasi"
    mkdir -p "$build"
    build_python=$(command -v python3.11 || true)
    [[ -n $build_python ]] || { log "a native python3.11 is needed to cross-build CPython 3.11"; exit 3; }
    (cd "$build" && env PKG_CONFIG_LIBDIR=/nonexistent PKG_CONFIG_PATH= \
        py_cv_module_zlib=n/a py_cv_module__lzma=n/a py_cv_module__crypt=n/a py_cv_module__uuid=n/a \
        py_cv_module__bz2=n/a py_cv_module_xxlimited=n/a py_cv_module_xxlimited_35=n/a \
        py_cv_module__socket=n/a py_cv_module_mmap=n/a \
        CONFIG_SITE=../Tools/wasm/config.site-wasm32-wasi CC=zcc AR=zar RANLIB=zranlib \
        CFLAGS="$cflags" LIBS="-lwasi-emulated-mman" \
        ../configure --host=wasm32-unknown-wasi --build=x86_64-pc-linux-gnu \
        --with-build-python="$build_python" --with-pymalloc --disable-ipv6 \
        --without-ensurepip --disable-test-modules > configure.log 2>&1) \
        || { tail -40 "$build/configure.log" >&2; exit 4; }
fi
log "compiling CPython for wasm32-wasi ($jobs jobs; several minutes on 2 cores)"
(cd "$build" && make -j"$jobs" libpython3.11.a Modules/_decimal/libmpdec/libmpdec.a \
    Modules/expat/libexpat.a > make.log 2>&1) || { tail -40 "$build/make.log" >&2; exit 4; }

# --- Link the reactor ---------------------------------------------------------------------------
log "linking the judge reactor (C stack $stack bytes)"
zcc $cflags -I"$src/Include" -I"$src/Include/internal" -I"$build" -c "$shim" -o "$build/r1_shim.o"
zcc -O2 -c "$stubs" -o "$build/wasi_stubs.o"
zcc -mexec-model=reactor -Wl,-z,stack-size="$stack" -Wl,--strip-debug \
    -o "$out/python-r1.wasm.tmp" "$build/r1_shim.o" "$build/wasi_stubs.o" "$build/libpython3.11.a" \
    "$build/Modules/_decimal/libmpdec/libmpdec.a" "$build/Modules/expat/libexpat.a" \
    -lwasi-emulated-mman -lwasi-emulated-signal -lwasi-emulated-getpid \
    -lwasi-emulated-process-clocks -lm

# --- The stdlib (pure Python part; compiled into the snapshot by the harness) --------------------
rm -rf "$out/stdlib.tmp"
mkdir -p "$out/stdlib.tmp"
(cd "$src/Lib" && find . -name '*.py' -not -path './test/*' -not -path '*/tests/*' \
    -not -path './idlelib/*' -not -path './tkinter/*' -not -path './lib2to3/*' -print0 \
    | xargs -0 cp --parents -t "$out/stdlib.tmp")
rm -rf "$out/stdlib"
mv "$out/stdlib.tmp" "$out/stdlib"
mv "$out/python-r1.wasm.tmp" "$out/python-r1.wasm"
log "built $out/python-r1.wasm"
