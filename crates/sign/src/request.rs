//! The signed render request: parse, canonical form, sign and verify. Pure: no I/O, no clock.
//!
//! A render path (URL layout version 2) is `/r/<source>/<key-id>.<signature>/<ops>.<ext>`, and
//! without its leading slash it is also the storage key of the rendition. Every rendition of a
//! source lies under one prefix, [`rendition_prefix`], so a source's renditions can be listed,
//! purged and invalidated together. The path is read from the right: the last segment is the
//! operations and the extension, the one before it the signature, the rest the source.
//! [`RenderRequest::parse`] accepts only the canonical form, so each rendition has exactly one
//! path; [`KeyRing::verify`] checks the signature in constant time. `docs/url-format.md` is the
//! normative specification and `tests/vectors.json` the test vectors for other signers.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::auto::Output;
use crate::error::{bad, Error, Result};
use crate::ops::Ops;

/// Every rendition path starts with this; every rendition key starts with `r/`.
pub const PREFIX: &str = "/r/";
/// The domain-separation tag that starts every signed message.
pub const SIGNING_TAG: &str = "rendition:v2";
/// Bytes of HMAC-SHA256 output kept in the path (22 base64url characters).
pub const SIGNATURE_BYTES: usize = 16;
/// Longest storage key (the path without its leading slash): S3's limit.
pub const MAX_KEY_BYTES: usize = 1024;
/// Shortest accepted secret.
pub const MIN_SECRET_BYTES: usize = 16;
/// Longest key id.
pub const MAX_KEY_ID_LEN: usize = 16;

/// One rendition: which source, what to do to it, which format, and the key id that signs it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RenderRequest {
    pub key_id: String,
    pub ops: Ops,
    /// The source object's key in the store, decoded.
    pub source: String,
    /// A format, an auto format, or an auto format's choice (a negotiated key).
    pub output: Output,
}

impl RenderRequest {
    /// Builds a request, checking every part; the result always has a valid canonical path.
    pub fn new(key_id: &str, source: &str, ops: Ops, output: impl Into<Output>) -> Result<Self> {
        let output = output.into();
        if let Output::Negotiated(auto, chosen) = output {
            output.negotiated(chosen).map_err(|_| {
                bad(format!(
                    "{auto} is never negotiated to {}",
                    chosen.extension()
                ))
            })?;
        }
        check_key_id(key_id)?;
        check_source_key(source)?;
        output.validate(&ops)?;
        let req = RenderRequest {
            key_id: key_id.to_string(),
            ops,
            source: source.to_string(),
            output,
        };
        let len = req.storage_key_len();
        if len > MAX_KEY_BYTES {
            let why = match req.output.auto() {
                Some(a) => format!(", counting its longest {a} choice"),
                None => String::new(),
            };
            return Err(bad(format!(
                "source: the path would be {len} bytes{why}, over the {MAX_KEY_BYTES}-byte key limit"
            )));
        }
        Ok(req)
    }

    /// The concrete format to render: `None` for an auto path, which is negotiated first.
    pub fn format(&self) -> Option<crate::ops::Format> {
        self.output.format()
    }

    /// Length of the storage key: `r/` source-text `/` key-id `.` signature `/` ops `.` ext,
    /// counting an auto path and its negotiated keys as the longest of them (§13.2).
    fn storage_key_len(&self) -> usize {
        let signature_len = (SIGNATURE_BYTES * 4).div_ceil(3);
        PREFIX.len() - 1
            + encode_source(&self.source).len()
            + 1
            + self.key_id.len()
            + 1
            + signature_len
            + 1
            + self.ops.segment().len()
            + 1
            + self.output.signed_extension().len()
            + self.output.reserved_len()
    }

    /// `<ops>.<ext>`: the last segment of the path (`-.webp` when there are no operations,
    /// `w640.auto.avif` for a negotiated key).
    pub fn file_name(&self) -> String {
        format!("{}.{}", self.ops.segment(), self.output.extension())
    }

    /// The exact bytes the signature is computed over:
    /// `rendition:v2` LF key-id LF source-text LF ops `.` ext, where a negotiated key's ext is
    /// its auto path's (`auto`, not `auto.avif`).
    pub fn signing_message(&self) -> String {
        format!(
            "{SIGNING_TAG}\n{}\n{}\n{}.{}",
            self.key_id,
            encode_source(&self.source),
            self.ops.segment(),
            self.output.signed_extension()
        )
    }

    /// The same rendition with another output (an auto path's negotiated key, or back).
    pub fn with_output(&self, output: Output) -> RenderRequest {
        RenderRequest {
            output,
            ..self.clone()
        }
    }

    /// The full canonical path, given the signature as it appears in the path.
    pub fn path_with_signature(&self, signature: &str) -> String {
        format!(
            "{}{}.{signature}/{}",
            rendition_path_prefix(&self.source),
            self.key_id,
            self.file_name()
        )
    }

    /// Parses a request path (the raw path, percent-encoding included, no query string).
    ///
    /// Returns the request and the signature text; it does not verify the signature.
    /// Rejects anything that is not exactly the canonical path of some rendition, and says so
    /// plainly when the path is in the retired layout version 1.
    pub fn parse(path: &str) -> Result<(RenderRequest, String)> {
        let rest = path
            .strip_prefix(PREFIX)
            .ok_or_else(|| bad(format!("render paths start with {PREFIX}")))?;
        if path.len() - 1 > MAX_KEY_BYTES {
            return Err(bad(format!(
                "path is over the {MAX_KEY_BYTES}-byte key limit"
            )));
        }
        if let Some(c) = rest.bytes().find(|b| !is_path_byte(*b)) {
            return Err(bad(format!(
                "character {:?} is not allowed in a render path (only A-Z a-z 0-9 - _ . ! and /)",
                c as char
            )));
        }
        let split = rest.rsplit_once('/').and_then(|(before, file)| {
            let (source_text, sig_segment) = before.rsplit_once('/')?;
            Some((source_text, sig_segment, file))
        });
        let Some((source_text, sig_segment, file)) = split else {
            return Err(layout_error(
                rest,
                "path must be /r/<source>/<key-id>.<signature>/<ops>.<ext>",
            ));
        };
        let Some((key_id, signature)) = sig_segment.split_once('.') else {
            return Err(layout_error(
                rest,
                "the segment before the last must be <key-id>.<signature>",
            ));
        };
        if check_key_id(key_id).is_err() || check_signature_text(signature).is_err() {
            if let Some(e) = version_1(rest) {
                return Err(e);
            }
        }
        check_key_id(key_id)?;
        check_signature_text(signature)?;

        let (ops_segment, output) = Output::split(file)?;
        let ops = Ops::parse_tokens(ops_segment)?;
        output.validate(&ops)?;
        let source = decode_source(source_text)?;
        let req = RenderRequest::new(key_id, &source, ops, output)?;
        // Belt and braces: whatever parsed must print back to the very same path.
        if req.path_with_signature(signature) != path {
            return Err(bad("path is not in canonical form"));
        }
        Ok((req, signature.to_string()))
    }

    /// Parses a storage key (a path without its leading slash), as found when listing a store.
    pub fn parse_key(key: &str) -> Result<(RenderRequest, String)> {
        RenderRequest::parse(&format!("/{key}"))
    }

    /// The storage key of this rendition under `signature`: the path without its leading slash.
    pub fn storage_key(&self, signature: &str) -> String {
        self.path_with_signature(signature)[1..].to_string()
    }
}

/// `/r/<source-text>/`: the path prefix every rendition of `source` starts with.
fn rendition_path_prefix(source: &str) -> String {
    format!("{PREFIX}{}/", encode_source(source))
}

/// `r/<source-text>/`: the storage-key prefix under which every rendition of `source` lies.
///
/// Listing it finds all of them; it can also hold the renditions of a source whose key
/// continues it (`a.jpg/b.png` under `a.jpg`'s prefix), so a purge keeps only the keys that
/// [`RenderRequest::parse_key`] reads back as exactly `source`.
pub fn rendition_prefix(source: &str) -> String {
    rendition_path_prefix(source)[1..].to_string()
}

/// A 400 for a path whose segments are not where layout version 2 puts them.
fn layout_error(rest: &str, message: &str) -> Error {
    version_1(rest).unwrap_or_else(|| bad(message))
}

/// A clear 400 for a path in layout version 1 (`/r/<key-id>.<signature>/<ops>/<source>.<ext>`),
/// which put the signature first; `None` when the path does not look like one.
fn version_1(rest: &str) -> Option<Error> {
    let mut parts = rest.splitn(3, '/');
    let (first, _ops, _source) = (parts.next()?, parts.next()?, parts.next()?);
    let (id, sig) = first.split_once('.')?;
    (check_key_id(id).is_ok() && check_signature_text(sig).is_ok()).then(|| {
        bad("this is a layout version 1 path (/r/<key-id>.<signature>/<ops>/<source>.<ext>); \
             rendition now uses version 2 (/r/<source>/<key-id>.<signature>/<ops>.<ext>): sign it again")
    })
}

impl fmt::Display for RenderRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} -> {}", self.source, self.file_name())
    }
}

/// Bytes allowed anywhere in a render path after `/r/`: they pass through browsers, CDNs,
/// proxies and S3 unchanged.
fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'!' | b'/')
}

/// Bytes a source key may use in its literal form.
fn is_literal_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/')
}

fn check_key_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > MAX_KEY_ID_LEN || !id.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return Err(bad(format!(
            "key id must be 1 to {MAX_KEY_ID_LEN} ASCII letters and digits"
        )));
    }
    Ok(())
}

fn check_signature_text(sig: &str) -> Result<()> {
    // 16 bytes are 22 base64url characters; the last one carries only 2 bits, so it must be
    // one of the 16 characters whose low 4 bits are zero, or the same bytes would have several
    // spellings.
    let canonical = sig.len() == 22
        && B64
            .decode(sig)
            .map(|b| B64.encode(b) == sig)
            .unwrap_or(false);
    if !canonical {
        return Err(bad("signature must be 22 base64url characters (16 bytes)"));
    }
    Ok(())
}

/// Where renditions are stored: every key under it is a rendition, so none may be a source
/// (a rendition of a rendition could make renders without end).
pub const RENDITIONS: &str = "r/";

/// Whether `key` lies under [`RENDITIONS`], where no source may be.
pub fn is_rendition_key(key: &str) -> bool {
    key.starts_with(RENDITIONS)
}

/// Checks a decoded source key: non-empty segments, no `.` or `..`, no control characters.
pub fn check_source_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(bad("empty source key"));
    }
    if key.starts_with('/') {
        return Err(bad("source key must not start with /"));
    }
    if key.chars().any(char::is_control) {
        return Err(bad("source key has a control character"));
    }
    for seg in key.split('/') {
        match seg {
            "" => return Err(bad("source key has an empty segment")),
            "." | ".." => return Err(bad("source key has a . or .. segment")),
            _ => {}
        }
    }
    Ok(())
}

/// The source key as it appears in the path: literal when every byte is path-safe, else `!`
/// followed by the base64url (no padding) of its UTF-8 bytes.
pub fn encode_source(key: &str) -> String {
    if key.bytes().all(is_literal_byte) {
        key.to_string()
    } else {
        format!("!{}", B64.encode(key.as_bytes()))
    }
}

fn decode_source(text: &str) -> Result<String> {
    let Some(b64) = text.strip_prefix('!') else {
        if text.contains('!') {
            return Err(bad("! may only start an encoded source key"));
        }
        return Ok(text.to_string());
    };
    let bytes = B64
        .decode(b64)
        .map_err(|_| bad("encoded source key is not base64url"))?;
    let key = String::from_utf8(bytes).map_err(|_| bad("encoded source key is not UTF-8"))?;
    if key.bytes().all(is_literal_byte) {
        return Err(bad("source key needs no encoding: write it literally"));
    }
    if B64.encode(key.as_bytes()) != b64 {
        return Err(bad("encoded source key is not in canonical base64url"));
    }
    Ok(key)
}

/// A secret signing key with its id.
#[derive(Clone)]
pub struct SigningKey {
    pub id: String,
    secret: Vec<u8>,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret, not even in debug output.
        f.debug_struct("SigningKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    pub fn new(id: &str, secret: &[u8]) -> Result<Self> {
        check_key_id(id)?;
        if secret.len() < MIN_SECRET_BYTES {
            return Err(bad(format!(
                "secret of key {id:?} is {} bytes; use at least {MIN_SECRET_BYTES} (32 random bytes recommended)",
                secret.len()
            )));
        }
        Ok(SigningKey {
            id: id.to_string(),
            secret: secret.to_vec(),
        })
    }

    fn mac(&self, message: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key length");
        mac.update(message.as_bytes());
        mac
    }
}

/// The live keys: the first signs, all verify. Rotation adds a new key in front, and removes
/// the old one once no page links to its URLs; renditions already stored keep being served
/// by the CDN either way, since a hit never reaches the verifier.
#[derive(Clone, Debug)]
pub struct KeyRing {
    keys: Vec<SigningKey>,
}

impl KeyRing {
    pub fn new(keys: Vec<SigningKey>) -> Result<Self> {
        if keys.is_empty() {
            return Err(bad("no signing keys"));
        }
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.id == k.id) {
                return Err(bad(format!("key id {:?} is listed twice", k.id)));
            }
        }
        Ok(KeyRing { keys })
    }

    /// Parses `ID:SECRET[,ID:SECRET...]`, the format of `RENDITION_KEYS`.
    pub fn from_spec(spec: &str) -> Result<Self> {
        let mut keys = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (id, secret) = item
                .split_once(':')
                .ok_or_else(|| bad("each key is ID:SECRET, separated by commas"))?;
            keys.push(SigningKey::new(id.trim(), secret.trim().as_bytes())?);
        }
        KeyRing::new(keys)
    }

    /// The key that signs new URLs.
    pub fn signing_key(&self) -> &SigningKey {
        &self.keys[0]
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(|k| k.id.as_str())
    }

    /// Signs `req` with the key named by `req.key_id` and returns its canonical path.
    pub fn sign(&self, req: &RenderRequest) -> Result<String> {
        let key = self.find(&req.key_id)?;
        let tag = key.mac(&req.signing_message()).finalize().into_bytes();
        Ok(req.path_with_signature(&B64.encode(&tag[..SIGNATURE_BYTES])))
    }

    /// Builds and signs a request with the signing key.
    pub fn sign_new(&self, source: &str, ops: Ops, output: impl Into<Output>) -> Result<String> {
        let req = RenderRequest::new(&self.signing_key().id, source, ops, output)?;
        self.sign(&req)
    }

    /// Parses `path` and checks its signature; the request comes back only if both pass.
    pub fn verify(&self, path: &str) -> Result<RenderRequest> {
        let (req, signature) = RenderRequest::parse(path)?;
        let key = self.find(&req.key_id)?;
        let tag = B64
            .decode(&signature)
            .map_err(|_| bad("signature is not base64url"))?;
        key.mac(&req.signing_message())
            .verify_truncated_left(&tag)
            .map_err(|_| Error::Forbidden("signature does not match".into()))?;
        Ok(req)
    }

    fn find(&self, id: &str) -> Result<&SigningKey> {
        self.keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| Error::Forbidden(format!("unknown key id {id:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::{Fit, Format, Gravity};

    fn ring() -> KeyRing {
        KeyRing::from_spec(
            "k1:0123456789abcdef0123456789abcdef,k0:fedcba9876543210fedcba9876543210",
        )
        .unwrap()
    }

    #[test]
    fn sign_then_verify() {
        let ring = ring();
        let ops = Ops {
            width: Some(640),
            height: Some(360),
            gravity: Gravity::North,
            ..Ops::default()
        };
        let path = ring
            .sign_new("photos/cat.jpg", ops.clone(), Format::Webp)
            .unwrap();
        assert!(path.starts_with("/r/photos/cat.jpg/k1."), "{path}");
        assert!(path.ends_with("/w640_h360_g-n.webp"), "{path}");
        let req = ring.verify(&path).unwrap();
        assert_eq!(req.ops, ops);
        assert_eq!(req.source, "photos/cat.jpg");
    }

    #[test]
    fn older_keys_still_verify() {
        let old = KeyRing::from_spec("k0:fedcba9876543210fedcba9876543210").unwrap();
        let path = old.sign_new("a.png", Ops::default(), Format::Png).unwrap();
        assert!(ring().verify(&path).is_ok());
    }

    #[test]
    fn unknown_key_and_bad_signature_are_forbidden() {
        let other = KeyRing::from_spec("k9:0123456789abcdef0123456789abcdef").unwrap();
        let path = other
            .sign_new("a.png", Ops::default(), Format::Png)
            .unwrap();
        assert!(matches!(ring().verify(&path), Err(Error::Forbidden(_))));
        let forged = KeyRing::from_spec("k1:xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx").unwrap();
        let path = forged
            .sign_new("a.png", Ops::default(), Format::Png)
            .unwrap();
        assert!(matches!(ring().verify(&path), Err(Error::Forbidden(_))));
    }

    #[test]
    fn source_keys_are_literal_or_encoded() {
        assert_eq!(encode_source("a/b-c_d.e.jpg"), "a/b-c_d.e.jpg");
        let enc = encode_source("my photos/été.jpg");
        assert!(enc.starts_with('!'));
        assert_eq!(decode_source(&enc).unwrap(), "my photos/été.jpg");
        assert!(decode_source(&format!("!{}", B64.encode("plain.jpg"))).is_err());
        let ring = ring();
        let path = ring
            .sign_new("my photos/été.jpg", Ops::default(), Format::Jpeg)
            .unwrap();
        assert_eq!(ring.verify(&path).unwrap().source, "my photos/été.jpg");
    }

    #[test]
    fn bad_source_keys_are_rejected() {
        for key in [
            "",
            "/abs.jpg",
            "a//b.jpg",
            "../x.jpg",
            "a/./b.jpg",
            "a/..",
            "a\u{0}b",
        ] {
            assert!(check_source_key(key).is_err(), "{key:?}");
            assert!(
                ring().sign_new(key, Ops::default(), Format::Jpeg).is_err(),
                "{key:?}"
            );
        }
    }

    #[test]
    fn renditions_of_a_source_share_one_prefix_that_excludes_longer_sources() {
        let ring = ring();
        let a = ring
            .sign_new("a.jpg", Ops::default(), Format::Webp)
            .unwrap();
        let nested = ring
            .sign_new("a.jpg/b.png", Ops::default(), Format::Webp)
            .unwrap();
        assert_eq!(rendition_prefix("a.jpg"), "r/a.jpg/");
        assert!(a[1..].starts_with(&rendition_prefix("a.jpg")), "{a}");
        // The longer source's renditions are under the shorter one's prefix too, but they do
        // not parse back to it: that is what a purge keys on.
        assert!(nested[1..].starts_with(&rendition_prefix("a.jpg")));
        assert_eq!(
            RenderRequest::parse_key(&nested[1..]).unwrap().0.source,
            "a.jpg/b.png"
        );
        assert_eq!(RenderRequest::parse_key(&a[1..]).unwrap().0.source, "a.jpg");
        let encoded = rendition_prefix("my photos/été.jpg");
        assert_eq!(encoded, "r/!bXkgcGhvdG9zL8OpdMOpLmpwZw/");
    }

    #[test]
    fn version_1_paths_get_a_clear_400() {
        for v1 in [
            "/r/k1.UgD31OKj2shC8oWOl6FSHA/w640_h360_fit-contain_g-sw_bg-ff8800/photos/cat.jpg.png",
            "/r/k1.xz0kHvNIrHIt0w5X4ynI_g/-/!bXkgcGhvdG9zL8OpdMOpLmpwZw.webp",
            "/r/k0.09Z2Sdwj3MDaHfxeN_WwUg/w640_h360/photos/cat.jpg.jpg",
        ] {
            match ring().verify(v1) {
                Err(Error::BadRequest(m)) => assert!(m.contains("version 1"), "{v1}: {m}"),
                other => panic!("{v1}: {other:?}"),
            }
        }
    }

    #[test]
    fn paths_over_the_key_limit_are_refused() {
        let long = "a".repeat(1000);
        assert!(ring()
            .sign_new(&long, Ops::default(), Format::Jpeg)
            .is_err());
        let ok = "a".repeat(950);
        let path = ring().sign_new(&ok, Ops::default(), Format::Jpeg).unwrap();
        assert!(path.len() - 1 <= MAX_KEY_BYTES);
    }

    #[test]
    fn malformed_paths_are_bad_requests() {
        let ring = ring();
        let good = ring
            .sign_new(
                "a.jpg",
                Ops {
                    width: Some(10),
                    fit: Fit::Cover,
                    ..Ops::default()
                },
                Format::Png,
            )
            .unwrap();
        assert!(good.starts_with("/r/a.jpg/k1."), "{good}");
        assert!(good.ends_with("/w10.png"), "{good}");
        let bad_paths = [
            "/".to_string(),
            "/r/".to_string(),
            "/x/a.jpg/k1.AAAAAAAAAAAAAAAAAAAAAA/-.png".to_string(),
            good.replace("/r/", "/r//"),
            good.replace(".png", ".PNG"),
            good.replace(".png", ".jpeg"),
            good.replace("w10.png", "w10"),
            good.replace("w10.png", "w10/x.png"),
            good.replace("w10", "w010"),
            good.replace("/k1.", "/k1"),
            good.replace("/k1.", "/"),
            format!("{good}?x=1"),
            format!("{good}/"),
            good.replace("a.jpg", "a%2Ejpg"),
            good.replace("a.jpg", "../a.jpg"),
            good.replace("a.jpg", "a.jpg/"),
        ];
        for p in bad_paths {
            assert!(
                matches!(ring.verify(&p), Err(Error::BadRequest(_))),
                "{p} not rejected"
            );
        }
    }
}
