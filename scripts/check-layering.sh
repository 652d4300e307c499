#!/usr/bin/env bash
# The protocol crates stay sans-IO: no tokio (or any async runtime) in their
# dependency trees, and no unsafe code (each has #![forbid(unsafe_code)]),
# except where wharf-crypto opts in: it denies unsafe code and allows it in
# exactly the modules listed below (SIMD and calls into aws-lc's C).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0
for crate in wharf-ssh wharf-sftp wharf-scp wharf-vfs wharf-crypto; do
    if cargo tree -q -p "$crate" -e normal --prefix none | grep -E '^(tokio|async-std|smol|mio) ' >/dev/null; then
        echo "layering: $crate depends on an async runtime:"
        cargo tree -q -p "$crate" -e normal -i tokio 2>/dev/null | head -20 || true
        status=1
    fi
done
for lib in crates/ssh/src/lib.rs crates/sftp/src/lib.rs crates/scp/src/lib.rs crates/vfs/src/lib.rs; do
    if ! grep -q '^#!\[forbid(unsafe_code)\]' "$lib"; then
        echo "layering: $lib lacks #![forbid(unsafe_code)]"
        status=1
    fi
done
if ! grep -q '^#!\[deny(unsafe_code)\]' crates/crypto/src/lib.rs; then
    echo "layering: crates/crypto/src/lib.rs lacks #![deny(unsafe_code)]"
    status=1
fi
# Each opt-in is an attribute on a `mod` line's predecessor; list them.
allowed=$'crates/crypto/src/packet/mod.rs:mod ffi;\ncrates/crypto/src/packet/mod.rs:mod gcm_vaes;\ncrates/crypto/src/packet/poly1305/mod.rs:mod avx2;'
found=$(grep -rn -A1 'allow(unsafe_code)' crates/crypto/src | grep -E '^[^:]+-[0-9]+-' | sed -E 's/-[0-9]+-/:/' | sort)
if [[ "$found" != "$allowed" ]]; then
    echo "layering: wharf-crypto allows unsafe code in other places than packet::ffi, packet::gcm_vaes and packet::poly1305::avx2:"
    grep -rn 'allow(unsafe_code)' crates/crypto/src
    status=1
fi
[[ $status -eq 0 ]] && echo "layering: protocol crates are runtime-free; unsafe code only in wharf-crypto's three opt-in modules"
exit $status
