//! Built-in accounts (FRAMEWORKS.md §4): users registered through one framework layer sign in
//! through the other, because the accounts live in the same store and every rule is decided here,
//! once.
//!
//! - Subjects are 16 random bytes, base64url (22 characters): never derived from the login, so a
//!   login can be shown, typed and compared without revealing or predicting a subject.
//! - Logins are normalised by [`normalize_login`] before they are stored or looked up; the store
//!   keeps the normalised login unique, so two registrations that differ only by case, width or
//!   Unicode form make one account (`account_exists`), even when they race.
//! - Passwords go through the policy (`password_policy`, with the reason codes) and are hashed on
//!   the bounded hashing pool (argon2 is CPU-heavy; the async API never runs it on the caller's
//!   runtime threads). `create_with_hash` imports a hash from another system: any format the
//!   hasher verifies, upgraded on the first sign-in.
//! - Unknown subjects: [`Accounts::get`] and [`Accounts::find`] return `None`; the changes
//!   (`set_password`, `mark_verified`, `disable`, `update_claims`) fail with `invalid_input`
//!   ("unknown account"), since changing an account that does not exist is the caller's mistake.
//! - Nothing here revokes sessions: a caller that changes a password and wants other devices
//!   signed out calls `Sessions::revoke_all` itself.

use base64::Engine;
use serde_json::{Map, Value};
use unicode_normalization::UnicodeNormalization;

use crate::clock;
use crate::error::{Error, Result};
use crate::input::{check_claims, check_required};
use crate::opaque::random_b64;
use crate::password::{PasswordHasher, PasswordPolicy};
use crate::store::{AccountMark, AccountRecord, Store};

/// The longest normalised login, in UTF-8 bytes: the longest email address SMTP can carry
/// (64-byte local part, `@`, 255-byte domain).
pub const MAX_LOGIN_BYTES: usize = 320;

/// The longest login accepted before normalisation, in UTF-8 bytes. NFKC can shrink text (a
/// full-width address is three times its ASCII form) or grow it, so the raw bound is generous,
/// but it stops megabyte inputs before any normalisation work.
pub const MAX_RAW_LOGIN_BYTES: usize = 4 * MAX_LOGIN_BYTES;

/// The most bytes of JSON an account's claims may take.
pub const MAX_CLAIMS_BYTES: usize = crate::input::MAX_JSON_BYTES;

/// The longest subject accepted as an argument (as for sessions).
const MAX_SUBJECT_BYTES: usize = 1024;

/// Invisible characters refused in a login besides the control characters: they make two logins
/// look alike (zero-width space, word joiner, byte-order mark, left-to-right and right-to-left
/// marks) or reorder how a login is displayed (bidirectional embeddings, overrides and isolates),
/// and the line and paragraph separators. The zero-width (non-)joiners are allowed: several
/// scripts need them.
const INVISIBLE: &[char] = &[
    '\u{200B}', '\u{200E}', '\u{200F}', '\u{2028}', '\u{2029}', '\u{202A}', '\u{202B}', '\u{202C}',
    '\u{202D}', '\u{202E}', '\u{2060}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{FEFF}',
];

/// Normalises a login, the one rule every layer shares: NFKC (so full-width, ligature and other
/// compatibility forms are the plain characters), trimmed of surrounding white space, then
/// lower-cased, then NFKC again (lower-casing can leave a string that is not in NFKC).
///
/// The result must be 1 to [`MAX_LOGIN_BYTES`] bytes and contain no control characters (NUL
/// included) and none of the invisible or bidirectional formatting characters listed in the
/// module; otherwise `invalid_input` (the message never quotes the login).
///
/// Case: a login that looks like an email address (exactly one `@`, with a non-empty local part
/// and domain) is lower-cased as a whole, local part included. RFC 5321 lets a mail server treat
/// local parts as case-sensitive, but practically none does, and keeping case would let
/// `Alice@example.com` and `alice@example.com` be two accounts: a second registration of the same
/// mailbox, or a look-alike account that receives another user's links. Other logins (user
/// names) are lower-cased too, so an application gets the same behaviour whichever kind of login
/// it uses, and `Alice` cannot register beside `alice`. Lower-casing is Unicode's full mapping
/// (Rust's `str::to_lowercase`, which handles the Greek final sigma); it does not apply the case
/// folds that change letters (`ß` stays `ß`, it does not become `ss`), since those can merge
/// distinct addresses. Domains are compared as text: an internationalised domain and its
/// `xn--` form are different logins.
pub fn normalize_login(login: &str) -> Result<String> {
    if login.len() > MAX_RAW_LOGIN_BYTES {
        return Err(bad_login());
    }
    let nfkc: String = login.nfkc().collect();
    let folded: String = nfkc.trim().to_lowercase().nfkc().collect();
    if folded.is_empty()
        || folded.len() > MAX_LOGIN_BYTES
        || folded
            .chars()
            .any(|c| c.is_control() || INVISIBLE.contains(&c))
    {
        return Err(bad_login());
    }
    Ok(folded)
}

/// Whether `login` has the shape of an email address: exactly one `@`, with something before
/// and after it. (Both kinds of login are normalised alike; see [`normalize_login`].)
pub fn looks_like_email(login: &str) -> bool {
    matches!(login.split_once('@'), Some((local, domain))
        if !local.is_empty() && !domain.is_empty() && !domain.contains('@'))
}

fn bad_login() -> Error {
    Error::InvalidInput(format!(
        "login must be 1 to {MAX_LOGIN_BYTES} bytes after normalisation, without control or \
         invisible formatting characters"
    ))
}

fn unknown_account() -> Error {
    Error::InvalidInput("unknown account".into())
}

/// A new random subject: 16 bytes, base64url without padding.
/// A new subject: 16 random bytes, base64url (never derived from the login).
fn new_subject() -> Result<String> {
    random_b64(16)
}

/// A built-in account, as the API returns it.
#[derive(Clone, PartialEq)]
pub struct Account {
    /// The account's stable identifier (the `sub` of its tokens): random, URL-safe.
    pub subject: String,
    /// The normalised login.
    pub login: String,
    /// Whether the account was marked verified (e.g. its email address confirmed).
    pub verified: bool,
    /// Whether the account was disabled; a disabled account cannot sign in.
    pub disabled: bool,
    /// Application claims (a JSON object).
    pub claims: Map<String, Value>,
    /// When the account was created (seconds since the epoch).
    pub created_at: i64,
    /// The stored hash, for the sign-in flow only; never printed.
    password_hash: Option<String>,
}

impl Account {
    /// The account without its stored hash: what a binding hands to the application (two views
    /// of one account compare equal whatever its password).
    pub fn into_view(mut self) -> Account {
        self.password_hash = None;
        self
    }

    /// Whether the account has a password (an account created without one cannot sign in with a
    /// password).
    pub fn has_password(&self) -> bool {
        self.password_hash.is_some()
    }

    /// The stored password hash, for the sign-in flow in this crate (verification and upgrade).
    pub(crate) fn password_hash(&self) -> Option<&str> {
        self.password_hash.as_deref()
    }
}

impl std::fmt::Debug for Account {
    /// The password hash is never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("subject", &self.subject)
            .field("login", &self.login)
            .field("verified", &self.verified)
            .field("disabled", &self.disabled)
            .field("claims", &self.claims)
            .field("created_at", &self.created_at)
            .field("has_password", &self.has_password())
            .finish()
    }
}

impl From<AccountRecord> for Account {
    fn from(r: AccountRecord) -> Self {
        Account {
            subject: r.subject,
            login: r.login,
            verified: r.verified_at.is_some(),
            disabled: r.disabled_at.is_some(),
            claims: r.claims,
            created_at: r.created_at,
            password_hash: r.password_hash,
        }
    }
}

/// Built-in accounts over a store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Accounts {
    store: Store,
    hasher: PasswordHasher,
    policy: Option<PasswordPolicy>,
}

impl Accounts {
    /// Accounts in `store`, hashing with `hasher`. `policy` applies to the passwords given to
    /// [`create`](Self::create) and [`set_password`](Self::set_password); `None` uses the
    /// hasher's own policy (NIST defaults unless the hasher was built with another).
    pub fn new(store: Store, hasher: PasswordHasher, policy: Option<PasswordPolicy>) -> Self {
        Accounts {
            store,
            hasher,
            policy,
        }
    }

    /// The store the accounts live in.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The hasher that hashes new passwords and verifies stored hashes.
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// The policy applied to new passwords.
    pub fn policy(&self) -> &PasswordPolicy {
        self.policy.as_ref().unwrap_or_else(|| self.hasher.policy())
    }

    /// Creates an account with a password: the login is normalised ([`normalize_login`]), the
    /// password must pass the policy (the login counts as a context word; `password_policy` with
    /// the reasons otherwise) and is hashed with argon2id. `account_exists` when the normalised
    /// login is taken.
    pub async fn create(
        &self,
        login: &str,
        password: &str,
        claims: Option<Map<String, Value>>,
    ) -> Result<Account> {
        let login = normalize_login(login)?;
        let claims = claims.unwrap_or_default();
        check_claims(&claims)?;
        let password = crate::password::password_from_str(password)?;
        self.policy().validate(&password, &[&login], false)?;
        // Fail fast on a taken login before spending a hash on it; the insert decides anyway.
        if self.store.account_find(&login).await?.is_some() {
            return Err(Error::AccountExists);
        }
        let hash = self.hasher.hash_async(password).await?;
        self.insert(login, Some(hash), claims).await
    }

    /// Creates an account whose password hash comes from another system (an import): any format
    /// the hasher verifies (argon2 PHC, bcrypt, Django and Werkzeug PBKDF2, scrypt formats), with
    /// cost parameters within the hasher's bounds; `invalid_hash` otherwise. No policy applies
    /// (the password is unknown); a legacy or weak hash is upgraded on the first sign-in.
    pub async fn create_with_hash(
        &self,
        login: &str,
        password_hash: &str,
        claims: Option<Map<String, Value>>,
    ) -> Result<Account> {
        let login = normalize_login(login)?;
        let claims = claims.unwrap_or_default();
        check_claims(&claims)?;
        self.check_hash(password_hash)?;
        self.insert(login, Some(password_hash.to_owned()), claims)
            .await
    }

    async fn insert(
        &self,
        login: String,
        password_hash: Option<String>,
        claims: Map<String, Value>,
    ) -> Result<Account> {
        let now = clock::now();
        let record = AccountRecord {
            subject: new_subject()?,
            login,
            password_hash,
            verified_at: None,
            disabled_at: None,
            claims,
            created_at: now,
            updated_at: now,
        };
        self.store.account_insert(&record).await?;
        Ok(record.into())
    }

    /// Refuses a stored hash the hasher could not verify: it is parsed (format and cost bounds,
    /// no key derivation) exactly as a verification would. The parser leaves a bcrypt hash's salt
    /// and digest to the verification; an import decodes them now, so that a corrupt one is
    /// refused here rather than at every sign-in.
    fn check_hash(&self, hash: &str) -> Result<()> {
        self.hasher.needs_rehash(hash)?;
        if ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
            // `$2b$cc$` + 22 characters of salt (16 bytes) + 31 of digest (23 bytes).
            let decodes = |part: Option<&str>, len: usize| {
                part.and_then(|p| bcrypt::BASE_64.decode(p).ok())
                    .is_some_and(|b| b.len() == len)
            };
            if !decodes(hash.get(7..29), 16) || !decodes(hash.get(29..), 23) {
                return Err(Error::InvalidHash(
                    "malformed bcrypt hash (salt or digest)".into(),
                ));
            }
        }
        Ok(())
    }

    /// The account of `subject`; `None` when there is none.
    pub async fn get(&self, subject: &str) -> Result<Option<Account>> {
        check_required(subject, "subject", MAX_SUBJECT_BYTES)?;
        Ok(self.store.account_get(subject).await?.map(Account::from))
    }

    /// The account with this login (normalised first, so any spelling that normalises alike
    /// finds it); `None` when there is none. A login that cannot be normalised is `invalid_input`.
    pub async fn find(&self, login: &str) -> Result<Option<Account>> {
        let login = normalize_login(login)?;
        Ok(self.store.account_find(&login).await?.map(Account::from))
    }

    /// Sets a new password: the policy applies (with the lower minimum when the account has a
    /// confirmed second factor, PW-6), then the hash replaces the stored one. Revokes nothing by
    /// itself. `invalid_input` for an unknown subject.
    pub async fn set_password(&self, subject: &str, password: &str) -> Result<Account> {
        check_required(subject, "subject", MAX_SUBJECT_BYTES)?;
        let password = crate::password::password_from_str(password)?;
        let account = self
            .store
            .account_get(subject)
            .await?
            .ok_or_else(unknown_account)?;
        let mfa = self
            .store
            .mfa_get(subject)
            .await?
            .is_some_and(|f| f.secret.is_some());
        self.policy().validate(&password, &[&account.login], mfa)?;
        let hash = self.hasher.hash_async(password).await?;
        self.store
            .account_set_password_hash(subject, Some(&hash), clock::now())
            .await?
            .map(Account::from)
            .ok_or_else(unknown_account)
    }

    /// Replaces the stored hash with `new_hash` only while it is still `expected_old` (the hash
    /// upgrade after a successful sign-in: a concurrent password change always wins). False when
    /// nothing changed. `new_hash` must be a hash the hasher verifies (`invalid_hash`).
    pub async fn replace_password_hash(
        &self,
        subject: &str,
        expected_old: &str,
        new_hash: &str,
    ) -> Result<bool> {
        check_required(subject, "subject", MAX_SUBJECT_BYTES)?;
        self.check_hash(new_hash)?;
        self.store
            .account_replace_password_hash(subject, expected_old, new_hash, clock::now())
            .await
    }

    /// Marks the account verified (the first time is kept; marking again changes nothing).
    /// `invalid_input` for an unknown subject.
    pub async fn mark_verified(&self, subject: &str) -> Result<Account> {
        self.mark(subject, AccountMark::Verified).await
    }

    /// Disables the account: it can no longer sign in. Existing sessions are not revoked here.
    /// `invalid_input` for an unknown subject.
    pub async fn disable(&self, subject: &str) -> Result<Account> {
        self.mark(subject, AccountMark::Disabled).await
    }

    async fn mark(&self, subject: &str, mark: AccountMark) -> Result<Account> {
        check_required(subject, "subject", MAX_SUBJECT_BYTES)?;
        self.store
            .account_mark(subject, mark, clock::now())
            .await?
            .map(Account::from)
            .ok_or_else(unknown_account)
    }

    /// Replaces the account's claims as a whole (at most 16 KiB of JSON; the registered JWT claim
    /// names and `sid` are refused). `invalid_input` for an unknown subject.
    pub async fn update_claims(
        &self,
        subject: &str,
        claims: Map<String, Value>,
    ) -> Result<Account> {
        check_required(subject, "subject", MAX_SUBJECT_BYTES)?;
        check_claims(&claims)?;
        self.store
            .account_update_claims(subject, &claims, clock::now())
            .await?
            .map(Account::from)
            .ok_or_else(unknown_account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        normalize_login(s).unwrap()
    }

    fn refused(s: &str) {
        let e = normalize_login(s).unwrap_err();
        assert_eq!(e.code(), "invalid_input", "{s:?}");
    }

    #[test]
    fn case_width_and_spaces_fold() {
        assert_eq!(norm("  Alice@Example.COM \t\n"), "alice@example.com");
        assert_eq!(norm("ALICE"), "alice");
        // Full-width letters and the ideographic space are NFKC-compatible with ASCII.
        assert_eq!(
            norm("\u{3000}ＡＬＩＣＥ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
            "alice@example.com"
        );
        // The "fi" ligature and a precomposed vs combining accent.
        assert_eq!(norm("\u{FB01}le"), "file");
        assert_eq!(norm("Jose\u{301}"), norm("JOS\u{C9}"));
        assert_eq!(norm("jos\u{E9}"), "jos\u{E9}");
        // Inner spaces stay.
        assert_eq!(norm(" Mary  Ann "), "mary  ann");
    }

    #[test]
    fn unicode_lowercase_without_letter_changing_folds() {
        assert_eq!(norm("STRASSE"), "strasse");
        assert_eq!(norm("Straße"), "straße");
        assert_ne!(norm("Straße"), norm("STRASSE"));
        assert_eq!(norm("ΟΔΟΣ"), "\u{3BF}\u{3B4}\u{3BF}\u{3C2}");
        assert_eq!(norm("İstanbul"), "i\u{307}stanbul");
        assert_eq!(norm("ÅSA@BÜCHER.example"), "åsa@bücher.example");
    }

    #[test]
    fn normalisation_is_idempotent() {
        for s in [
            "  Alice@Example.COM ",
            "ＡＢＣ",
            "İstanbul",
            "ΟΔΟΣ",
            "\u{FB01}le",
            "Jose\u{301}",
            "\u{212B}ngstr\u{F6}m",
            "\u{2126}mega",
            "x\u{200D}y",
        ] {
            let once = norm(s);
            assert_eq!(norm(&once), once, "{s:?}");
        }
    }

    #[test]
    fn bad_logins_are_invalid_input() {
        for s in [
            "",
            "   ",
            "\u{3000}\t",
            "a\0b",
            "a\u{7}b",
            "a\nb",
            "a\u{85}b",
            "ad\u{200B}min",
            "admin\u{202E}",
            "\u{FEFF}admin",
            "a\u{2028}b",
        ] {
            refused(s);
        }
        refused(&"a".repeat(MAX_LOGIN_BYTES + 1));
        refused(&"a".repeat(1 << 20));
        assert_eq!(norm(&"a".repeat(MAX_LOGIN_BYTES)).len(), MAX_LOGIN_BYTES);
        // The bound is on the normalised form: full-width input three times as long still fits.
        let wide: String = std::iter::repeat_n('Ａ', MAX_LOGIN_BYTES).collect();
        assert_eq!(wide.len(), 3 * MAX_LOGIN_BYTES);
        assert_eq!(norm(&wide), "a".repeat(MAX_LOGIN_BYTES));
        // Zero-width joiners are allowed (scripts need them).
        assert_eq!(norm("x\u{200D}y"), "x\u{200D}y");
    }

    #[test]
    fn email_shape() {
        assert!(looks_like_email("a@b"));
        assert!(looks_like_email("first.last+tag@example.co.uk"));
        for s in ["ab", "@b", "a@", "a@b@c", ""] {
            assert!(!looks_like_email(s), "{s}");
        }
    }

    #[test]
    fn subjects_are_random_and_url_safe() {
        let a = new_subject().unwrap();
        let b = new_subject().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 22);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }

    #[test]
    fn claims_are_bounded_and_reserved_names_refused() {
        let mut m = Map::new();
        m.insert("role".into(), "admin".into());
        check_claims(&m).unwrap();
        for name in ["sub", "iss", "exp", "sid"] {
            let mut m = Map::new();
            m.insert(name.into(), "x".into());
            assert_eq!(check_claims(&m).unwrap_err().code(), "invalid_input");
        }
        let mut m = Map::new();
        m.insert("big".into(), "x".repeat(MAX_CLAIMS_BYTES).into());
        assert_eq!(check_claims(&m).unwrap_err().code(), "invalid_input");
    }

    #[test]
    fn debug_never_shows_the_hash() {
        let a = Account::from(AccountRecord {
            subject: "s".into(),
            login: "l".into(),
            password_hash: Some("$argon2id$secret".into()),
            verified_at: None,
            disabled_at: Some(1),
            claims: Map::new(),
            created_at: 0,
            updated_at: 0,
        });
        let text = format!("{a:?}");
        assert!(!text.contains("argon2") && text.contains("has_password: true"));
        assert!(a.disabled && !a.verified);
    }
}
