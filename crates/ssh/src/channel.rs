//! The connection protocol (RFC 4254): session channels with window and
//! maximum-packet flow control, channel and global requests.

use crate::connection::{Connection, ProtocolError};
use crate::event::{ChannelId, ChannelRequest, Event};
use crate::msg;
use crate::wire::{Reader, WriteExt};
use std::io::IoSliceMut;

/// Longest command or subsystem name accepted in a channel request.
const MAX_COMMAND_LEN: usize = 8192;
/// The smallest maximum packet size a client may announce; below this a
/// data packet's overhead would dominate (OpenSSH refuses < 1 KiB too).
const MIN_REMOTE_MAX_PACKET: u32 = 1024;

/// A CHANNEL_DATA payload's bytes before the data: type, channel, length.
const DATA_HEADER: usize = 1 + 4 + 4;
/// At most this many packets per `channel_send_in_place`: a bound on its
/// scatter list whatever packet size the client announced.
const MAX_IN_PLACE_PACKETS: usize = 64;

/// The most channel data one packet carries for a client that announced
/// `remote_max_packet`. RFC 4254 §5.2 counts only the data, but some
/// clients count more: stay conservative.
fn data_chunk_max(remote_max_packet: u32) -> usize {
    (remote_max_packet as usize).saturating_sub(64).max(512)
}

pub(crate) struct Channel {
    remote_id: u32,
    /// Bytes the client may still send before we adjust its window.
    local_window: u32,
    /// The window we keep giving the client: `channel_window`, grown up to
    /// `channel_window_max` (see `channel_consumed`).
    window_size: u32,
    /// Bytes delivered to the driver and consumed, not yet given back.
    consumed: u32,
    /// Bytes we may still send.
    remote_window: u64,
    /// The largest window the client has given: what waiting for its
    /// window to reopen can get.
    remote_window_peak: u64,
    remote_max_packet: u32,
    eof_received: bool,
    eof_sent: bool,
    close_received: bool,
    close_sent: bool,
    /// A request the driver has not answered yet, with whether the client
    /// wants a reply. Requests are answered in order (RFC 4254 §5.4), so
    /// later ones wait in `queued_requests`.
    pending_request_reply: Option<bool>,
    /// Data received and not yet taken by the driver. Bounded by the
    /// window we granted: the client cannot send more than that before the
    /// driver consumes some.
    inbox: Vec<u8>,
}

#[derive(Default)]
pub(crate) struct Channels {
    slots: Vec<Option<Channel>>,
}

impl Channel {
    /// Checks `len` bytes of incoming data against the state and the window
    /// we granted, and takes them off the window.
    fn accept_data(&mut self, len: usize, max_packet: u32) -> Result<(), ProtocolError> {
        if self.eof_received || self.close_received {
            return Err(ProtocolError::new("channel data after EOF"));
        }
        if len > self.local_window as usize || len > max_packet as usize {
            return Err(ProtocolError::new("channel data exceeds the window"));
        }
        self.local_window -= len as u32;
        Ok(())
    }
}

impl Channels {
    /// SSH_MSG_CHANNEL_DATA: appends the data to the channel's inbox, where
    /// the driver takes it (`Connection::channel_take_data`). Separate from
    /// the other messages so it can run while the payload still borrows the
    /// receive buffer; `payload` starts with the message number.
    pub(crate) fn on_data(
        &mut self,
        payload: &[u8],
        max_packet: u32,
        events: &mut std::collections::VecDeque<Event>,
    ) -> Result<(), ProtocolError> {
        let mut r = Reader::new(payload.get(1..).unwrap_or_default());
        let id = r.u32()?;
        let data = r.string()?;
        r.finish()?;
        let ch = self
            .get(id)
            .ok_or_else(|| ProtocolError::new(format!("message for unknown channel {id}")))?;
        ch.accept_data(data.len(), max_packet)?;
        if data.is_empty() {
            return Ok(());
        }
        if ch.inbox.is_empty() {
            events.push_back(Event::ChannelData {
                channel: ChannelId(id),
            });
        }
        ch.inbox.extend_from_slice(data);
        Ok(())
    }

    fn get(&mut self, id: u32) -> Option<&mut Channel> {
        self.slots.get_mut(id as usize).and_then(|c| c.as_mut())
    }

    fn open_count(&self) -> usize {
        self.slots.iter().filter(|c| c.is_some()).count()
    }

    fn insert(&mut self, ch: Channel) -> u32 {
        if let Some(i) = self.slots.iter().position(|c| c.is_none()) {
            self.slots[i] = Some(ch);
            i as u32
        } else {
            self.slots.push(Some(ch));
            (self.slots.len() - 1) as u32
        }
    }
}

impl Connection {
    pub(crate) fn handle_connection_message(
        &mut self,
        payload: &[u8],
    ) -> Result<(), ProtocolError> {
        let mut r = Reader::new(&payload[1..]);
        match payload[0] {
            msg::GLOBAL_REQUEST => {
                let name = r.string()?;
                let want_reply = r.bool()?;
                tracing::debug!(request = %String::from_utf8_lossy(name), "global request refused");
                // keepalive@openssh.com and everything else: RFC 4254 §4
                // says unknown requests get REQUEST_FAILURE; port
                // forwarding (tcpip-forward) is refused the same way, which
                // OpenSSH's client reports to the user.
                if want_reply {
                    self.send_payload(vec![msg::REQUEST_FAILURE]);
                }
                Ok(())
            }
            msg::CHANNEL_OPEN => self.on_channel_open(&mut r),
            msg::CHANNEL_WINDOW_ADJUST => {
                let id = r.u32()?;
                let add = r.u32()?;
                let ch = self.channel(id)?;
                // The window may not exceed 2^32-1 (RFC 4254 §5.2).
                ch.remote_window = (ch.remote_window + add as u64).min(u32::MAX as u64);
                ch.remote_window_peak = ch.remote_window_peak.max(ch.remote_window);
                self.events.push_back(Event::ChannelWritable {
                    channel: ChannelId(id),
                });
                Ok(())
            }
            msg::CHANNEL_DATA => {
                self.channels
                    .on_data(payload, self.config.channel_max_packet, &mut self.events)
            }
            msg::CHANNEL_EXTENDED_DATA => {
                let id = r.u32()?;
                r.u32()?;
                let data = r.string()?;
                r.finish()?;
                let max_packet = self.config.channel_max_packet;
                let ch = self.channel(id)?;
                ch.accept_data(data.len(), max_packet)?;
                // Extended data (stderr) from a client means nothing to a
                // file server; it only counts against the window.
                self.channel_consumed(ChannelId(id), data.len());
                Ok(())
            }
            msg::CHANNEL_EOF => {
                let id = r.u32()?;
                self.channel(id)?.eof_received = true;
                self.events.push_back(Event::ChannelEof {
                    channel: ChannelId(id),
                });
                Ok(())
            }
            msg::CHANNEL_CLOSE => {
                let id = r.u32()?;
                let ch = self.channel(id)?;
                ch.close_received = true;
                let remote_id = ch.remote_id;
                if !ch.close_sent {
                    ch.close_sent = true;
                    let mut p = Vec::with_capacity(5);
                    p.put_u8(msg::CHANNEL_CLOSE);
                    p.put_u32(remote_id);
                    self.send_payload(p);
                }
                self.channels.slots[id as usize] = None;
                self.events.push_back(Event::ChannelClosed {
                    channel: ChannelId(id),
                });
                Ok(())
            }
            msg::CHANNEL_REQUEST => self.on_channel_request(&mut r),
            msg::CHANNEL_SUCCESS
            | msg::CHANNEL_FAILURE
            | msg::REQUEST_SUCCESS
            | msg::REQUEST_FAILURE => {
                // Replies to requests we never send; harmless.
                Ok(())
            }
            msg::CHANNEL_OPEN_CONFIRMATION | msg::CHANNEL_OPEN_FAILURE => Err(ProtocolError::new(
                "reply to a channel open we did not send",
            )),
            _ => {
                let mut p = Vec::with_capacity(5);
                p.put_u8(msg::UNIMPLEMENTED);
                p.put_u32(self.decoder.seq().wrapping_sub(1));
                self.send_payload(p);
                Ok(())
            }
        }
    }

    fn channel(&mut self, id: u32) -> Result<&mut Channel, ProtocolError> {
        self.channels
            .get(id)
            .ok_or_else(|| ProtocolError::new(format!("message for unknown channel {id}")))
    }

    fn on_channel_open(&mut self, r: &mut Reader<'_>) -> Result<(), ProtocolError> {
        let kind = r.string()?;
        let remote_id = r.u32()?;
        let remote_window = r.u32()?;
        let remote_max_packet = r.u32()?;
        let refuse = |conn: &mut Connection, code: u32, text: &str| {
            let mut p = Vec::with_capacity(32 + text.len());
            p.put_u8(msg::CHANNEL_OPEN_FAILURE);
            p.put_u32(remote_id);
            p.put_u32(code);
            p.put_string(text.as_bytes());
            p.put_string(b"");
            conn.send_payload(p);
        };
        if kind != b"session" {
            let text = match kind {
                b"direct-tcpip" | b"forwarded-tcpip" | b"direct-streamlocal@openssh.com" => {
                    "port forwarding is disabled on this server"
                }
                b"x11" => "X11 forwarding is disabled on this server",
                b"auth-agent@openssh.com" => "agent forwarding is disabled on this server",
                _ => "unknown channel type",
            };
            refuse(self, msg::open_failure::ADMINISTRATIVELY_PROHIBITED, text);
            return Ok(());
        }
        if remote_max_packet < MIN_REMOTE_MAX_PACKET {
            refuse(
                self,
                msg::open_failure::RESOURCE_SHORTAGE,
                "maximum packet size too small",
            );
            return Ok(());
        }
        if self.channels.open_count() >= self.config.max_channels {
            refuse(
                self,
                msg::open_failure::RESOURCE_SHORTAGE,
                "too many channels",
            );
            return Ok(());
        }
        let window = self.config.channel_window;
        let max_packet = self.config.channel_max_packet;
        let id = self.channels.insert(Channel {
            remote_id,
            local_window: window,
            window_size: window,
            consumed: 0,
            remote_window: remote_window as u64,
            remote_window_peak: remote_window as u64,
            remote_max_packet,
            eof_received: false,
            eof_sent: false,
            close_received: false,
            close_sent: false,
            pending_request_reply: None,
            inbox: Vec::new(),
        });
        let mut p = Vec::with_capacity(17);
        p.put_u8(msg::CHANNEL_OPEN_CONFIRMATION);
        p.put_u32(remote_id);
        p.put_u32(id);
        p.put_u32(window);
        p.put_u32(max_packet);
        self.send_payload(p);
        self.events.push_back(Event::ChannelOpened {
            channel: ChannelId(id),
        });
        Ok(())
    }

    fn on_channel_request(&mut self, r: &mut Reader<'_>) -> Result<(), ProtocolError> {
        let id = r.u32()?;
        let name = r.string()?;
        let want_reply = r.bool()?;
        self.channel(id)?;
        let request = match name {
            b"subsystem" | b"exec" => {
                let arg = r.string()?;
                if arg.len() > MAX_COMMAND_LEN {
                    None
                } else {
                    let arg = String::from_utf8_lossy(arg).into_owned();
                    Some(if name == b"exec" {
                        ChannelRequest::Exec(arg)
                    } else {
                        ChannelRequest::Subsystem(arg)
                    })
                }
            }
            b"shell" => Some(ChannelRequest::Shell),
            _ => None,
        };
        let ch = self.channel(id)?;
        match request {
            Some(request) if ch.pending_request_reply.is_none() => {
                ch.pending_request_reply = Some(want_reply);
                self.events.push_back(Event::ChannelRequest {
                    channel: ChannelId(id),
                    request,
                });
            }
            Some(_) => {
                return Err(ProtocolError::new(
                    "channel request while another is pending",
                ))
            }
            None => {
                // pty-req, x11-req, auth-agent-req@openssh.com, env,
                // window-change, signal...: refused; OpenSSH's client tells
                // the user ("PTY allocation request failed on channel 0").
                tracing::debug!(request = %String::from_utf8_lossy(name), "channel request refused");
                if want_reply {
                    let remote_id = ch.remote_id;
                    let mut p = Vec::with_capacity(5);
                    p.put_u8(msg::CHANNEL_FAILURE);
                    p.put_u32(remote_id);
                    self.send_payload(p);
                }
            }
        }
        Ok(())
    }

    // ----- the driver's channel commands -----

    /// Answers the pending `Event::ChannelRequest` on `channel`.
    pub fn channel_request_reply(&mut self, channel: ChannelId, ok: bool) {
        let Some(ch) = self.channels.get(channel.0) else {
            return;
        };
        let Some(want_reply) = ch.pending_request_reply.take() else {
            return;
        };
        if want_reply {
            let remote_id = ch.remote_id;
            let mut p = Vec::with_capacity(5);
            p.put_u8(if ok {
                msg::CHANNEL_SUCCESS
            } else {
                msg::CHANNEL_FAILURE
            });
            p.put_u32(remote_id);
            self.send_payload(p);
        }
    }

    /// Moves the data received on `channel` to the end of `buf` and returns
    /// how much that was. When `buf` is empty the buffers are swapped rather
    /// than copied. The client's window reopens only as the driver reports
    /// the bytes used with `channel_consumed`.
    pub fn channel_take_data(&mut self, channel: ChannelId, buf: &mut Vec<u8>) -> usize {
        let Some(ch) = self.channels.get(channel.0) else {
            return 0;
        };
        let n = ch.inbox.len();
        if buf.is_empty() {
            std::mem::swap(buf, &mut ch.inbox);
        } else {
            buf.extend_from_slice(&ch.inbox);
            ch.inbox.clear();
        }
        if ch.inbox.capacity() > 0 && n < 4096 {
            // Small, interactive input: do not keep a buffer per idle channel.
            ch.inbox = Vec::new();
        }
        n
    }

    /// Like `channel_take_data`, taking at most `max` bytes (a bandwidth
    /// limit); the rest stays for later.
    pub fn channel_take_data_up_to(
        &mut self,
        channel: ChannelId,
        buf: &mut Vec<u8>,
        max: usize,
    ) -> usize {
        let Some(ch) = self.channels.get(channel.0) else {
            return 0;
        };
        if max >= ch.inbox.len() {
            return self.channel_take_data(channel, buf);
        }
        buf.extend_from_slice(&ch.inbox[..max]);
        ch.inbox.drain(..max);
        max
    }

    /// Gives back bytes the driver took but could not use yet (the start of
    /// a request still arriving), to be taken again in front of what comes
    /// next. New data is then appended to them as it is decrypted, so the
    /// next `channel_take_data` is a swap rather than a copy onto them.
    /// Done only while nothing is pending, by swapping buffers; returns
    /// whether it was done (`buf` is then empty).
    pub fn channel_unread(&mut self, channel: ChannelId, buf: &mut Vec<u8>) -> bool {
        match self.channels.get(channel.0) {
            Some(ch) if ch.inbox.is_empty() && !ch.close_received => {
                std::mem::swap(&mut ch.inbox, buf);
                buf.clear();
                true
            }
            _ => false,
        }
    }

    /// How many more data bytes the client may send on `channel` before it
    /// needs a window adjust.
    pub fn channel_receive_window(&mut self, channel: ChannelId) -> usize {
        self.channels
            .get(channel.0)
            .map_or(0, |ch| ch.local_window as usize)
    }

    /// Bytes received on `channel` that the driver has not taken yet.
    pub fn channel_pending_data(&mut self, channel: ChannelId) -> usize {
        self.channels.get(channel.0).map_or(0, |ch| ch.inbox.len())
    }

    /// How many bytes `channel_send` would accept now.
    pub fn channel_send_capacity(&mut self, channel: ChannelId) -> usize {
        if self.kex.blocks_output() || self.closed().is_some() {
            return 0;
        }
        match self.channels.get(channel.0) {
            Some(ch) if !ch.eof_sent && !ch.close_sent => ch.remote_window as usize,
            _ => 0,
        }
    }

    /// Sends up to `len` bytes of channel data that `fill` writes in place:
    /// `fill` gets the data areas of the packets that will carry them, in
    /// order (each at most the client's packet size), writes from the start
    /// and returns how many bytes it wrote. Only those are sent. A file read
    /// thus lands where it is encrypted, with no copy in between.
    ///
    /// Returns None, without calling `fill`, when `len` is 0 or more than
    /// `channel_send_capacity` allows now, or would take too many packets.
    pub fn channel_send_in_place(
        &mut self,
        channel: ChannelId,
        len: usize,
        fill: impl FnOnce(&mut [IoSliceMut<'_>]) -> usize,
    ) -> Option<usize> {
        if len == 0 || len > self.channel_send_capacity(channel) {
            return None;
        }
        let chunk_max = data_chunk_max(self.channels.get(channel.0)?.remote_max_packet);
        if len.div_ceil(chunk_max) > MAX_IN_PLACE_PACKETS {
            return None;
        }
        Some(self.send_data_in_place(channel, None, len, fill))
    }

    /// Bytes of output waiting to be written by the driver.
    pub fn pending_output_len(&self) -> usize {
        self.tx.pending_len()
    }

    /// The largest window the client has given on `channel`: data up to
    /// this size can be sent in one piece once the client's window reopens.
    pub fn channel_window_peak(&mut self, channel: ChannelId) -> usize {
        self.channels
            .get(channel.0)
            .map_or(0, |ch| ch.remote_window_peak as usize)
    }

    /// Sends channel data as far as the client's window allows; returns how
    /// many bytes were taken. The rest should be offered again after
    /// `Event::ChannelWritable`.
    pub fn channel_send(&mut self, channel: ChannelId, data: &[u8]) -> usize {
        self.channel_send_copy(channel, data, None)
    }

    /// Like `channel_send`, as extended data type 1 (stderr).
    pub fn channel_send_stderr(&mut self, channel: ChannelId, data: &[u8]) -> usize {
        self.channel_send_copy(channel, data, Some(1))
    }

    fn channel_send_copy(&mut self, channel: ChannelId, data: &[u8], ext: Option<u32>) -> usize {
        let total = data.len().min(self.channel_send_capacity(channel));
        if total == 0 {
            return 0;
        }
        self.send_data_in_place(channel, ext, total, |areas| {
            let mut at = 0;
            for area in areas.iter_mut() {
                let n = area.len();
                area.copy_from_slice(&data[at..at + n]);
                at += n;
            }
            at
        })
    }

    /// Lays out the packets for `len` bytes of data (extended data of type
    /// `ext` if given) at the end of the output, lets `fill` write into
    /// their data areas, then frames and seals the packets that hold data
    /// and drops the rest. `len` must be within the window. Returns the
    /// bytes `fill` reported.
    fn send_data_in_place(
        &mut self,
        channel: ChannelId,
        ext: Option<u32>,
        len: usize,
        fill: impl FnOnce(&mut [IoSliceMut<'_>]) -> usize,
    ) -> usize {
        let Some(ch) = self.channels.get(channel.0) else {
            return 0;
        };
        let remote_id = ch.remote_id;
        let chunk_max = data_chunk_max(ch.remote_max_packet);
        let header_len = if ext.is_some() {
            DATA_HEADER + 4
        } else {
            DATA_HEADER
        };
        let data_at = 5 + header_len;
        let packets = len.div_ceil(chunk_max);
        let full_size = self.encoder.packet_size(header_len + chunk_max);
        let last_chunk = len - (packets - 1) * chunk_max;
        let begin = self.tx.end();
        let size = (packets - 1) * full_size + self.encoder.packet_size(header_len + last_chunk);
        self.tx.grow(size);

        // The data areas, in order, as slices of the packets just laid out.
        let mut areas = Vec::with_capacity(packets);
        let mut rest = self.tx.slice_mut(begin..begin + size);
        for i in 0..packets {
            let (packet_size, chunk) = if i + 1 < packets {
                (full_size, chunk_max)
            } else {
                (rest.len(), last_chunk)
            };
            let (packet, tail) = std::mem::take(&mut rest).split_at_mut(packet_size);
            rest = tail;
            areas.push(IoSliceMut::new(&mut packet[data_at..data_at + chunk]));
        }
        let written = fill(&mut areas).min(len);
        drop(areas);

        // Frame and seal the packets that hold data, in order; the last may
        // be short, and any after it are dropped.
        let mut at = begin;
        let mut left = written;
        while left > 0 {
            let chunk = left.min(chunk_max);
            let payload_len = header_len + chunk;
            let size = self.encoder.packet_size(payload_len);
            let packet = self.tx.slice_mut(at..at + size);
            let header = &mut packet[5..data_at];
            header[1..5].copy_from_slice(&remote_id.to_be_bytes());
            match ext {
                None => header[0] = msg::CHANNEL_DATA,
                Some(code) => {
                    header[0] = msg::CHANNEL_EXTENDED_DATA;
                    header[5..9].copy_from_slice(&code.to_be_bytes());
                }
            }
            header[header_len - 4..].copy_from_slice(&(chunk as u32).to_be_bytes());
            self.encoder.frame(packet, payload_len);
            self.encoder.seal_framed(packet);
            at += size;
            left -= chunk;
        }
        self.tx.truncate(at);
        if let Some(ch) = self.channels.get(channel.0) {
            ch.remote_window -= written as u64;
        }
        written
    }

    /// The driver used `n` bytes of data received on `channel`. Every
    /// eighth of the window used is given back in one WINDOW_ADJUST, so a
    /// client on a long path never waits for a whole round trip's worth.
    ///
    /// The window grows, up to `channel_window_max`, only while we keep up
    /// (what the client sent has been taken): to the transport's receive
    /// buffer (see `set_transport_receive_buffer`), and, doubling, for a
    /// client that has used most of its window, which is then held back by
    /// the window rather than by us.
    pub fn channel_consumed(&mut self, channel: ChannelId, n: usize) {
        let window_max = self.config.channel_window_max;
        let path_window = u32::try_from(self.transport_receive_buffer).unwrap_or(u32::MAX);
        let Some(ch) = self.channels.get(channel.0) else {
            return;
        };
        if ch.close_received {
            return;
        }
        ch.consumed = ch.consumed.saturating_add(n.min(u32::MAX as usize) as u32);
        if ch.consumed >= (ch.window_size / 8).max(1) && !ch.eof_received {
            let mut add = ch.consumed;
            let waiting_on_window = ch.local_window < ch.window_size / 4;
            let keeping_up = ch.inbox.len() < (ch.window_size / 8) as usize;
            let mut grown = ch.window_size;
            if keeping_up {
                grown = grown.max(path_window);
                if waiting_on_window {
                    grown = grown.max(ch.window_size.saturating_mul(2));
                }
            }
            let grown = grown.min(window_max).max(ch.window_size);
            add = add.saturating_add(grown - ch.window_size);
            ch.window_size = grown;
            ch.consumed = 0;
            ch.local_window = ch.local_window.saturating_add(add);
            let remote_id = ch.remote_id;
            let mut p = Vec::with_capacity(9);
            p.put_u8(msg::CHANNEL_WINDOW_ADJUST);
            p.put_u32(remote_id);
            p.put_u32(add);
            self.send_payload(p);
        }
    }

    /// Sends exit-status (for exec and shell requests).
    pub fn channel_exit_status(&mut self, channel: ChannelId, status: u32) {
        let Some(ch) = self.channels.get(channel.0) else {
            return;
        };
        if ch.close_sent {
            return;
        }
        let remote_id = ch.remote_id;
        let mut p = Vec::with_capacity(32);
        p.put_u8(msg::CHANNEL_REQUEST);
        p.put_u32(remote_id);
        p.put_string(b"exit-status");
        p.put_bool(false);
        p.put_u32(status);
        self.send_payload(p);
    }

    pub fn channel_eof(&mut self, channel: ChannelId) {
        let Some(ch) = self.channels.get(channel.0) else {
            return;
        };
        if ch.eof_sent || ch.close_sent {
            return;
        }
        ch.eof_sent = true;
        let remote_id = ch.remote_id;
        let mut p = Vec::with_capacity(5);
        p.put_u8(msg::CHANNEL_EOF);
        p.put_u32(remote_id);
        self.send_payload(p);
    }

    /// Closes our side; the channel is freed when the client's CLOSE comes.
    pub fn channel_close(&mut self, channel: ChannelId) {
        let Some(ch) = self.channels.get(channel.0) else {
            return;
        };
        if ch.close_sent {
            return;
        }
        ch.close_sent = true;
        let remote_id = ch.remote_id;
        let mut p = Vec::with_capacity(5);
        p.put_u8(msg::CHANNEL_CLOSE);
        p.put_u32(remote_id);
        self.send_payload(p);
    }
}
