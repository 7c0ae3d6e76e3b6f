//! NIST SP 800-63B style password policy (PW-6..PW-9): length in code points after NFKC, no
//! composition rules, a blocklist of common passwords, and context words.

use std::collections::HashSet;
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

use crate::error::{Error, Result};

/// Django's list of 20,000 common passwords (BSD-3-Clause; see core/data/README.md).
const COMMON_PASSWORDS: &str = include_str!("../../data/common-passwords.txt");

/// Context words shorter than this are ignored: "ab" inside a passphrase is not a leak.
const MIN_CONTEXT_WORD: usize = 4;

fn builtin() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().filter(|l| !l.is_empty()).collect())
}

/// Number of entries in the built-in blocklist.
pub fn builtin_blocklist_len() -> usize {
    builtin().len()
}

/// Why a password fails the policy. `code()` strings are stable API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    TooShort { min: usize },
    TooLong { max: usize },
    Common,
    ContextWord,
    Repetitive,
}

impl Violation {
    pub fn code(&self) -> &'static str {
        match self {
            Violation::TooShort { .. } => "too_short",
            Violation::TooLong { .. } => "too_long",
            Violation::Common => "common_password",
            Violation::ContextWord => "contains_context_word",
            Violation::Repetitive => "repetitive",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Violation::TooShort { min } => format!("must be at least {min} characters"),
            Violation::TooLong { max } => format!("must be at most {max} characters"),
            Violation::Common => "is too common".into(),
            Violation::ContextWord => "contains your name, email or the service name".into(),
            Violation::Repetitive => "is a single repeated character".into(),
        }
    }
}

/// Policy construction parameters.
#[derive(Debug, Clone)]
pub struct PolicyConfig {
    /// Minimum length in code points (NIST: 15 for single-factor accounts).
    pub min_length: usize,
    /// Minimum when the account has a second factor (NIST: 8).
    pub min_length_mfa: usize,
    /// Maximum length in code points. At least 64.
    pub max_length: usize,
    /// Check the built-in list of 20,000 common passwords.
    pub use_builtin_blocklist: bool,
    /// The application's own forbidden passwords.
    pub blocklist: Vec<String>,
    /// Words always forbidden inside a password (e.g. the service name).
    pub context_words: Vec<String>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            min_length: 15,
            min_length_mfa: 8,
            max_length: 128,
            use_builtin_blocklist: true,
            blocklist: Vec::new(),
            context_words: Vec::new(),
        }
    }
}

crate::options::deserialize_with_options!(PolicyConfig, "PasswordPolicy");

impl PolicyConfig {
    /// Reads `min_length`, `max_length`, `min_length_mfa` (whole numbers up to 4096;
    /// [`PasswordPolicy::new`] narrows them), `use_builtin_blocklist`, and the lists of strings
    /// `blocklist` and `context_words`.
    pub fn from_options(mut o: crate::options::Options) -> Result<Self> {
        let d = Self::default();
        let c = PolicyConfig {
            min_length: o.whole("min_length", d.min_length, 0..=4096)?,
            max_length: o.whole("max_length", d.max_length, 0..=4096)?,
            min_length_mfa: o.whole("min_length_mfa", d.min_length_mfa, 0..=4096)?,
            use_builtin_blocklist: o.flag("use_builtin_blocklist", d.use_builtin_blocklist)?,
            blocklist: o.texts("blocklist")?.unwrap_or(d.blocklist),
            context_words: o.texts("context_words")?.unwrap_or(d.context_words),
        };
        o.finish()?;
        Ok(c)
    }
}

/// A checked, ready-to-use policy.
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    config: PolicyConfig,
    blocklist: HashSet<String>,
    context_words: Vec<String>,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        // The default configuration is valid by construction.
        Self::build(PolicyConfig::default())
    }
}

fn fold(s: &str) -> String {
    s.nfkc().flat_map(char::to_lowercase).collect()
}

/// Splits a context value into the words worth checking: an email gives its local part and its
/// domain labels (minus the TLD); other values split on non-alphanumerics.
fn context_terms(value: &str) -> Vec<String> {
    let folded = fold(value);
    let mut out = Vec::new();
    let mut push = |w: &str| {
        if w.chars().count() >= MIN_CONTEXT_WORD {
            out.push(w.to_owned());
        }
    };
    if let Some((local, domain)) = folded.split_once('@') {
        push(local);
        local
            .split(|c: char| !c.is_alphanumeric())
            .for_each(&mut push);
        let labels: Vec<&str> = domain.split('.').collect();
        labels[..labels.len().saturating_sub(1)]
            .iter()
            .for_each(|l| push(l));
    } else {
        push(folded.trim());
        folded
            .split(|c: char| !c.is_alphanumeric())
            .for_each(&mut push);
    }
    out.sort();
    out.dedup();
    out
}

impl PasswordPolicy {
    /// Validates the configuration: minimums of at least 8, a maximum of at least 64 (PW-6).
    pub fn new(config: PolicyConfig) -> Result<Self> {
        if config.min_length < 8 || config.min_length_mfa < 8 {
            return Err(Error::InvalidConfig(
                "minimum password length must be at least 8".into(),
            ));
        }
        if config.min_length_mfa > config.min_length {
            return Err(Error::InvalidConfig(
                "min_length_mfa must not exceed min_length".into(),
            ));
        }
        if config.max_length < 64 || config.max_length < config.min_length {
            return Err(Error::InvalidConfig(
                "maximum password length must be at least 64 and at least the minimum".into(),
            ));
        }
        if config.max_length > super::MAX_PASSWORD_BYTES / 4 {
            return Err(Error::InvalidConfig(format!(
                "maximum password length must be at most {} characters",
                super::MAX_PASSWORD_BYTES / 4
            )));
        }
        Ok(Self::build(config))
    }

    fn build(config: PolicyConfig) -> Self {
        let blocklist = config.blocklist.iter().map(|w| fold(w)).collect();
        let context_words = config
            .context_words
            .iter()
            .flat_map(|w| context_terms(w))
            .collect();
        PasswordPolicy {
            config,
            blocklist,
            context_words,
        }
    }

    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// Checks `password`; an empty result means it is acceptable. `context` holds per-user values
    /// (user name, email, display name); `mfa` selects the lower minimum for accounts with a
    /// second factor.
    pub fn check<S: AsRef<str>>(&self, password: &str, context: &[S], mfa: bool) -> Vec<Violation> {
        let normalized: zeroize::Zeroizing<String> =
            zeroize::Zeroizing::new(password.nfkc().collect());
        let len = normalized.chars().count();
        let mut out = Vec::new();
        let min = if mfa {
            self.config.min_length_mfa
        } else {
            self.config.min_length
        };
        if len < min {
            out.push(Violation::TooShort { min });
        }
        if len > self.config.max_length {
            out.push(Violation::TooLong {
                max: self.config.max_length,
            });
        }
        let folded = zeroize::Zeroizing::new(fold(&normalized));
        if (self.config.use_builtin_blocklist && builtin().contains(folded.as_str()))
            || self.blocklist.contains(folded.as_str())
        {
            out.push(Violation::Common);
        }
        let per_user = context.iter().flat_map(|c| context_terms(c.as_ref()));
        if self
            .context_words
            .iter()
            .cloned()
            .chain(per_user)
            .any(|w| folded.contains(w.as_str()))
        {
            out.push(Violation::ContextWord);
        }
        let mut chars = normalized.chars();
        if let Some(first) = chars.next() {
            if len > 1 && chars.all(|c| c == first) {
                out.push(Violation::Repetitive);
            }
        }
        out
    }
}

impl PasswordPolicy {
    /// [`check`](Self::check) as a `Result`: `password_policy` with the reason codes on failure.
    /// [`check`](Self::check) as the stable codes of the violations (`too_short`, ...).
    pub fn check_codes<S: AsRef<str>>(
        &self,
        password: &str,
        context: &[S],
        mfa: bool,
    ) -> Vec<&'static str> {
        self.check(password, context, mfa)
            .iter()
            .map(Violation::code)
            .collect()
    }

    pub fn validate<S: AsRef<str>>(&self, password: &str, context: &[S], mfa: bool) -> Result<()> {
        let reasons = self.check(password, context, mfa);
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(Error::PasswordPolicy(
                reasons.iter().map(|v| v.code().to_owned()).collect(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(p: &PasswordPolicy, pw: &str, ctx: &[&str], mfa: bool) -> Vec<&'static str> {
        p.check(pw, ctx, mfa).iter().map(Violation::code).collect()
    }

    #[test]
    fn length_boundaries_in_code_points() {
        let p = PasswordPolicy::default();
        let s = |n: usize| {
            "correcthorsebatterystaple"
                .chars()
                .cycle()
                .take(n)
                .collect::<String>()
        };
        assert_eq!(codes(&p, &s(14), &[], false), ["too_short"]);
        assert!(codes(&p, &s(15), &[], false).is_empty());
        assert_eq!(codes(&p, &s(7), &[], true), ["too_short"]);
        assert!(codes(&p, &s(8), &[], true).is_empty());
        assert!(codes(&p, &s(64), &[], false).is_empty());
        assert!(codes(&p, &s(128), &[], false).is_empty());
        assert_eq!(codes(&p, &s(129), &[], false), ["too_long"]);
        // 14 ASCII letters + one emoji (4 UTF-8 bytes) is 15 code points.
        assert!(codes(&p, &format!("{}\u{1F600}", s(14)), &[], false).is_empty());
    }

    #[test]
    fn blocklist_context_and_repetition() {
        let p = PasswordPolicy::new(PolicyConfig {
            blocklist: vec!["Our-Company-Password".into()],
            context_words: vec!["Acme Widgets".into()],
            ..PolicyConfig::default()
        })
        .unwrap();
        assert!(builtin_blocklist_len() >= 10_000);
        assert!(codes(&p, "password", &[], true).contains(&"common_password"));
        assert!(codes(&p, "PASSWORD", &[], true).contains(&"common_password"));
        assert!(codes(&p, "our-company-password", &[], false).contains(&"common_password"));
        assert!(
            codes(&p, "i love acme widgets forever", &[], false).contains(&"contains_context_word")
        );
        assert!(codes(
            &p,
            "horse-battery-staple-x",
            &["jane.doe@example.com"],
            false
        )
        .is_empty());
        assert!(codes(
            &p,
            "xx-jane-1984-yy-zz-example",
            &["jane.doe@example.com"],
            false
        )
        .contains(&"contains_context_word"));
        assert_eq!(
            codes(&p, "aaaaaaaaaaaaaaaaaaaa", &[], false),
            ["repetitive"]
        );
    }

    #[test]
    fn config_bounds() {
        let bad = |c: PolicyConfig| PasswordPolicy::new(c).unwrap_err().code();
        assert_eq!(
            bad(PolicyConfig {
                min_length: 7,
                ..Default::default()
            }),
            "invalid_config"
        );
        assert_eq!(
            bad(PolicyConfig {
                max_length: 63,
                ..Default::default()
            }),
            "invalid_config"
        );
        assert_eq!(
            bad(PolicyConfig {
                max_length: 5000,
                ..Default::default()
            }),
            "invalid_config"
        );
    }
}
