//! TOTP (RFC 6238) primitives: secrets, codes, verification, otpauth URIs and QR codes. Stateless:
//! accepting each code only once (OTP-2) needs the store and is the caller's (or `mfa`'s) job,
//! which is why `verify` returns the matched time step and takes the last accepted one.

use std::sync::Arc;

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder, Secret, Totp as RsTotp};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Longest code input looked at; anything longer is refused before any work.
const MAX_CODE_INPUT: usize = 16;
/// Shortest secret accepted anywhere a secret is taken (OTP-5: at least 160 bits, RFC 4226 §4).
pub const MIN_SECRET_BYTES: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TotpAlgorithm {
    Sha1,
    Sha256,
    Sha512,
}

impl TotpAlgorithm {
    pub fn parse(name: &str) -> Result<Self> {
        match name.to_ascii_uppercase().as_str() {
            "SHA1" => Ok(TotpAlgorithm::Sha1),
            "SHA256" => Ok(TotpAlgorithm::Sha256),
            "SHA512" => Ok(TotpAlgorithm::Sha512),
            _ => Err(Error::InvalidConfig(
                "TOTP algorithm must be SHA1, SHA256 or SHA512".into(),
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TotpAlgorithm::Sha1 => "SHA1",
            TotpAlgorithm::Sha256 => "SHA256",
            TotpAlgorithm::Sha512 => "SHA512",
        }
    }

    fn rs(self) -> Algorithm {
        match self {
            TotpAlgorithm::Sha1 => Algorithm::SHA1,
            TotpAlgorithm::Sha256 => Algorithm::SHA256,
            TotpAlgorithm::Sha512 => Algorithm::SHA512,
        }
    }

    /// Secret size generated for this algorithm (at least 160 bits, OTP-5).
    fn secret_len(self) -> usize {
        match self {
            TotpAlgorithm::Sha1 => 20,
            TotpAlgorithm::Sha256 => 32,
            TotpAlgorithm::Sha512 => 64,
        }
    }
}

/// TOTP settings shared by every secret of an application.
#[derive(Debug, Clone)]
pub struct TotpConfig {
    /// Shown by authenticator apps.
    pub issuer: String,
    /// 6 to 8.
    pub digits: u8,
    /// Seconds per step (default 30).
    pub period: u64,
    pub algorithm: TotpAlgorithm,
    /// Steps accepted on each side of the current one: 0 or 1 (OTP-3).
    pub window: u64,
}

impl Default for TotpConfig {
    fn default() -> Self {
        TotpConfig {
            issuer: String::new(),
            digits: 6,
            period: 30,
            algorithm: TotpAlgorithm::Sha1,
            window: 1,
        }
    }
}

crate::options::deserialize_with_options!(TotpConfig, "Totp");

impl TotpConfig {
    /// Reads `issuer`, `digits` (up to 255), `period`, `window` (whole numbers up to
    /// [`MAX_SECONDS`](crate::options::MAX_SECONDS); [`Totp::new`] narrows them) and `algorithm`
    /// (`SHA1`, `SHA256`, `SHA512`).
    pub fn from_options(mut o: crate::options::Options) -> Result<Self> {
        let d = Self::default();
        let range = 0..=crate::options::MAX_SECONDS as i128;
        let c = TotpConfig {
            issuer: o.text("issuer")?.unwrap_or(d.issuer),
            digits: o.whole("digits", d.digits, 0..=255)?,
            period: o.whole("period", d.period, range.clone())?,
            algorithm: match o.text("algorithm")? {
                Some(name) => TotpAlgorithm::parse(&name)?,
                None => d.algorithm,
            },
            window: o.whole("window", d.window, range)?,
        };
        o.finish()?;
        Ok(c)
    }
}

/// A validated configuration; cheap to clone.
#[derive(Debug, Clone)]
pub struct Totp {
    config: Arc<TotpConfig>,
}

/// What `parse_uri` reads from an otpauth URI.
#[derive(Debug, Clone)]
pub struct ParsedUri {
    pub secret: Zeroizing<String>,
    pub account: String,
    pub issuer: Option<String>,
    pub digits: u8,
    pub period: u64,
    pub algorithm: TotpAlgorithm,
}

/// The bytes of a base32 secret (spaces, dashes, case and padding ignored); `invalid_input` when
/// it is not base32 or shorter than 160 bits (`MIN_SECRET_BYTES`).
fn decode_secret(secret: &str) -> Result<Zeroizing<Vec<u8>>> {
    let cleaned: Zeroizing<String> = Zeroizing::new(
        secret
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    );
    if cleaned.is_empty() || cleaned.len() > 256 {
        return Err(Error::InvalidInput(
            "TOTP secret must be 1 to 256 base32 characters".into(),
        ));
    }
    let bytes = Secret::try_from_base32(cleaned.trim_end_matches('='))
        .map_err(|_| Error::InvalidInput("TOTP secret is not base32".into()))?;
    let bytes = Zeroizing::new(bytes.to_vec());
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(Error::InvalidInput(
            "TOTP secret must be at least 160 bits (32 base32 characters)".into(),
        ));
    }
    Ok(bytes)
}

fn check_label(value: &str, what: &str) -> Result<()> {
    if value.is_empty() || value.len() > 256 || value.contains(':') || value.contains('\0') {
        return Err(Error::InvalidInput(format!(
            "{what} must be 1 to 256 characters without ':'"
        )));
    }
    Ok(())
}

impl Totp {
    pub fn new(config: TotpConfig) -> Result<Totp> {
        if !(6..=8).contains(&config.digits) {
            return Err(Error::InvalidConfig("digits must be 6, 7 or 8".into()));
        }
        if !(15..=300).contains(&config.period) {
            return Err(Error::InvalidConfig(
                "period must be 15 to 300 seconds".into(),
            ));
        }
        if config.window > 1 {
            return Err(Error::InvalidConfig(
                "window must be 0 or 1 step (OTP-3)".into(),
            ));
        }
        if !config.issuer.is_empty() {
            check_label(&config.issuer, "issuer").map_err(|_| {
                Error::InvalidConfig("issuer must be at most 256 characters without ':'".into())
            })?;
        }
        Ok(Totp {
            config: Arc::new(config),
        })
    }

    pub fn config(&self) -> &TotpConfig {
        &self.config
    }

    fn engine(&self, secret: &[u8]) -> RsTotp {
        Builder::new()
            .with_algorithm(self.config.algorithm.rs())
            .with_digits(self.config.digits)
            .with_step_duration(self.config.period)
            .with_secret(secret.to_vec())
            .build_noncompliant()
    }

    /// A fresh random secret, base32 without padding (160 bits for SHA1, more for SHA2).
    pub fn generate_secret(&self) -> Result<Zeroizing<String>> {
        let mut bytes = Zeroizing::new(vec![0u8; self.config.algorithm.secret_len()]);
        SystemRandom::new()
            .fill(&mut bytes)
            .map_err(|_| Error::Internal("random generator failed".into()))?;
        Ok(Zeroizing::new(
            Secret::from(bytes.to_vec())
                .to_base32()
                .trim_end_matches('=')
                .to_owned(),
        ))
    }

    /// The code for `secret` at `time` (seconds since the epoch).
    pub fn code(&self, secret: &str, time: u64) -> Result<String> {
        let key = decode_secret(secret)?;
        Ok(self.engine(&key).generate(time).to_string())
    }

    /// Whether `code` has the shape of a code (exactly `digits` ASCII digits); inputs over 16 bytes
    /// are `invalid_input`. Lets callers refuse malformed input before any work.
    pub fn well_formed(&self, code: &str) -> Result<bool> {
        if code.len() > MAX_CODE_INPUT {
            return Err(Error::InvalidInput("code too long".into()));
        }
        Ok(code.len() == usize::from(self.config.digits)
            && code.bytes().all(|b| b.is_ascii_digit()))
    }

    /// Checks `code` at `now` within the window; returns the matched time step, which must be
    /// greater than `after_step` (the last step accepted for this secret) so that a code is never
    /// accepted twice (OTP-2). Malformed codes are refused without computing anything; the
    /// comparison is constant-time (OTP-6).
    pub fn verify(
        &self,
        secret: &str,
        code: &str,
        after_step: Option<u64>,
        now: u64,
    ) -> Result<Option<u64>> {
        if !self.well_formed(code)? {
            return Ok(None);
        }
        let key = decode_secret(secret)?;
        let engine = self.engine(&key);
        let current = now / self.config.period;
        let mut matched = None;
        for step in current.saturating_sub(self.config.window)..=current + self.config.window {
            let candidate = Zeroizing::new(engine.generate(step * self.config.period).to_string());
            // Check every step (no early exit) so timing does not tell which one matched. The
            // first step after `after_step` wins: a code that happens to equal both a used step's
            // and a later step's is still accepted for the later one.
            if bool::from(candidate.as_bytes().ct_eq(code.as_bytes()))
                && matched.is_none()
                && after_step.is_none_or(|last| step > last)
            {
                matched = Some(step);
            }
        }
        Ok(matched)
    }

    /// The Key URI (`otpauth://totp/Issuer:account?...`) authenticator apps read.
    pub fn uri(&self, secret: &str, account: &str) -> Result<String> {
        check_label(account, "account")?;
        let key = decode_secret(secret)?;
        let issuer = (!self.config.issuer.is_empty()).then(|| self.config.issuer.clone());
        Builder::new()
            .with_algorithm(self.config.algorithm.rs())
            .with_digits(self.config.digits)
            .with_step_duration(self.config.period)
            .with_secret(key.to_vec())
            .with_issuer(issuer)
            .with_account_name(account)
            .build_noncompliant()
            .to_url()
            .map_err(|_| Error::InvalidInput("cannot build the otpauth URI".into()))
    }

    /// Reads an otpauth URI (with validation: totp type, base32 secret of at least 160 bits,
    /// 6–8 digits, known algorithm).
    pub fn parse_uri(uri: &str) -> Result<ParsedUri> {
        if uri.len() > 2048 {
            return Err(Error::InvalidInput("otpauth URI too long".into()));
        }
        let t = RsTotp::from_url(uri)
            .map_err(|_| Error::InvalidInput("not a valid otpauth://totp URI".into()))?;
        let algorithm = match t.algorithm() {
            Algorithm::SHA1 => TotpAlgorithm::Sha1,
            Algorithm::SHA256 => TotpAlgorithm::Sha256,
            Algorithm::SHA512 => TotpAlgorithm::Sha512,
            _ => return Err(Error::InvalidInput("unsupported otpauth algorithm".into())),
        };
        if !(6..=8).contains(&t.digits()) {
            return Err(Error::InvalidInput(
                "otpauth URI digits must be 6 to 8".into(),
            ));
        }
        let secret = Zeroizing::new(t.secret().to_base32().trim_end_matches('=').to_owned());
        decode_secret(&secret)?;
        Ok(ParsedUri {
            secret,
            account: t.account_name().to_owned(),
            issuer: t.issuer().map(str::to_owned),
            digits: t.digits(),
            period: t.step(),
            algorithm,
        })
    }
}

fn qr(uri: &str) -> Result<qrcode::QrCode> {
    if uri.len() > 2048 {
        return Err(Error::InvalidInput("text too long for a QR code".into()));
    }
    qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M)
        .map_err(|_| Error::InvalidInput("text does not fit in a QR code".into()))
}

/// An SVG document of the QR code of `uri`.
pub fn qr_svg(uri: &str) -> Result<String> {
    Ok(qr(uri)?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build())
}

/// PNG bytes of the QR code of `uri` (8 pixels per module, 4-module quiet zone, greyscale).
pub fn qr_png(uri: &str) -> Result<Vec<u8>> {
    let code = qr(uri)?;
    let modules = code.width();
    let colors = code.to_colors();
    let (scale, quiet) = (8usize, 4usize);
    let side = (modules + 2 * quiet) * scale;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (mx, my) = (i % modules + quiet, i / modules + quiet);
            for y in my * scale..(my + 1) * scale {
                pixels[y * side + mx * scale..y * side + (mx + 1) * scale].fill(0);
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side as u32, side as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .map_err(|_| Error::Internal("PNG encoding failed".into()))?;
        writer
            .write_image_data(&pixels)
            .map_err(|_| Error::Internal("PNG encoding failed".into()))?;
    }
    Ok(out)
}

/// `data:image/png;base64,...` of the QR code of `uri`, ready for an `<img src>`.
pub fn qr_data_uri(uri: &str) -> Result<String> {
    use base64::Engine;
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(qr_png(uri)?)
    ))
}
