//! The binary packet decoder with no keys: arbitrary bytes must give
//! packets or errors, never a panic or an unbounded allocation.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wharf_ssh::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let mut d = Decoder::new();
    // Feed in two parts to exercise partial-packet paths.
    let split = data.first().map_or(0, |&b| b as usize).min(data.len());
    for part in [&data[..split], &data[split..]] {
        d.push(part);
        loop {
            match d.next_packet() {
                Ok(Some(p)) => assert!(!p.is_empty()),
                Ok(None) | Err(_) => break,
            }
        }
    }
});
