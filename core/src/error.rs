//! The one error enum. Codes are stable public API shared by both bindings (DESIGN.md §5).
//! Messages never carry secrets, token bytes or hashes.

use std::fmt;

/// Every failure polyauth reports, with a stable string code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    InvalidToken(String),
    InvalidSignature,
    TokenExpired,
    TokenNotYetValid,
    InvalidAudience,
    InvalidIssuer,
    InvalidType(String),
    MissingClaim(String),
    UnknownKey,
    /// A remote key set could not be fetched (HTTP error, timeout, oversize, redirect, bad JSON),
    /// or its cached keys are older than `max_stale`. The message never quotes the response.
    JwksUnavailable(String),
    UnsupportedAlgorithm(String),
    InvalidKey(String),
    InvalidHash(String),
    PasswordPolicy(Vec<String>),
    RefreshReused,
    SessionRevoked,
    SessionExpired,
    TotpInvalid,
    TotpReplayed,
    /// Seconds the caller should wait before trying again.
    RateLimited(u64),
    StoreUnavailable(String),
    InvalidConfig(String),
    /// A one-time token presented a second time.
    TokenUsed,
    /// An account with this (normalised) login already exists.
    AccountExists,
    /// A sign-in failed: wrong login or password, unknown or disabled account, or an account
    /// without a password. One fixed message for every case, so the answer never tells them apart.
    InvalidCredentials,
    /// A malformed argument that is not one of the typed inputs above
    /// (e.g. a password that is not valid Unicode, or longer than the hasher accepts).
    InvalidInput(String),
    /// A bug: a caught panic or a broken invariant. Never the caller's fault.
    Internal(String),
}

impl Error {
    /// The stable code, identical in Python (`AuthError.code`) and Node (`PolyauthError.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::InvalidToken(_) => "invalid_token",
            Error::InvalidSignature => "invalid_signature",
            Error::TokenExpired => "token_expired",
            Error::TokenNotYetValid => "token_not_yet_valid",
            Error::InvalidAudience => "invalid_audience",
            Error::InvalidIssuer => "invalid_issuer",
            Error::InvalidType(_) => "invalid_type",
            Error::MissingClaim(_) => "missing_claim",
            Error::UnknownKey => "unknown_key",
            Error::JwksUnavailable(_) => "jwks_unavailable",
            Error::UnsupportedAlgorithm(_) => "unsupported_algorithm",
            Error::InvalidKey(_) => "invalid_key",
            Error::InvalidHash(_) => "invalid_hash",
            Error::PasswordPolicy(_) => "password_policy",
            Error::RefreshReused => "refresh_reused",
            Error::SessionRevoked => "session_revoked",
            Error::SessionExpired => "session_expired",
            Error::TotpInvalid => "totp_invalid",
            Error::TotpReplayed => "totp_replayed",
            Error::RateLimited(_) => "rate_limited",
            Error::StoreUnavailable(_) => "store_unavailable",
            Error::InvalidConfig(_) => "invalid_config",
            Error::TokenUsed => "token_used",
            Error::AccountExists => "account_exists",
            Error::InvalidCredentials => "invalid_credentials",
            Error::InvalidInput(_) => "invalid_input",
            Error::Internal(_) => "internal_error",
        }
    }

    /// Seconds to wait, for `rate_limited`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::RateLimited(s) => Some(*s),
            _ => None,
        }
    }

    /// Every code, for the bindings' exception tables and their tests.
    pub const CODES: &'static [&'static str] = &[
        "invalid_token",
        "invalid_signature",
        "token_expired",
        "token_not_yet_valid",
        "invalid_audience",
        "invalid_issuer",
        "invalid_type",
        "missing_claim",
        "unknown_key",
        "jwks_unavailable",
        "unsupported_algorithm",
        "invalid_key",
        "invalid_hash",
        "password_policy",
        "refresh_reused",
        "session_revoked",
        "session_expired",
        "totp_invalid",
        "totp_replayed",
        "rate_limited",
        "store_unavailable",
        "invalid_config",
        "token_used",
        "account_exists",
        "invalid_credentials",
        "invalid_input",
        "internal_error",
    ];

    /// Turns a caught panic payload into `internal_error` without echoing arbitrary payload text
    /// (a panic message could quote input).
    pub fn from_panic(_payload: Box<dyn std::any::Any + Send>) -> Self {
        Error::Internal("internal error (a bug in polyauth; please report it)".into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidToken(m) => write!(f, "invalid token: {m}"),
            Error::InvalidSignature => f.write_str("token signature does not verify"),
            Error::TokenExpired => f.write_str("token has expired"),
            Error::TokenNotYetValid => f.write_str("token is not valid yet"),
            Error::InvalidAudience => f.write_str("token audience is not accepted"),
            Error::InvalidIssuer => f.write_str("token issuer is not accepted"),
            Error::InvalidType(m) => write!(f, "wrong token type: {m}"),
            Error::MissingClaim(c) => write!(f, "required claim missing: {c}"),
            Error::UnknownKey => f.write_str("no configured key matches the token"),
            Error::JwksUnavailable(m) => write!(f, "remote key set unavailable: {m}"),
            Error::UnsupportedAlgorithm(a) => write!(f, "unsupported algorithm: {a}"),
            Error::InvalidKey(m) => write!(f, "invalid key: {m}"),
            Error::InvalidHash(m) => write!(f, "invalid password hash: {m}"),
            Error::PasswordPolicy(r) => {
                write!(f, "password does not meet policy: {}", r.join(", "))
            }
            Error::RefreshReused => {
                f.write_str("refresh token was already used; the session has been revoked")
            }
            Error::SessionRevoked => f.write_str("session has been revoked"),
            Error::SessionExpired => f.write_str("session has expired"),
            Error::TotpInvalid => f.write_str("one-time code is not valid"),
            Error::TotpReplayed => f.write_str("one-time code was already used"),
            Error::RateLimited(s) => write!(f, "too many attempts; retry after {s} s"),
            Error::StoreUnavailable(m) => write!(f, "store unavailable: {m}"),
            Error::InvalidConfig(m) => write!(f, "invalid configuration: {m}"),
            Error::TokenUsed => f.write_str("token was already used"),
            Error::AccountExists => f.write_str("an account with this login already exists"),
            Error::InvalidCredentials => f.write_str(INVALID_CREDENTIALS_MESSAGE),
            Error::InvalidInput(m) => write!(f, "invalid input: {m}"),
            Error::Internal(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Error {}

/// The one message of [`Error::InvalidCredentials`], whatever failed.
pub const INVALID_CREDENTIALS_MESSAGE: &str = "invalid login or password";

pub type Result<T> = std::result::Result<T, Error>;

/// The most characters of attacker-controlled text an error message quotes.
pub const EXCERPT_MAX: usize = 32;

/// A short, escaped excerpt of untrusted text for an error message (DESIGN.md §5): at most
/// [`EXCERPT_MAX`] characters of output (then `...` when cut), all printable ASCII. Control characters become `\xNN`,
/// other non-ASCII characters `\u{..}`, and `\` and `"` are backslash-escaped, so the excerpt
/// can neither forge a log line nor break the Node error encoding (which separates fields with
/// `\x1f`).
pub fn excerpt(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let piece = match c {
            '\\' => "\\\\".to_owned(),
            '"' => "\\\"".to_owned(),
            ' '..='~' => c.to_string(),
            '\0'..='\u{7f}' => format!("\\x{:02x}", c as u32),
            _ => format!("\\u{{{:x}}}", c as u32),
        };
        if out.len() + piece.len() > EXCERPT_MAX {
            out.push_str("...");
            break;
        }
        out.push_str(&piece);
    }
    out
}

/// Runs `f`, turning a panic into `internal_error` so that no panic ever unwinds into a host runtime.
pub fn catch_panic<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(p) => Err(Error::from_panic(p)),
    }
}

/// Awaits `fut` with a panic in any of its polls caught: `Err` with the panic's payload instead
/// of unwinding into the runtime thread. The bindings' bridges wrap each call's task in it (one
/// task per call, where awaiting a second, spawned task would cost a wake-up and often a hop
/// between runtime threads).
pub async fn catch_unwind_async<F: std::future::Future>(fut: F) -> std::thread::Result<F::Output> {
    let mut fut = std::pin::pin!(fut);
    std::future::poll_fn(move |cx| {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(payload) => std::task::Poll::Ready(Err(payload)),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_unwind_async_returns_the_output_or_the_panic_after_a_pending_poll() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let done = rt.block_on(catch_unwind_async(async {
            tokio::task::yield_now().await;
            7
        }));
        assert_eq!(done.ok(), Some(7));
        // The panic happens in a later poll than the first one: it is caught there too.
        let panicked = rt.block_on(catch_unwind_async(async {
            tokio::task::yield_now().await;
            panic!("deliberate panic for tests")
        }));
        let payload = panicked.expect_err("the panic is caught");
        assert_eq!(
            payload.downcast_ref::<&str>(),
            Some(&"deliberate panic for tests")
        );
        // The runtime thread is still usable afterwards.
        assert_eq!(rt.block_on(async { 1 + 1 }), 2);
    }

    #[test]
    fn codes_table_matches_variants() {
        let all = [
            Error::InvalidToken(String::new()),
            Error::InvalidSignature,
            Error::TokenExpired,
            Error::TokenNotYetValid,
            Error::InvalidAudience,
            Error::InvalidIssuer,
            Error::InvalidType(String::new()),
            Error::MissingClaim(String::new()),
            Error::UnknownKey,
            Error::JwksUnavailable(String::new()),
            Error::UnsupportedAlgorithm(String::new()),
            Error::InvalidKey(String::new()),
            Error::InvalidHash(String::new()),
            Error::PasswordPolicy(vec![]),
            Error::RefreshReused,
            Error::SessionRevoked,
            Error::SessionExpired,
            Error::TotpInvalid,
            Error::TotpReplayed,
            Error::RateLimited(1),
            Error::StoreUnavailable(String::new()),
            Error::InvalidConfig(String::new()),
            Error::TokenUsed,
            Error::AccountExists,
            Error::InvalidCredentials,
            Error::InvalidInput(String::new()),
            Error::Internal(String::new()),
        ];
        let codes: Vec<&str> = all.iter().map(Error::code).collect();
        assert_eq!(codes, Error::CODES);
    }

    #[test]
    fn excerpt_escapes_and_bounds() {
        assert_eq!(excerpt("HS256"), "HS256");
        assert_eq!(excerpt("a\u{1f}b\nc\0"), "a\\x1fb\\x0ac\\x00");
        assert_eq!(excerpt("\"\\é\u{7f}"), "\\\"\\\\\\u{e9}\\x7f");
        let long = excerpt(&"A".repeat(1000));
        assert_eq!(long, format!("{}...", "A".repeat(EXCERPT_MAX)));
        let escaped = excerpt(&"\u{1f}".repeat(100));
        assert!(escaped.len() <= EXCERPT_MAX + 3 && escaped.ends_with("..."));
        assert!(!escaped.contains('\u{1f}'));
        for text in ["\u{1f}\u{1f}", "\n\r\t", "\u{202e}evil", "\u{10ffff}"] {
            assert!(
                excerpt(text).bytes().all(|b| (0x20..0x7f).contains(&b)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn panic_becomes_internal_error() {
        let r: Result<()> = catch_panic(|| panic!("secret-ish text"));
        let e = r.unwrap_err();
        assert_eq!(e.code(), "internal_error");
        assert!(!e.to_string().contains("secret"));
    }
}
