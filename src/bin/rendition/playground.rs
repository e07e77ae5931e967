//! The demo's playground: a page where options as people write them in the signers become the
//! signed URL, the `srcset` and the `<picture>` markup that sites get, and the rendition itself.
//!
//! The page signs in the browser with the project's own JavaScript client (`clients/js/src`,
//! written into `_playground/rendition-sign/` at every start), so what it shows is exactly what
//! that client makes, character for character. Signing in a browser needs the key in the page,
//! so the page carries one only when the demo signs with the development key it generated for
//! its folder and listens on a loopback address ([`Signing::for_demo`]). With `RENDITION_KEYS`
//! set (a real key, which must never reach a page) the page says that the playground is off,
//! and why, and holds no key.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context as _;

use rendition::{render, Limits};

/// The page, at the top of the demo folder next to the gallery.
pub const PAGE: &str = "playground.html";

/// The page's scripts: its own and the client's, served from the demo folder.
const ASSETS: &str = "_playground";

/// The client's browser-side files (`hmac-none.js` is what its `#hmac` import means outside
/// Node: the page's import map says so). Its tests pin them to the spec's vectors.
const CLIENT: [(&str, &str); 4] = [
    ("index.js", include_str!("../../../clients/js/src/index.js")),
    ("core.js", include_str!("../../../clients/js/src/core.js")),
    (
        "markup.js",
        include_str!("../../../clients/js/src/markup.js"),
    ),
    (
        "hmac-none.js",
        include_str!("../../../clients/js/src/hmac-none.js"),
    ),
];

const HTML: &str = include_str!("playground.html");
const SCRIPT: &str = include_str!("playground.js");

/// Why the playground is off when the server signs with `RENDITION_KEYS`, shown in its place.
const OFF_REAL_KEY: &str = "The playground is off: this server signs with RENDITION_KEYS, a \
real key. The playground signs in your browser, so its page would have to hold the signing key, \
and anyone who has it can make this server render anything: a real key must never reach a page. \
Start the demo without RENDITION_KEYS (rendition serve with no --dir) to use the playground with \
the development key it generates for its folder, or sign on your server with rendition sign or \
the JavaScript and Python clients.";

/// Whether the page may sign, and with what.
pub enum Signing<'a> {
    /// The demo's generated development key, `ID:SECRET`, which the page embeds.
    DevKey(&'a str),
    /// No key in the page, which says why instead.
    Off(String),
}

impl<'a> Signing<'a> {
    /// The page signs with the development key only when the demo signs with it (`dev_key`;
    /// `None` with `RENDITION_KEYS`) and listens on a loopback address: a key in a page belongs
    /// to whoever can load the page, and with it they can make this server render anything.
    pub fn for_demo(dev_key: Option<&'a str>, addr: SocketAddr) -> Self {
        match dev_key {
            None => Signing::Off(OFF_REAL_KEY.to_string()),
            Some(_) if !addr.ip().is_loopback() => Signing::Off(format!(
                "The playground is off: this demo listens on {addr}, beyond this machine. The \
                 playground signs in your browser, so its page holds the demo's signing key, and \
                 anyone who can load the page could make this server render anything. Serve \
                 the demo on 127.0.0.1 (the default) to use it."
            )),
            Some(key) => Signing::DevKey(key),
        }
    }
}

/// Writes the page and its scripts into `dir`; the page embeds the key only with
/// [`Signing::DevKey`]. Rewritten at every start, so a page from an earlier start never keeps a
/// key the server no longer signs with. `first` is the source the page starts with.
pub fn write(dir: &Path, signing: &Signing, first: &str) -> anyhow::Result<()> {
    let client = dir.join(ASSETS).join("rendition-sign");
    std::fs::create_dir_all(&client).with_context(|| format!("creating {}", client.display()))?;
    for (name, text) in CLIENT {
        std::fs::write(client.join(name), text)
            .with_context(|| format!("writing {ASSETS}/rendition-sign/{name}"))?;
    }
    std::fs::write(dir.join(ASSETS).join("playground.js"), SCRIPT)
        .with_context(|| format!("writing {ASSETS}/playground.js"))?;
    let config = match signing {
        Signing::DevKey(keys) => {
            serde_json::json!({ "keys": keys, "sources": sources(dir), "first": first })
        }
        Signing::Off(why) => serde_json::json!({ "off": why, "sources": [] }),
    };
    // In a <script> element only `</script` could end the JSON early: no `<` at all, then.
    let config = config.to_string().replace('<', "\\u003c");
    std::fs::write(dir.join(PAGE), HTML.replacen("{{config}}", &config, 1))
        .with_context(|| format!("writing {PAGE}"))
}

/// The images in the folder's `sources/` (any depth, hidden names left out) with their size as
/// displayed (after EXIF orientation), which the client needs for `width`/`height` attributes.
/// Files that aren't images rendition can read are left out: the page offers only what renders.
fn sources(dir: &Path) -> Vec<serde_json::Value> {
    fn walk(dir: &Path, key: &str, out: &mut Vec<(String, std::path::PathBuf)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            let (path, key) = (entry.path(), format!("{key}/{name}"));
            if path.is_dir() {
                walk(&path, &key, out);
            } else {
                out.push((key, path));
            }
        }
    }
    let mut files = Vec::new();
    walk(&dir.join("sources"), "sources", &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|(key, path)| {
            let bytes = std::fs::read(&path).ok()?;
            let probe = render::probe(&bytes, &Limits::default()).ok()?;
            let (width, height) = probe.orientation.apply_size(probe.width, probe.height);
            Some(serde_json::json!({
                "key": key,
                "width": width,
                "height": height,
                "bytes": bytes.len(),
                "format": format!("{:?}", probe.format).to_lowercase(),
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_gets_only_the_dev_key_and_only_on_loopback() {
        let local = "127.0.0.1:8080".parse().unwrap();
        let local6 = "[::1]:8080".parse().unwrap();
        let everywhere = "0.0.0.0:8080".parse().unwrap();
        let lan = "192.168.1.20:8080".parse().unwrap();
        for addr in [local, local6] {
            assert!(matches!(
                Signing::for_demo(Some("dev:x"), addr),
                Signing::DevKey("dev:x")
            ));
            let Signing::Off(why) = Signing::for_demo(None, addr) else {
                panic!("RENDITION_KEYS never reaches the page");
            };
            assert!(why.contains("RENDITION_KEYS"), "{why}");
        }
        for addr in [everywhere, lan] {
            let Signing::Off(why) = Signing::for_demo(Some("dev:x"), addr) else {
                panic!("no key in a page served beyond this machine ({addr})");
            };
            assert!(why.contains(&addr.to_string()), "{why}");
        }
    }
}
