//! TOTP primitives: RFC 6238 Appendix B and RFC 4226 Appendix D vectors, windows, replay guard,
//! bad input, otpauth URIs and QR codes.
mod common;

use polyauth_core::totp::{qr_png, qr_svg, Totp, TotpAlgorithm, TotpConfig};

fn totp(algorithm: TotpAlgorithm, digits: u8, window: u64) -> Totp {
    Totp::new(TotpConfig {
        issuer: "Example".into(),
        digits,
        period: 30,
        algorithm,
        window,
    })
    .unwrap()
}

#[test]
fn rfc6238_and_rfc4226_vectors() {
    let Some(dir) = common::shared_vectors() else {
        return;
    };
    let doc = common::read_json(dir.join("rfc/totp_rfc6238.json"));
    let vectors = doc["totp_vectors"].as_array().unwrap();
    assert!(vectors.len() >= 18);
    for v in vectors {
        let alg = v["algorithm"].as_str().unwrap();
        let secret = doc["keys"][alg]["base32"].as_str().unwrap();
        let t = totp(TotpAlgorithm::parse(alg).unwrap(), 8, 1);
        let time = v["unix_time"].as_u64().unwrap();
        let expected = v["totp"].as_str().unwrap();
        assert_eq!(t.code(secret, time).unwrap(), expected, "{alg} at {time}");
        assert!(
            t.verify(secret, expected, None, time).unwrap().is_some(),
            "{alg} at {time}"
        );
    }
    let hotp = &doc["rfc4226_hotp"];
    let secret = doc["keys"]["SHA1"]["base32"].as_str().unwrap();
    let t = totp(TotpAlgorithm::Sha1, 6, 0);
    for v in hotp["vectors"].as_array().unwrap() {
        let counter = v["counter"].as_u64().unwrap();
        assert_eq!(
            t.code(secret, counter * 30).unwrap(),
            v["hotp"].as_str().unwrap(),
            "counter {counter}"
        );
    }
}

#[test]
fn window_and_replay_guard() {
    let t = totp(TotpAlgorithm::Sha1, 6, 1);
    let secret = t.generate_secret().unwrap();
    assert_eq!(secret.len(), 32, "160-bit secret in base32");
    let now = 1_800_000_000u64;
    let step = now / 30;
    let prev = t.code(&secret, now - 30).unwrap();
    let cur = t.code(&secret, now).unwrap();
    let next = t.code(&secret, now + 30).unwrap();
    let far = t.code(&secret, now + 60).unwrap();
    assert_eq!(t.verify(&secret, &prev, None, now).unwrap(), Some(step - 1));
    assert_eq!(t.verify(&secret, &cur, None, now).unwrap(), Some(step));
    assert_eq!(t.verify(&secret, &next, None, now).unwrap(), Some(step + 1));
    assert_eq!(
        t.verify(&secret, &far, None, now).unwrap(),
        None,
        "outside the window"
    );
    // A code for the step already accepted, or an older one, is refused.
    assert_eq!(t.verify(&secret, &cur, Some(step), now).unwrap(), None);
    assert_eq!(t.verify(&secret, &prev, Some(step), now).unwrap(), None);
    assert_eq!(
        t.verify(&secret, &next, Some(step), now).unwrap(),
        Some(step + 1)
    );
    let strict = totp(TotpAlgorithm::Sha1, 6, 0);
    assert_eq!(
        strict.verify(&secret, &prev, None, now).unwrap(),
        None,
        "window 0"
    );
}

#[test]
fn bad_input() {
    let t = totp(TotpAlgorithm::Sha1, 6, 1);
    let secret = t.generate_secret().unwrap();
    let now = 1_800_000_000;
    for code in [
        "",
        "12345",
        "1234567",
        "12 456",
        "abcdef",
        "\u{663}\u{661}\u{662}\u{664}\u{665}\u{666}",
    ] {
        assert_eq!(
            t.verify(&secret, code, None, now).unwrap(),
            None,
            "{code:?}"
        );
    }
    assert_eq!(
        t.verify(&secret, &"1".repeat(1 << 20), None, now)
            .unwrap_err()
            .code(),
        "invalid_input"
    );
    for bad in ["", "not base32!", "AAAA", "MZXW6==="] {
        assert_eq!(
            t.code(bad, now).unwrap_err().code(),
            "invalid_input",
            "{bad:?}"
        );
    }
    for (digits, period, window) in [(5, 30, 1), (9, 30, 1), (6, 0, 1), (6, 30, 2)] {
        let c = TotpConfig {
            digits,
            period,
            window,
            ..TotpConfig::default()
        };
        assert_eq!(Totp::new(c).unwrap_err().code(), "invalid_config");
    }
}

#[test]
fn uri_round_trip_and_qr() {
    let t = totp(TotpAlgorithm::Sha256, 8, 1);
    let secret = t.generate_secret().unwrap();
    let uri = t.uri(&secret, "jane@example.com").unwrap();
    assert!(
        uri.starts_with("otpauth://totp/Example:jane%40example.com?"),
        "{uri}"
    );
    let parsed = Totp::parse_uri(&uri).unwrap();
    assert_eq!(parsed.secret.as_str(), secret.as_str());
    assert_eq!(
        (parsed.account.as_str(), parsed.issuer.as_deref()),
        ("jane@example.com", Some("Example"))
    );
    assert_eq!(
        (parsed.digits, parsed.period, parsed.algorithm),
        (8, 30, TotpAlgorithm::Sha256)
    );
    for bad in [
        "",
        "https://example.com",
        "otpauth://hotp/x?secret=AAAA",
        "otpauth://totp/x?secret=!!!",
    ] {
        assert_eq!(
            Totp::parse_uri(bad).unwrap_err().code(),
            "invalid_input",
            "{bad}"
        );
    }
    assert_eq!(t.uri(&secret, "a:b").unwrap_err().code(), "invalid_input");
    let svg = qr_svg(&uri).unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("<svg"));
    let png = qr_png(&uri).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(
        qr_svg(&"x".repeat(4000)).unwrap_err().code(),
        "invalid_input"
    );
}

#[test]
fn a_code_equal_at_a_used_and_a_later_step_counts_for_the_later_one() {
    // Find steps T-1 and T+1 with the same code (about one in a million steps), then accept the
    // code for T-1 and present it again with T as the clock: it must match T+1.
    let t = totp(TotpAlgorithm::Sha1, 6, 1);
    let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let code = |step: u64| t.code(secret, step * 30).unwrap();
    let mut window = [code(1), code(2), code(3)];
    let mut step = 2;
    while window[0] != window[2] {
        step += 1;
        window.rotate_left(1);
        window[2] = code(step + 1);
        assert!(step < 50_000_000, "no collision found");
    }
    let before = &window[0];
    assert_eq!(
        t.verify(secret, before, None, step * 30).unwrap(),
        Some(step - 1)
    );
    assert_eq!(
        t.verify(secret, before, Some(step - 1), step * 30).unwrap(),
        Some(step + 1)
    );
    assert_eq!(
        t.verify(secret, before, Some(step + 1), step * 30).unwrap(),
        None
    );
}

/// OTP-5: secrets under 160 bits are refused wherever a secret is taken (they were accepted
/// down to 128 bits); 160 bits and the RFC 6238 seeds (20, 32, 64 bytes) work.
#[test]
fn secrets_under_160_bits_are_refused() {
    let t = totp(TotpAlgorithm::Sha1, 6, 1);
    // "1234567890123456" (16 bytes) and "1234567890123456789" (19 bytes), padded and not.
    for short in [
        "GEZDGNBVGY3TQOJQGEZDGNBVGY",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY======",
        "GEZDGNBVGY3TQOI",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOI",
    ] {
        assert_eq!(t.code(short, 59).unwrap_err().code(), "invalid_input");
        assert_eq!(
            t.verify(short, "123456", None, 59).unwrap_err().code(),
            "invalid_input"
        );
        assert_eq!(
            t.uri(short, "jane@example.com").unwrap_err().code(),
            "invalid_input"
        );
        let uri = format!("otpauth://totp/Example:jane?secret={short}&issuer=Example");
        assert_eq!(
            Totp::parse_uri(&uri).unwrap_err().code(),
            "invalid_input",
            "{short}"
        );
    }
    // 160 bits: the RFC 4226 seed "12345678901234567890".
    let ok = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    assert_eq!(t.code(ok, 59).unwrap(), "287082");
    let uri = t.uri(ok, "jane@example.com").unwrap();
    assert_eq!(Totp::parse_uri(&uri).unwrap().secret.as_str(), ok);
    for alg in [
        TotpAlgorithm::Sha1,
        TotpAlgorithm::Sha256,
        TotpAlgorithm::Sha512,
    ] {
        let g = totp(alg, 6, 1);
        let secret = g.generate_secret().unwrap();
        assert!(secret.len() >= 32, "{alg:?}: at least 160 bits");
        g.code(&secret, 59).unwrap();
    }
}
