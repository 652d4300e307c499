//! The socket's receive low-water mark (SO_RCVLOWAT), which neither socket2
//! nor rustix wraps: hence the one `setsockopt` call of our own here.
//!
//! During an upload the client sends faster than a loopback or LAN path
//! delivers in one piece, and the server, which spends less per byte than
//! the client, keeps catching up and going to sleep: about 24 wake-ups per
//! MiB, each a context switch and an `epoll_wait`. When the driver knows
//! the client is certain to send N more bytes (the rest of a request or of
//! a file), a low-water mark of N lets the kernel wake it once for all of
//! them. Linux still wakes the reader early when the buffer or the TCP
//! window runs short, at EOF and on errors.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::time::{Duration, Instant};

/// Fewer certain bytes than this are not worth a system call to wait for.
const MIN_MARK: usize = 16 * 1024;
/// Wake at least once per this many bytes (the engine writes what came).
const MAX_MARK: usize = 256 * 1024;
/// A client can stop sending in the middle of a request: one that starts a
/// key exchange sends nothing else until we answer it. If no wake-up came
/// for this long after the mark was raised or the socket last woke us, the
/// mark is dropped until data comes.
const PATIENCE: Duration = Duration::from_millis(10);

/// The mark a connection's socket has, and when to stop relying on it.
#[derive(Debug)]
pub(super) struct LowWater {
    mark: usize,
    raised_at: Option<Instant>,
    paused: bool,
}

impl LowWater {
    pub(super) fn new() -> Self {
        LowWater {
            mark: 1,
            raised_at: None,
            paused: false,
        }
    }

    /// Before waiting for the socket: `certain` bytes are sure to come.
    /// Returns when to call `give_up` if no wake-up came before then.
    pub(super) fn before_wait(
        &mut self,
        socket: &impl AsFd,
        certain: usize,
        now: Instant,
    ) -> Option<Instant> {
        let mut target = if self.paused || certain < MIN_MARK {
            1
        } else {
            certain.min(MAX_MARK)
        };
        if target > 1 && target != self.mark {
            // Linux grows the receive buffer for a mark it cannot hold and
            // then clamps the TCP window to the mark until autotuning grows
            // the buffer again: on a long path that would slow the client.
            // Staying well inside the buffer the socket has avoids both.
            let buffer = socket2::SockRef::from(socket)
                .recv_buffer_size()
                .unwrap_or(0);
            target = target.min(buffer / 4);
            if target < MIN_MARK {
                target = 1;
            }
        }
        if target != self.mark {
            match set(socket, target) {
                Ok(()) => {
                    self.mark = target;
                    self.raised_at = (target > 1).then_some(now);
                }
                // Not fatal: the socket wakes us for every arrival, as
                // before. Keep the mark we know it has.
                Err(e) => tracing::debug!(error = %e, "SO_RCVLOWAT not set"),
            }
        }
        self.raised_at.map(|t| t + PATIENCE)
    }

    /// The socket woke us: the client is sending, so the patience starts
    /// again from now.
    pub(super) fn woke(&mut self, now: Instant) {
        self.paused = false;
        if self.mark > 1 {
            self.raised_at = Some(now);
        }
    }

    /// The patience ran out: wait for any byte until the next wake-up.
    pub(super) fn give_up(&mut self) {
        self.paused = true;
    }
}

/// Sets the low-water mark to `bytes` (at least 1, the default).
pub(super) fn set(socket: &impl AsFd, bytes: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(bytes.max(1)).unwrap_or(libc::c_int::MAX);
    let fd = socket.as_fd();
    // SAFETY: `fd` is borrowed from a live socket for the duration of the
    // call, and setsockopt reads exactly `size_of::<c_int>()` bytes from a
    // pointer to `value`, a c_int on our stack.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVLOWAT,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    fn low_water(s: &TcpStream) -> libc::c_int {
        let mut value: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: getsockopt writes at most `len` bytes into `value`, a
        // c_int on our stack, and the fd is live for the call.
        let rc = unsafe {
            libc::getsockopt(
                s.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVLOWAT,
                (&mut value as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!(rc, 0);
        value
    }

    #[test]
    fn sets_and_resets_the_mark_and_data_still_arrives() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        set(&server, 100_000).unwrap();
        assert_eq!(low_water(&server), 100_000);
        set(&server, 0).unwrap();
        assert_eq!(low_water(&server), 1);
        client.write_all(b"hello").unwrap();
        let mut buf = [0u8; 5];
        server.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
    }

    #[test]
    fn the_mark_follows_what_is_certain_and_gives_way_after_a_while() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let _client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        let mut lw = LowWater::new();
        let now = Instant::now();
        // Within a quarter of the receive buffer the socket has.
        let buffer = socket2::SockRef::from(&server).recv_buffer_size().unwrap();
        lw.before_wait(&server, 10 << 20, now);
        assert_eq!(
            low_water(&server) as usize,
            (buffer / 4).min(MAX_MARK),
            "buffer {buffer}"
        );
        lw.give_up();
        lw.before_wait(&server, 0, now);
        lw.woke(now);
        socket2::SockRef::from(&server)
            .set_recv_buffer_size(4 << 20)
            .unwrap();
        // Too little to be worth it.
        assert_eq!(lw.before_wait(&server, MIN_MARK - 1, now), None);
        assert_eq!(low_water(&server), 1);
        // The rest of a large request: capped, with a deadline.
        assert_eq!(lw.before_wait(&server, 10 << 20, now), Some(now + PATIENCE));
        assert_eq!(low_water(&server), MAX_MARK as libc::c_int);
        // Unchanged and no wake-up since: the deadline still counts from
        // when it was raised.
        let later = now + Duration::from_millis(3);
        assert_eq!(
            lw.before_wait(&server, 10 << 20, later),
            Some(now + PATIENCE)
        );
        // The socket woke us (the mark was met): patience starts again.
        lw.woke(later);
        assert_eq!(
            lw.before_wait(&server, 10 << 20, later),
            Some(later + PATIENCE)
        );
        assert_eq!(low_water(&server), MAX_MARK as libc::c_int);
        // Nothing came in time: back to waking for every byte, no deadline.
        lw.give_up();
        assert_eq!(lw.before_wait(&server, 10 << 20, later), None);
        assert_eq!(low_water(&server), 1);
        // Data came: the mark may rise again.
        lw.woke(later);
        assert_eq!(
            lw.before_wait(&server, 50_000, later),
            Some(later + PATIENCE)
        );
        assert_eq!(low_water(&server), 50_000);
    }
}
