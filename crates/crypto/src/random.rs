//! The system's cryptographic random number generator.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

/// Fills `out` with random bytes from the operating system's CSPRNG.
///
/// aws-lc's generator does not fail on Linux once seeded; a failure here
/// means the process cannot do any cryptography at all, so it aborts the
/// operation loudly rather than continuing with predictable bytes.
pub fn fill(out: &mut [u8]) {
    SystemRandom::new()
        .fill(out)
        .expect("the system random number generator failed");
}

/// Seeds the generator now rather than on first use: aws-lc gathers its
/// CPU-jitter entropy then, tens of milliseconds of CPU (about 70 ms on a
/// small VM), which a server should spend at start-up, not in its first
/// client's key exchange.
pub fn warm_up() {
    fill(&mut [0u8; 1]);
}
