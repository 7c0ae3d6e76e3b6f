//! `PasswordHasher` and `PasswordPolicy` for Node.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use polyauth_core::password::{
    self, HasherConfig, PasswordHasher as CoreHasher, PasswordPolicy as CorePolicy, PolicyConfig,
};
use zeroize::Zeroizing;

use crate::errors::{run, to_napi};
use crate::options::{read, HostOptions};

/// Reads a password given as a string or UTF-8 bytes. Strings are read as UTF-16 so that lone
/// surrogates are refused (`invalid_input`) rather than replaced by U+FFFD.
fn password_arg(password: Either<Utf16String, Uint8Array>) -> Result<Zeroizing<String>> {
    match password {
        Either::A(s) => password::password_from_utf16(&s).map_err(to_napi),
        Either::B(bytes) => password::password_from_utf8(&bytes).map_err(to_napi),
    }
}

#[napi(object)]
pub struct CheckOptions {
    /// Per-user values (user name, email) the password must not contain.
    pub context: Option<Vec<String>>,
    /// Apply the lower minimum of accounts with a second factor.
    pub mfa: Option<bool>,
}

/// NIST SP 800-63B password policy.
#[napi]
pub struct PasswordPolicy {
    pub(crate) inner: CorePolicy,
}

#[napi]
impl PasswordPolicy {
    #[napi(constructor)]
    pub fn new(#[napi(ts_arg_type = "object")] options: Option<HostOptions>) -> Result<Self> {
        let o = read(options, "PasswordPolicy");
        run(|| CorePolicy::new(PolicyConfig::from_options(o)?))
            .map(|inner| PasswordPolicy { inner })
    }

    /// Reason codes why `password` fails (`too_short`, `too_long`, `common_password`,
    /// `contains_context_word`, `repetitive`); empty when it passes.
    #[napi]
    pub fn check(
        &self,
        password: Either<Utf16String, Uint8Array>,
        options: Option<CheckOptions>,
    ) -> Result<Vec<&'static str>> {
        let pw = password_arg(password)?;
        let (context, mfa) = options.map_or((Vec::new(), false), |o| {
            (o.context.unwrap_or_default(), o.mfa.unwrap_or(false))
        });
        Ok(self.inner.check_codes(&pw, &context, mfa))
    }

    /// Like `check`, but throws a `password_policy` error (with `.reasons`) when it fails.
    #[napi]
    pub fn validate(
        &self,
        password: Either<Utf16String, Uint8Array>,
        options: Option<CheckOptions>,
    ) -> Result<()> {
        let pw = password_arg(password)?;
        let (context, mfa) = options.map_or((Vec::new(), false), |o| {
            (o.context.unwrap_or_default(), o.mfa.unwrap_or(false))
        });
        run(|| self.inner.validate(&pw, &context, mfa))
    }

    #[napi(getter)]
    pub fn min_length(&self) -> u32 {
        self.inner.config().min_length as u32
    }
    #[napi(getter)]
    pub fn min_length_mfa(&self) -> u32 {
        self.inner.config().min_length_mfa as u32
    }
    #[napi(getter)]
    pub fn max_length(&self) -> u32 {
        self.inner.config().max_length as u32
    }
}

/// What a hashing task computes on the libuv pool.
pub enum Job {
    Hash(Zeroizing<String>),
    Verify(String, Zeroizing<String>),
    VerifyAndUpdate(String, Zeroizing<String>),
    Dummy,
}

pub enum JobOutput {
    Hash(String),
    Verify(bool),
    VerifyAndUpdate(bool, Option<String>),
    Dummy,
}

fn execute(h: &CoreHasher, job: &Job) -> Result<JobOutput> {
    run(|| {
        Ok(match job {
            Job::Hash(pw) => JobOutput::Hash(h.hash(pw)?),
            Job::Verify(stored, pw) => JobOutput::Verify(h.verify(stored, pw)?),
            Job::VerifyAndUpdate(stored, pw) => {
                let o = h.verify_and_update(stored, pw)?;
                JobOutput::VerifyAndUpdate(o.valid, o.new_hash)
            }
            Job::Dummy => {
                h.dummy_verify()?;
                JobOutput::Dummy
            }
        })
    })
}

/// Result of {@link PasswordHasher.verifyAndUpdate}.
#[napi(object)]
pub struct VerifyOutcome {
    /// Whether the password matched.
    pub valid: bool,
    /// A fresh argon2id hash to store when the old one is weak or legacy, else absent.
    pub new_hash: Option<String>,
}

type JobValue = Either4<String, bool, VerifyOutcome, ()>;

fn to_js(out: JobOutput) -> JobValue {
    match out {
        JobOutput::Hash(s) => Either4::A(s),
        JobOutput::Verify(b) => Either4::B(b),
        JobOutput::VerifyAndUpdate(valid, new_hash) => {
            Either4::C(VerifyOutcome { valid, new_hash })
        }
        JobOutput::Dummy => Either4::D(()),
    }
}

/// argon2 work for the libuv thread pool.
pub struct HashTask {
    hasher: CoreHasher,
    job: Job,
}

impl Task for HashTask {
    type Output = JobOutput;
    type JsValue = JobValue;

    fn compute(&mut self) -> Result<Self::Output> {
        execute(&self.hasher, &self.job)
    }

    fn resolve(&mut self, _env: Env, output: Self::Output) -> Result<Self::JsValue> {
        Ok(to_js(output))
    }
}

/// How many argon2 jobs may run at once without starving the event loop (cores - 1, at least
/// 1): the core's limit, which the Python binding's pool also uses.
#[napi]
pub fn hash_concurrency() -> u32 {
    password::async_concurrency().min(u32::MAX as usize) as u32
}

/// Argon2id password hasher (defaults m=19456 KiB, t=2, p=1: the OWASP baseline).
#[napi]
pub struct PasswordHasher {
    pub(crate) inner: CoreHasher,
}

#[napi]
impl PasswordHasher {
    #[napi(constructor)]
    pub fn new(
        #[napi(ts_arg_type = "object")] options: Option<HostOptions>,
        policy: Option<&PasswordPolicy>,
    ) -> Result<Self> {
        let o = read(options, "PasswordHasher");
        let policy = policy.map_or_else(CorePolicy::default, |p| p.inner.clone());
        run(|| CoreHasher::new(HasherConfig::from_options(o)?, policy))
            .map(|inner| PasswordHasher { inner })
    }

    fn task(&self, job: Job, signal: Option<AbortSignal>) -> AsyncTask<HashTask> {
        AsyncTask::with_optional_signal(
            HashTask {
                hasher: self.inner.clone(),
                job,
            },
            signal,
        )
    }

    /// Hashes on the libuv pool; resolves to an argon2id PHC string.
    #[napi(ts_return_type = "Promise<string>")]
    pub fn hash(
        &self,
        password: Either<Utf16String, Uint8Array>,
        signal: Option<AbortSignal>,
    ) -> Result<AsyncTask<HashTask>> {
        Ok(self.task(Job::Hash(password_arg(password)?), signal))
    }

    /// Verifies on the libuv pool; resolves to true/false, rejects with `invalid_hash` for a
    /// malformed hash or one over the bounds (a legacy hash above the work budget is refused before
    /// any work).
    #[napi(ts_return_type = "Promise<boolean>")]
    pub fn verify(
        &self,
        hash: String,
        password: Either<Utf16String, Uint8Array>,
        signal: Option<AbortSignal>,
    ) -> Result<AsyncTask<HashTask>> {
        Ok(self.task(Job::Verify(hash, password_arg(password)?), signal))
    }

    /// Verifies and returns `{ valid, newHash }` (a replacement for weak or legacy hashes).
    #[napi(ts_return_type = "Promise<VerifyOutcome>")]
    pub fn verify_and_update(
        &self,
        hash: String,
        password: Either<Utf16String, Uint8Array>,
        signal: Option<AbortSignal>,
    ) -> Result<AsyncTask<HashTask>> {
        Ok(self.task(Job::VerifyAndUpdate(hash, password_arg(password)?), signal))
    }

    /// Spends the time of one verification, for users that do not exist.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn dummy_verify(&self, signal: Option<AbortSignal>) -> AsyncTask<HashTask> {
        self.task(Job::Dummy, signal)
    }

    /// Synchronous `hash` (blocks the event loop: prefer `hash`).
    #[napi]
    pub fn hash_sync(&self, password: Either<Utf16String, Uint8Array>) -> Result<String> {
        let pw = password_arg(password)?;
        run(|| self.inner.hash(&pw))
    }

    /// Synchronous `verify` (blocks the event loop: prefer `verify`).
    #[napi]
    pub fn verify_sync(
        &self,
        hash: String,
        password: Either<Utf16String, Uint8Array>,
    ) -> Result<bool> {
        let pw = password_arg(password)?;
        run(|| self.inner.verify(&hash, &pw))
    }

    /// Synchronous `verifyAndUpdate`.
    #[napi]
    pub fn verify_and_update_sync(
        &self,
        hash: String,
        password: Either<Utf16String, Uint8Array>,
    ) -> Result<VerifyOutcome> {
        let pw = password_arg(password)?;
        let o = run(|| self.inner.verify_and_update(&hash, &pw))?;
        Ok(VerifyOutcome {
            valid: o.valid,
            new_hash: o.new_hash,
        })
    }

    /// Synchronous `dummyVerify`.
    #[napi]
    pub fn dummy_verify_sync(&self) -> Result<()> {
        run(|| self.inner.dummy_verify())
    }

    /// True when `hash` is legacy or has other parameters than this hasher's (always for an
    /// argon2 hash below the OWASP table).
    #[napi]
    pub fn needs_rehash(&self, hash: String) -> Result<bool> {
        run(|| self.inner.needs_rehash(&hash))
    }

    /// Which argon2 engine and kernel this process hashes with (diagnostics, benchmark reports).
    #[napi]
    pub fn engine_info() -> EngineInfo {
        let info = password::engine_info();
        EngineInfo {
            engine: info.engine.into(),
            backend: info.backend.into(),
            cpu_features: info.cpu_features,
        }
    }

    #[napi(getter)]
    pub fn time_cost(&self) -> u32 {
        self.inner.config().time_cost
    }
    #[napi(getter)]
    pub fn memory_kib(&self) -> u32 {
        self.inner.config().memory_kib
    }
    #[napi(getter)]
    pub fn parallelism(&self) -> u32 {
        self.inner.config().parallelism
    }
    #[napi(getter)]
    pub fn max_memory_kib(&self) -> u32 {
        self.inner.config().max_memory_kib
    }
}

/// Result of {@link PasswordHasher.engineInfo}.
#[napi(object)]
pub struct EngineInfo {
    /// The crate computing argon2 tags, with its version (`argon2-rust 1.1`).
    pub engine: String,
    /// The kernel it dispatched to on this CPU: `avx512`, `avx2`, `sse2`, `neon` or `scalar`.
    pub backend: String,
    /// The CPU features behind that choice that this CPU has, space-separated.
    pub cpu_features: String,
}

/// Number of entries in the built-in common-password list.
#[napi]
pub fn builtin_blocklist_size() -> u32 {
    password::builtin_blocklist_len() as u32
}
