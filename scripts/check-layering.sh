#!/usr/bin/env bash
# The protocol crates stay sans-IO: no tokio (or any async runtime) in their
# dependency trees, and no unsafe code (each has #![forbid(unsafe_code)]).
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
for lib in crates/ssh/src/lib.rs crates/sftp/src/lib.rs crates/scp/src/lib.rs crates/vfs/src/lib.rs crates/crypto/src/lib.rs; do
    if ! grep -q '^#!\[forbid(unsafe_code)\]' "$lib"; then
        echo "layering: $lib lacks #![forbid(unsafe_code)]"
        status=1
    fi
done
[[ $status -eq 0 ]] && echo "layering: protocol crates are runtime-free and forbid unsafe code"
exit $status
