//! Sealing and opening one SSH binary packet in place, for every cipher and
//! MAC pairing the transport negotiates, at 32 KiB (OpenSSH's usual channel
//! packet) and 256 KiB (the largest SFTP message). This is the per-byte
//! floor of the data path: a regression here shows in every transfer.
//!
//! Run: `cargo bench -p wharf-crypto --bench packet`.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use wharf_crypto::packet::{CipherAlg, MacAlg, OpeningKey, SealingKey};

const SIZES: [usize; 2] = [32 * 1024, 256 * 1024];

/// Every cipher with the MACs it is used with: AEADs alone; CTR/CBC with
/// each MAC in both layouts (the MAC's hash dominates, so each is measured
/// once with aes128-ctr and the common ones again with the other ciphers).
fn pairings() -> Vec<(CipherAlg, Option<MacAlg>)> {
    let mut v = Vec::new();
    for &c in CipherAlg::ALL {
        if c.is_aead() {
            v.push((c, None));
        } else if c == CipherAlg::Aes128Ctr {
            for &m in MacAlg::ALL {
                v.push((c, Some(m)));
            }
        } else {
            v.push((c, Some(MacAlg::HmacSha256Etm)));
            v.push((c, Some(MacAlg::HmacSha256)));
        }
    }
    v
}

fn name(c: CipherAlg, m: Option<MacAlg>) -> String {
    match m {
        Some(m) => format!("{}+{}", c.name(), m.name()),
        None => c.name().to_owned(),
    }
}

/// Fixed, distinct key material: the benchmark measures speed, not secrecy.
fn material(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
}

fn keys(c: CipherAlg, m: Option<MacAlg>) -> (SealingKey, OpeningKey) {
    let key = material(c.key_len(), 1);
    let iv = material(c.iv_len(), 2);
    let mac_key = m.map(|m| (m, material(m.key_len(), 3)));
    let mac = mac_key.as_ref().map(|(m, k)| (*m, &k[..]));
    let s = SealingKey::new(c, &key, &iv, mac).expect("sealing key");
    let o = OpeningKey::new(c, &key, &iv, mac).expect("opening key");
    (s, o)
}

/// A packet laid out as the codec does: length, padding length, payload and
/// 4..=(4 + block) bytes of padding so the part after the AAD is whole
/// blocks. Returns the packet with room for the tag after it.
fn packet(payload: usize, block: usize, aad: usize, tag: usize) -> (Vec<u8>, usize) {
    let unpadded = 4 + 1 + payload;
    let mut pad = block - (unpadded - aad) % block;
    if pad < 4 {
        pad += block;
    }
    let len = unpadded + pad;
    let mut p = vec![0x5a; len + tag];
    let body = (len - 4) as u32;
    p[..4].copy_from_slice(&body.to_be_bytes());
    p[4] = pad as u8;
    (p, len)
}

fn seal(c: &mut Criterion) {
    let mut group = c.benchmark_group("seal");
    for (cipher, mac) in pairings() {
        for size in SIZES {
            let (mut s, _) = keys(cipher, mac);
            let (mut buf, len) = packet(size, s.block_size(), s.aad_len(), s.tag_len());
            group.throughput(Throughput::Bytes(size as u64));
            let mut seq = 0u32;
            group.bench_with_input(BenchmarkId::new(name(cipher, mac), size), &size, |b, _| {
                b.iter(|| {
                    // Ciphertext is sealed again in place: the cost per
                    // byte is the same and the buffer stays hot, as the
                    // codec's reused output buffer is.
                    let (p, t) = buf.split_at_mut(len);
                    s.seal(seq, p, t);
                    seq = seq.wrapping_add(1);
                    black_box(&buf);
                })
            });
        }
    }
    group.finish();
}

fn open(c: &mut Criterion) {
    let mut group = c.benchmark_group("open");
    for (cipher, mac) in pairings() {
        for size in SIZES {
            let (mut s, _) = keys(cipher, mac);
            let (mut sealed, len) = packet(size, s.block_size(), s.aad_len(), s.tag_len());
            {
                let (p, t) = sealed.split_at_mut(len);
                s.seal(0, p, t);
            }
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_with_input(BenchmarkId::new(name(cipher, mac), size), &size, |b, _| {
                // Keys carry per-direction state (CTR/CBC chain, GCM
                // counter), so each iteration opens packet 0 under fresh
                // keys; the setup (key schedule, copy of the sealed
                // packet) is outside the timed part.
                b.iter_batched_ref(
                    || (keys(cipher, mac).1, sealed.clone()),
                    |(o, work)| {
                        let (p, t) = work.split_at_mut(len);
                        o.decrypt_length(0, p);
                        o.open(0, p, t).expect("packet opens");
                        black_box(&work);
                    },
                    BatchSize::LargeInput,
                )
            });
        }
    }
    group.finish();
}

criterion_group!(benches, seal, open);
criterion_main!(benches);
