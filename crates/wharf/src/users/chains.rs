//! Multi-step authentication, as OpenSSH's `AuthenticationMethods`: a
//! list of method lists (`["publickey,password", "publickey,keyboard-interactive"]`);
//! completing every method of any one list, in its order, logs the user in.
//!
//! The evaluation follows sshd's auth2.c (`auth2_update_methods_lists`):
//! when a method succeeds, it is removed from the head of every list that
//! starts with it; a method is allowed only when some list starts with it;
//! the user is in when a list becomes empty. The SSH core remembers which
//! methods completed in this connection, so the state here is recomputed
//! from that sequence on every step instead of being kept per connection.

use wharf_ssh::AuthMethod;

/// One chain: the methods to complete, in order.
pub type MethodList = Vec<AuthMethod>;

/// What a successful method means for the chains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// No chain starts with this method now: the attempt must be refused
    /// even though its credential was right.
    NotAllowed,
    /// A chain is complete (or there are no chains): log in.
    Done,
    /// More is needed; these methods may continue.
    Continue(Vec<AuthMethod>),
}

/// Parses one `authentication_methods` entry ("publickey,password").
pub fn parse_method_list(text: &str) -> Result<MethodList, String> {
    let mut list = Vec::new();
    for name in text.split(',') {
        let name = name.trim();
        let Some(m) = AuthMethod::from_name(name) else {
            return Err(format!(
                "unknown method `{name}` in \"{text}\"; expected publickey, password, \
                 keyboard-interactive or hostbased"
            ));
        };
        // The core never lets a method succeed twice in one chain (it
        // refuses a method that already succeeded), so a list naming one
        // twice could never complete: refused here rather than at login.
        if list.contains(&m) {
            return Err(format!(
                "method `{name}` is listed twice in \"{text}\"; a method can complete only once"
            ));
        }
        list.push(m);
    }
    Ok(list)
}

/// The lists as they stand after `completed` succeeded, in order.
fn remaining(lists: &[MethodList], completed: &[AuthMethod]) -> Vec<MethodList> {
    let mut lists: Vec<MethodList> = lists.to_vec();
    for m in completed {
        for list in &mut lists {
            if list.first() == Some(m) {
                list.remove(0);
            }
        }
    }
    lists
}

/// What `method` succeeding means after `completed` (the methods that
/// already succeeded in this connection, in order). No lists: any single
/// method logs in.
pub fn step(lists: &[MethodList], completed: &[AuthMethod], method: AuthMethod) -> Step {
    if lists.is_empty() {
        return Step::Done;
    }
    let mut lists = remaining(lists, completed);
    if !lists.iter().any(|l| l.first() == Some(&method)) {
        return Step::NotAllowed;
    }
    for list in &mut lists {
        if list.first() == Some(&method) {
            list.remove(0);
        }
    }
    if lists.iter().any(|l| l.is_empty()) {
        return Step::Done;
    }
    let mut next = Vec::new();
    for list in &lists {
        if let Some(m) = list.first() {
            if !next.contains(m) && !completed.contains(m) && *m != method {
                next.push(*m);
            }
        }
    }
    Step::Continue(next)
}

/// Whether `method` may be tried now, after `completed`: some list has
/// it next (or there are no lists).
pub fn allowed(lists: &[MethodList], completed: &[AuthMethod], method: AuthMethod) -> bool {
    lists.is_empty()
        || remaining(lists, completed)
            .iter()
            .any(|l| l.first() == Some(&method))
}

/// The methods that may start a login under `lists` (the heads).
pub fn first_methods(lists: &[MethodList]) -> Vec<AuthMethod> {
    let mut out = Vec::new();
    for m in lists.iter().filter_map(|l| l.first()) {
        if !out.contains(m) {
            out.push(*m);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use AuthMethod::{KeyboardInteractive as Kbd, Password as Pw, PublicKey as Pk};

    fn lists(texts: &[&str]) -> Vec<MethodList> {
        texts
            .iter()
            .map(|t| parse_method_list(t).unwrap())
            .collect()
    }

    #[test]
    fn parses_and_refuses_bad_lists() {
        assert_eq!(parse_method_list("publickey,password").unwrap(), [Pk, Pw]);
        assert_eq!(parse_method_list("keyboard-interactive").unwrap(), [Kbd]);
        assert!(parse_method_list("publickey,pasword").is_err());
        assert!(parse_method_list("").is_err());
        assert!(parse_method_list("publickey,publickey").is_err());
    }

    #[test]
    fn no_lists_means_one_method_suffices() {
        assert_eq!(step(&[], &[], Pw), Step::Done);
    }

    #[test]
    fn key_then_password() {
        let l = lists(&["publickey,password"]);
        assert_eq!(step(&l, &[], Pk), Step::Continue(vec![Pw]));
        assert_eq!(step(&l, &[Pk], Pw), Step::Done);
        // Order matters, as in sshd: password first is not allowed.
        assert_eq!(step(&l, &[], Pw), Step::NotAllowed);
        assert!(allowed(&l, &[], Pk) && !allowed(&l, &[], Pw));
        assert!(allowed(&l, &[Pk], Pw) && !allowed(&l, &[Pk], Kbd));
    }

    #[test]
    fn alternatives_after_a_common_first_step() {
        // sshd_config(5)'s example.
        let l = lists(&["publickey,password", "publickey,keyboard-interactive"]);
        assert_eq!(step(&l, &[], Pk), Step::Continue(vec![Pw, Kbd]));
        assert_eq!(step(&l, &[Pk], Kbd), Step::Done);
        assert_eq!(step(&l, &[Pk], Pw), Step::Done);
    }

    #[test]
    fn a_single_method_list_completes_at_once() {
        let l = lists(&["publickey,password", "keyboard-interactive"]);
        assert_eq!(step(&l, &[], Kbd), Step::Done);
        assert_eq!(first_methods(&l), [Pk, Kbd]);
    }

    #[test]
    fn lists_advance_independently() {
        let l = lists(&["publickey,password", "password,publickey"]);
        assert_eq!(step(&l, &[], Pw), Step::Continue(vec![Pk]));
        assert_eq!(step(&l, &[Pw], Pk), Step::Done);
    }
}
