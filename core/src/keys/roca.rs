//! ROCA (CVE-2017-15361) fingerprint: Infineon-generated RSA moduli satisfy n ≡ 65537^k (mod p)
//! for every small prime p of the generator's primorial. A random modulus passes all of these
//! tests with negligible probability, so a match means the key's primes are recoverable.

const PRIMES: [u32; 38] = [
    3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
    101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
];

fn mod_small(n: &[u8], p: u32) -> u32 {
    n.iter().fold(0u32, |r, &b| ((r << 8) | u32::from(b)) % p)
}

fn in_subgroup_of_65537(r: u32, p: u32) -> bool {
    let g = 65537 % p;
    let mut x = 1u32;
    for _ in 0..p {
        if x == r {
            return true;
        }
        x = x * g % p;
    }
    false
}

/// True when the modulus carries the ROCA fingerprint.
pub fn is_vulnerable(modulus: &[u8]) -> bool {
    PRIMES
        .iter()
        .all(|&p| in_subgroup_of_65537(mod_small(modulus, p), p))
}

#[cfg(test)]
mod tests {
    #[test]
    fn small_modulus_math() {
        assert_eq!(super::mod_small(&[1, 0], 7), 256 % 7);
        assert!(super::in_subgroup_of_65537(1, 5));
        assert!(!super::in_subgroup_of_65537(0, 5));
    }
}
