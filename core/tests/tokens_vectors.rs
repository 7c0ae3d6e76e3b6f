//! vectors/tokens.json: tokens issued by the Python and the Node binding verify in the core, and
//! every error case gives its code. The same file is asserted by pytest and node --test.
mod common;

use polyauth_core::{KeySet, KeySource, Tokens, TokensConfig, VerifyOptions};
use serde_json::Value;

fn tokens_for(doc: &Value, alg: &str) -> Tokens {
    tokens_with(doc, alg, true)
}

fn tokens_with(doc: &Value, alg: &str, require_typ: bool) -> Tokens {
    let keys = KeySet::from_jwks_value(&doc["keys"][alg], None).unwrap();
    let config = TokensConfig {
        require_typ,
        ..TokensConfig::new(
            doc["issuer"].as_str().unwrap(),
            vec![doc["audience"].as_str().unwrap().to_owned()],
        )
    };
    Tokens::new(KeySource::Local(keys), config).unwrap()
}

#[test]
fn tokens_from_both_bindings_verify() {
    let doc = common::read_json(common::project_vectors().join("tokens.json"));
    let list = doc["tokens"].as_array().unwrap();
    assert!(
        list.iter().any(|t| t["issued_by"] == "python")
            && list.iter().any(|t| t["issued_by"] == "node")
    );
    for t in list {
        let tokens = tokens_for(&doc, t["alg"].as_str().unwrap());
        let opts = VerifyOptions {
            now: t["claims"]["iat"].as_i64(),
            ..Default::default()
        };
        let claims = tokens
            .verify(t["token"].as_str().unwrap(), &opts)
            .unwrap_or_else(|e| panic!("{}: {e}", t["id"]));
        assert_eq!(Value::Object(claims), t["claims"], "{}", t["id"]);
    }
}

#[test]
fn error_cases_give_their_codes() {
    let doc = common::read_json(common::project_vectors().join("tokens.json"));
    for c in doc["invalid"].as_array().unwrap() {
        let require_typ = c["require_typ"].as_bool().unwrap_or(true);
        let tokens = tokens_with(&doc, c["alg"].as_str().unwrap(), require_typ);
        let mut opts = VerifyOptions {
            now: c["now"].as_i64(),
            ..Default::default()
        };
        if let Some(a) = c["audience"].as_array() {
            opts.audience = Some(a.iter().map(|v| v.as_str().unwrap().to_owned()).collect());
        }
        if let Some(t) = c["typ"].as_str() {
            opts.typ = Some(t.to_owned());
        }
        if let Some(r) = c["required"].as_array() {
            opts.required = r.iter().map(|v| v.as_str().unwrap().to_owned()).collect();
        }
        let got = tokens
            .verify(c["token"].as_str().unwrap(), &opts)
            .err()
            .map(|e| e.code());
        assert_eq!(got, c["code"].as_str(), "{}", c["id"]);
    }
}
