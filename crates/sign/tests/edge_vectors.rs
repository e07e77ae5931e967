//! Format auto's vectors (`tests/edge-vectors.json`, `docs/url-format.md` §13.6), checked
//! against this crate: the same file the edge function's tests and the JavaScript and Python
//! signers read, written by `edge/make_vectors.py` from the reference signer, so four
//! implementations agree on every auto path, negotiated key, refusal and `Accept` choice.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use rendition_sign::options::Options;
use rendition_sign::{negotiate_path, Auto, Error, KeyRing, Output, RenderRequest};

#[derive(Deserialize)]
struct Vectors {
    keys: std::collections::BTreeMap<String, String>,
    auto: Vec<AutoVector>,
    invalid: Vec<Invalid>,
    accept: Vec<Accept>,
}

#[derive(Deserialize)]
struct AutoVector {
    name: String,
    key_id: String,
    source: String,
    options: Value,
    ops: String,
    format: String,
    message: String,
    path: String,
    negotiated: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Invalid {
    name: String,
    path: String,
    status: u16,
}

#[derive(Deserialize)]
struct Accept {
    name: String,
    accept: Value,
    auto: String,
    #[serde(rename = "auto-alpha")]
    auto_alpha: String,
}

fn vectors() -> Vectors {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/edge-vectors.json");
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

/// The ring of `tests/vectors.json`, with `first` signing.
fn ring(v: &Vectors, first: &str) -> KeyRing {
    let mut ids: Vec<&String> = v.keys.keys().collect();
    ids.sort_by_key(|id| *id != first);
    let spec: Vec<String> = ids
        .iter()
        .map(|id| format!("{id}:{}", v.keys[*id]))
        .collect();
    KeyRing::from_spec(&spec.join(",")).unwrap()
}

#[test]
fn every_auto_vector_signs_verifies_and_negotiates() {
    let v = vectors();
    assert!(v.auto.len() >= 10);
    for a in &v.auto {
        let ring = ring(&v, &a.key_id);
        let options = Options::from_json_value(a.options.clone()).unwrap();
        let (ops, output) = options.resolve(&a.source).unwrap();
        assert_eq!(ops.segment(), a.ops, "{}", a.name);
        assert_eq!(output.extension(), a.format, "{}", a.name);
        assert_eq!(
            ring.sign_new(&a.source, ops, output).unwrap(),
            a.path,
            "{}",
            a.name
        );

        let req = ring.verify(&a.path).unwrap();
        assert_eq!(req.signing_message(), a.message, "{}", a.name);
        let Output::Auto(auto) = req.output else {
            panic!("{}: {:?}", a.name, req.output)
        };
        assert_eq!(req.format(), None, "{}", a.name);
        let choices = auto.choices().map(|f| f.extension().to_string());
        let mut listed: Vec<&String> = a.negotiated.keys().collect();
        listed.sort_by_key(|c| choices.iter().position(|x| x == *c));
        assert_eq!(listed, choices.iter().collect::<Vec<_>>(), "{}", a.name);
        for (choice, key) in &a.negotiated {
            let n = ring
                .verify(key)
                .unwrap_or_else(|e| panic!("{}: {key}: {e}", a.name));
            assert_eq!(n.format().unwrap().extension(), choice, "{}", a.name);
            assert_eq!(n.signing_message(), a.message, "{}", a.name);
            assert_eq!(n.with_output(Output::Auto(auto)), req, "{}", a.name);
            // Purges find negotiated keys under their source.
            let (parsed, _) = RenderRequest::parse_key(&key[1..]).unwrap();
            assert_eq!(parsed.source, a.source, "{}", a.name);
            // The rewrite the edge and `serve` make gives exactly this key.
            let accept = format!("image/{choice}");
            let want = if choices[..2].contains(choice) {
                key.clone()
            } else {
                a.negotiated[&choices[2]].clone()
            };
            assert_eq!(
                negotiate_path(&a.path, [accept.as_str()]),
                Some(want),
                "{}",
                a.name
            );
        }
    }
}

#[test]
fn every_invalid_vector_is_refused_with_its_status() {
    let v = vectors();
    let ring = ring(&v, "k1");
    assert!(v.invalid.len() >= 15);
    for i in &v.invalid {
        let status = match ring.verify(&i.path) {
            Ok(req) => panic!("{}: {} accepted as {req:?}", i.name, i.path),
            Err(Error::BadRequest(_)) => 400,
            Err(Error::Forbidden(_)) => 403,
        };
        assert_eq!(status, i.status, "{}: {}", i.name, i.path);
    }
}

#[test]
fn every_accept_vector_makes_its_choices() {
    let v = vectors();
    assert!(v.accept.len() >= 20);
    for a in &v.accept {
        let values: Vec<&str> = match &a.accept {
            Value::Null => vec![],
            Value::String(s) => vec![s.as_str()],
            Value::Array(list) => list.iter().map(|h| h.as_str().unwrap()).collect(),
            other => panic!("{}: {other}", a.name),
        };
        for (auto, want) in [(Auto::Auto, &a.auto), (Auto::AutoAlpha, &a.auto_alpha)] {
            let got = auto.negotiate(values.iter().copied());
            assert_eq!(got.extension(), want, "{} ({auto})", a.name);
        }
    }
}
