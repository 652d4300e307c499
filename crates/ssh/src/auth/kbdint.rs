//! keyboard-interactive (RFC 4256), driven by the driver: the core reports
//! the start of a dialogue, sends the questions the driver chooses
//! (`AuthDecision::InfoRequest`) and hands back the answers, checked
//! against the number of questions asked. A password prompt followed by a
//! one-time code is two rounds, or one round with two prompts.

use super::{AuthDecision, Pending, MAX_PASSWORD_LEN};
use crate::connection::{Connection, ProtocolError};
use crate::event::AuthAttempt;
use crate::msg;
use crate::wire::{Reader, WriteExt};
use zeroize::Zeroizing;

/// Rounds of questions in one dialogue. PAM conversations and
/// password-plus-code need two or three; the bound keeps a confused
/// driver from looping with a client forever.
const MAX_ROUNDS: u32 = 8;
/// Prompts in one INFO_REQUEST (and so answers accepted in a response).
pub const MAX_PROMPTS: usize = 16;
/// Longest submethods string kept from the request (a hint only).
const MAX_SUBMETHODS_LEN: usize = 256;
/// Longest name, instruction or prompt text sent.
const MAX_TEXT_LEN: usize = 4096;

/// One question of a keyboard-interactive round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub text: String,
    /// Whether the client may show what the user types (false for
    /// passwords).
    pub echo: bool,
}

impl Prompt {
    pub fn new(text: impl Into<String>, echo: bool) -> Self {
        Prompt {
            text: text.into(),
            echo,
        }
    }
}

/// One round of questions (RFC 4256 §3.2): a name and an instruction the
/// client may show, then the prompts. At most `MAX_PROMPTS` prompts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoRequest {
    pub name: String,
    pub instruction: String,
    pub prompts: Vec<Prompt>,
}

impl InfoRequest {
    /// The classic single "Password: " prompt without echo: what a driver
    /// answers `KeyboardInteractiveStart` with to offer plain password
    /// login over keyboard-interactive.
    pub fn password() -> Self {
        InfoRequest {
            name: String::new(),
            instruction: String::new(),
            prompts: vec![Prompt::new("Password: ", false)],
        }
    }
}

pub(crate) struct KbdState {
    rounds: u32,
    /// Prompts of the INFO_REQUEST awaiting its response; None while the
    /// driver is deciding.
    awaiting: Option<usize>,
}

impl Connection {
    /// Asks the client keyboard-interactive questions: the same as
    /// `auth_decision(AuthDecision::InfoRequest(..))`.
    pub fn auth_info_request(&mut self, name: &str, instruction: &str, prompts: Vec<Prompt>) {
        self.auth_decision(AuthDecision::InfoRequest(InfoRequest {
            name: name.to_string(),
            instruction: instruction.to_string(),
            prompts,
        }));
    }

    pub(crate) fn kbd_awaits_response(&self) -> bool {
        self.auth.kbd.as_ref().is_some_and(|k| k.awaiting.is_some())
    }

    pub(super) fn on_kbd_start(
        &mut self,
        r: &mut Reader<'_>,
        user: String,
    ) -> Result<(), ProtocolError> {
        let _lang = r.string()?;
        let submethods = r.string()?;
        r.finish()?;
        let submethods =
            String::from_utf8_lossy(submethods.get(..MAX_SUBMETHODS_LEN).unwrap_or(submethods))
                .into_owned();
        self.auth.kbd = Some(KbdState {
            rounds: 0,
            awaiting: None,
        });
        self.ask_driver(
            Pending::KbdStart,
            user,
            AuthAttempt::KeyboardInteractiveStart { submethods },
        );
        Ok(())
    }

    /// Sends the driver's questions, within the bounds on rounds and
    /// prompts; a driver over them fails the attempt.
    pub(super) fn send_info_request(&mut self, req: InfoRequest) {
        let rounds = self.auth.kbd.as_ref().map_or(0, |k| k.rounds);
        let too_long = [&req.name, &req.instruction]
            .into_iter()
            .chain(req.prompts.iter().map(|p| &p.text))
            .any(|s| s.len() > MAX_TEXT_LEN);
        if rounds >= MAX_ROUNDS || req.prompts.len() > MAX_PROMPTS || too_long {
            tracing::warn!(
                rounds,
                prompts = req.prompts.len(),
                "keyboard-interactive request over the limits; refusing"
            );
            self.auth.kbd = None;
            self.count_failure();
            return;
        }
        let mut p = Vec::with_capacity(64);
        p.put_u8(msg::USERAUTH_INFO_REQUEST);
        p.put_string(req.name.as_bytes());
        p.put_string(req.instruction.as_bytes());
        p.put_string(b""); // language tag, deprecated (RFC 4256 §3.2)
        p.put_u32(req.prompts.len() as u32);
        for prompt in &req.prompts {
            p.put_string(prompt.text.as_bytes());
            p.put_bool(prompt.echo);
        }
        self.send_payload(p);
        self.auth.kbd = Some(KbdState {
            rounds: rounds + 1,
            awaiting: Some(req.prompts.len()),
        });
    }

    pub(super) fn on_info_response(&mut self, body: &[u8]) -> Result<(), ProtocolError> {
        let expected = self
            .auth
            .kbd
            .as_mut()
            .and_then(|k| k.awaiting.take())
            .unwrap_or(0);
        let mut r = Reader::new(body);
        let count = r.u32()?;
        if usize::try_from(count).ok() != Some(expected) {
            // Answers that do not fit the questions are a failed attempt,
            // not a protocol error; the dialogue is over.
            self.auth.kbd = None;
            self.count_failure();
            return Ok(());
        }
        let mut answers = Vec::with_capacity(expected);
        for _ in 0..expected {
            let raw = r.string()?;
            match std::str::from_utf8(raw) {
                Ok(a) if a.len() <= MAX_PASSWORD_LEN => answers.push(Zeroizing::new(a.to_string())),
                _ => {
                    // RFC 4256 §3.4: responses are UTF-8.
                    self.auth.kbd = None;
                    self.count_failure();
                    return Ok(());
                }
            }
        }
        r.finish()?;
        let user = self.auth.attempted_user.clone().unwrap_or_default();
        self.ask_driver(
            Pending::KbdResponse,
            user,
            AuthAttempt::KeyboardInteractiveResponse(answers),
        );
        Ok(())
    }
}
