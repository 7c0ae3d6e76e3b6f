//! polyauth-core: the security-critical parts of authentication, shared by the Python and Node
//! bindings. No Python or Node types here; bindings only convert arguments and map errors.

pub mod b64;
pub mod error;
pub mod keys;
pub mod password;

pub use error::{catch_panic, Error, Result};
pub use password::{HasherConfig, PasswordHasher, PasswordPolicy, PolicyConfig};
