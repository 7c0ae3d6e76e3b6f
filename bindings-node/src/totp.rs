//! `Totp` for Node: stateless TOTP primitives (codes, verification, otpauth URIs, QR codes).

use napi::bindgen_prelude::*;
use napi_derive::napi;
use polyauth_core::totp::{self, Totp as CoreTotp, TotpConfig};

use crate::errors::{run, text, whole_arg, Number};
use crate::options::{read, HostOptions};
use zeroize::Zeroizing;

fn now_or(now: Option<Number>) -> Result<u64> {
    let default = polyauth_core::token::now().max(0) as u64;
    whole_arg(now, default, crate::errors::MAX_TIME, "now")
}

/// What `parseUri` returns.
#[napi(object)]
pub struct ParsedUri {
    pub secret: String,
    pub account: String,
    pub issuer: Option<String>,
    pub digits: u32,
    pub period: u32,
    pub algorithm: String,
}

/// RFC 6238 TOTP.
#[napi]
pub struct Totp {
    pub(crate) inner: CoreTotp,
}

#[napi]
impl Totp {
    #[napi(constructor)]
    pub fn new(#[napi(ts_arg_type = "object")] options: Option<HostOptions>) -> Result<Self> {
        let o = read(options, "Totp");
        Ok(Totp {
            inner: run(|| CoreTotp::new(TotpConfig::from_options(o)?))?,
        })
    }

    /// A fresh random secret (base32, at least 160 bits).
    #[napi]
    pub fn generate_secret(&self) -> Result<String> {
        run(|| self.inner.generate_secret().map(|s| s.as_str().to_owned()))
    }

    /// The code for `secret` at `now` (seconds since the epoch; default: the system clock).
    #[napi]
    pub fn code(&self, secret: Utf16String, now: Option<Number>) -> Result<String> {
        let secret = Zeroizing::new(text(secret, "secret")?);
        let now = now_or(now)?;
        run(|| self.inner.code(&secret, now))
    }

    /// The matched time step when `code` is valid and later than `afterStep`, else null.
    #[napi]
    pub fn verify(
        &self,
        secret: Utf16String,
        code: Utf16String,
        after_step: Option<Number>,
        now: Option<Number>,
    ) -> Result<Option<f64>> {
        let secret = Zeroizing::new(text(secret, "secret")?);
        let code = Zeroizing::new(text(code, "code")?);
        let now = now_or(now)?;
        let after = after_step
            .map(|s| whole_arg(Some(s), 0, crate::errors::MAX_TIME, "afterStep"))
            .transpose()?;
        run(|| self.inner.verify(&secret, &code, after, now)).map(|s| s.map(|v| v as f64))
    }

    /// The otpauth:// Key URI for authenticator apps.
    #[napi]
    pub fn uri(&self, secret: Utf16String, account: Utf16String) -> Result<String> {
        let secret = Zeroizing::new(text(secret, "secret")?);
        let account = text(account, "account")?;
        run(|| self.inner.uri(&secret, &account))
    }

    /// Reads an otpauth URI.
    #[napi]
    pub fn parse_uri(uri: String) -> Result<ParsedUri> {
        let p = run(|| CoreTotp::parse_uri(&uri))?;
        Ok(ParsedUri {
            secret: p.secret.as_str().to_owned(),
            account: p.account,
            issuer: p.issuer,
            digits: u32::from(p.digits),
            period: p.period as u32,
            algorithm: p.algorithm.name().to_owned(),
        })
    }

    /// An SVG document of the QR code of `uri`.
    #[napi]
    pub fn qr_svg(uri: String) -> Result<String> {
        run(|| totp::qr_svg(&uri))
    }

    /// PNG bytes of the QR code of `uri`.
    #[napi]
    pub fn qr_png(uri: String) -> Result<Buffer> {
        run(|| totp::qr_png(&uri)).map(Buffer::from)
    }

    /// `data:image/png;base64,...` of the QR code of `uri`, for an `<img src>`.
    #[napi]
    pub fn qr_data_uri(uri: String) -> Result<String> {
        run(|| totp::qr_data_uri(&uri))
    }

    #[napi(getter)]
    pub fn issuer(&self) -> String {
        self.inner.config().issuer.clone()
    }
    #[napi(getter)]
    pub fn digits(&self) -> u32 {
        self.inner.config().digits.into()
    }
    #[napi(getter)]
    pub fn period(&self) -> u32 {
        self.inner.config().period as u32
    }
    #[napi(getter)]
    pub fn algorithm(&self) -> &'static str {
        self.inner.config().algorithm.name()
    }
    #[napi(getter)]
    pub fn window(&self) -> u32 {
        self.inner.config().window as u32
    }
}
