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
