//! polyauth-core: the security-critical parts of authentication, shared by the Python and Node
//! bindings. No Python or Node types here; bindings only convert arguments and map errors.

pub mod account;
pub mod b64;
pub mod cli;
pub mod clock;
pub mod error;
pub(crate) mod input;
pub mod jws;
pub mod keys;
pub mod mfa;
pub mod onetime;
pub(crate) mod opaque;
pub mod options;
pub mod password;
pub mod remote;
pub mod session;
pub mod signin;
pub mod store;
pub mod throttle;
pub mod token;
pub mod totp;
pub mod verify_cache;

pub use account::{normalize_login, Account, Accounts};
pub use error::{catch_panic, catch_unwind_async, Error, Result};
pub use keys::{Alg, Key, KeySet};
pub use password::{HasherConfig, PasswordHasher, PasswordPolicy, PolicyConfig};
pub use remote::{RemoteConfig, RemoteKeySet};
pub use signin::{AccountSource, AppAccount, SecondFactorOutcome, SignIn, SignInResult};
pub use token::{KeySource, Tokens, TokensConfig, VerifyOptions};
