#!/usr/bin/env bash
# Packs the built fuzzer to run on another Linux x86_64 machine without Rust:
# fuzz/pack/{run-all.sh, dict/, corpus/, regressions/, bin/all, bin/lib/*.so*} and
# fuzz/pack.tar.gz (about 8 MB). `bin/all` is the one-binary build of every target
# (fuzz_targets/all.rs: `WRIT_FUZZ_TARGET` names the target; run-all.sh sets it), stripped
# of debug information (function names stay in crash stacks, line numbers go); PACK_ALL=1
# packs the fifteen per-target binaries as well (about 75 MB more).
#
#   cd fuzz && cargo +nightly fuzz build -O -a && ./pack.sh
#   # on the other machine:
#   tar xzf pack.tar.gz && FUZZ_BIN_DIR=pack/bin pack/run-all.sh 600 16
#
# The libraries copied are those `ldd` lists outside glibc (libstdc++, libgcc_s: libFuzzer
# is C++); glibc itself (libc, libm, ld-linux) comes from the other machine, which needs
# the same or a newer version (`ldd --version` on both; built here with glibc 2.36).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
src="${1:-$here/target/x86_64-unknown-linux-gnu/release}"
pack="$here/pack"
bins=(all)
if [ "${PACK_ALL:-0}" = 1 ]; then
  bins+=(policy request batch authzen registry webauthn_client_data webauthn_auth_data webauthn_attestation
         cose_key grant invitation audit repl_line invariants callers_toml jwks jwt client_cert)
fi
rm -rf "$pack"
mkdir -p "$pack/bin/lib"
cp -r "$here/run-all.sh" "$here/dict" "$here/corpus" "$here/regressions" "$pack/"
for b in "${bins[@]}"; do
  cp "$src/$b" "$pack/bin/"
  strip --strip-debug "$pack/bin/$b"
  ldd "$src/$b" | awk '$3 ~ /^\// {print $3}' | while read -r lib; do
    case "$(basename "$lib")" in
      libc.so*|libm.so*|libpthread.so*|libdl.so*|librt.so*|ld-linux*) ;;
      *) cp -n "$lib" "$pack/bin/lib/" ;;
    esac
  done
done
tar czf "$here/pack.tar.gz" -C "$here" pack
echo "packed: $here/pack.tar.gz ($(du -h "$here/pack.tar.gz" | cut -f1)); libraries: $(ls "$pack/bin/lib" | tr '\n' ' ')"
