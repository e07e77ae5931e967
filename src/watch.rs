//! `rendition serve --dir` keeps renditions in line with the folder's sources as files change.
//!
//! A file watcher (inotify on Linux, FSEvents on macOS, through the `notify` crate) reports
//! changed paths; after a short quiet period each changed source key is reconciled
//! ([`Lifecycle::reconcile`]): the source as it is now decides which renditions stay, so a
//! replaced file's renditions go (the next request renders the new pixels) and a deleted
//! file's go with it (the URL then answers 404). The folder store records no source ETag on
//! its renditions, so a change purges all of the file's renditions, including one rendered in
//! the fraction of a second between the change and the purge (it is simply rendered again). Nothing under `r/` and no hidden name (the
//! folder store's temporary files) is a source, and `r/` is not watched at all (it holds a
//! folder per source and key, each of which would cost a watch). A folder renamed or removed
//! as a whole reconciles every source that had renditions under it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::error::{Error, Result};
use crate::lifecycle::Lifecycle;
use crate::request::RenderRequest;

/// How long the watcher waits for more changes before it reconciles (an editor's save, a copy
/// of many files, or `mv` of a folder arrive as bursts).
pub const QUIET: Duration = Duration::from_millis(150);

/// Keeps the watcher alive; dropping it stops watching.
pub struct WatchGuard {
    _watcher: Arc<Mutex<notify::RecommendedWatcher>>,
}

/// Watches `root` (the folder behind `lifecycle.sources`) and reconciles what changes.
pub fn watch(root: &Path, lifecycle: Arc<Lifecycle>) -> Result<WatchGuard> {
    let root = root
        .canonicalize()
        .map_err(|e| Error::Storage(format!("cannot watch the folder: {e}")))?;
    let (tx, mut rx) = mpsc::unbounded_channel::<PathBuf>();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        match event {
            // Reads (the renderer opening a source is one) and metadata-only changes (touch,
            // chmod) change no pixels.
            Ok(e) if changes_content(&e.kind) => {
                for p in e.paths {
                    let _ = tx.send(p);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "file watcher error"),
        }
    })
    .map_err(|e| Error::Storage(format!("cannot watch the folder: {e}")))?;
    let watcher = Arc::new(Mutex::new(watcher));
    {
        let mut w = watcher.lock().unwrap_or_else(|p| p.into_inner());
        w.watch(&root, RecursiveMode::NonRecursive)
            .map_err(|e| Error::Storage(format!("cannot watch the folder: {e}")))?;
        let entries = std::fs::read_dir(&root)
            .map_err(|e| Error::Storage(format!("cannot watch the folder: {e}")))?;
        for entry in entries.flatten() {
            watch_top_level(&mut w, &root, &entry.path());
        }
    }
    // The task holds the watcher weakly, so dropping the guard stops it (and ends the task).
    let weak = Arc::downgrade(&watcher);
    let guard = WatchGuard { _watcher: watcher };
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut paths = BTreeSet::from([first]);
            // Collect the rest of the burst; bounded so a folder that never stops changing
            // still gets reconciled.
            let burst_end = tokio::time::Instant::now() + QUIET * 20;
            while let Ok(Some(p)) = tokio::time::timeout(QUIET, rx.recv()).await {
                paths.insert(p);
                if tokio::time::Instant::now() > burst_end {
                    break;
                }
            }
            let mut keys = Vec::new();
            for path in paths {
                if path.parent() == Some(root.as_path()) && path.is_dir() {
                    // A new top-level folder: watch it too.
                    if let Some(watcher) = weak.upgrade() {
                        let mut w = watcher.lock().unwrap_or_else(|p| p.into_inner());
                        watch_top_level(&mut w, &root, &path);
                    }
                }
                keys.extend(source_key(&root, &path));
            }
            reconcile_burst(&lifecycle, &root, keys).await;
        }
    });
    Ok(guard)
}

/// Watches one entry of the root recursively, unless it is `r/` or hidden: the renditions'
/// own folders (one per source and key) would cost an inotify watch each for nothing.
fn watch_top_level(w: &mut notify::RecommendedWatcher, root: &Path, path: &Path) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or(".");
    if name == "r" || name.starts_with('.') || !path.is_dir() {
        return;
    }
    if let Err(e) = w.watch(path, RecursiveMode::Recursive) {
        tracing::warn!(error = %e, dir = %path.strip_prefix(root).unwrap_or(path).display(), "cannot watch a folder");
    }
}

fn changes_content(kind: &notify::EventKind) -> bool {
    use notify::event::ModifyKind;
    use notify::EventKind;
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        EventKind::Access(_) | EventKind::Any | EventKind::Other => false,
    }
}

/// The source key of a changed path: relative to the root, `/`-separated, not under `r/`,
/// no hidden segment.
fn source_key(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let mut segments = Vec::new();
    for c in rel.components() {
        let s = c.as_os_str().to_str()?;
        if s.starts_with('.') {
            return None;
        }
        segments.push(s);
    }
    if segments.is_empty() || segments[0] == "r" {
        return None;
    }
    Some(segments.join("/"))
}

/// Reconciles the changed keys of one burst. A path that exists as a folder is skipped (what
/// changed inside it has events of its own); a path that is gone may have been a folder
/// removed or renamed as a whole, so one listing of `r/` finds the sources below the vanished
/// paths, however many there are.
async fn reconcile_burst(lifecycle: &Lifecycle, root: &Path, keys: Vec<String>) {
    let mut sources = BTreeSet::new();
    let mut vanished = Vec::new();
    for key in keys {
        let path = root.join(&key);
        if path.is_dir() {
            continue;
        }
        if !path.exists() {
            vanished.push(format!("{key}/"));
        }
        sources.insert(key);
    }
    if !vanished.is_empty() {
        match lifecycle.renditions.list(crate::request::RENDITIONS).await {
            Ok(listed) => sources.extend(
                listed
                    .into_iter()
                    .filter_map(|o| RenderRequest::parse_key(&o.key).ok())
                    .map(|(req, _)| req.source)
                    .filter(|s| vanished.iter().any(|v| s.starts_with(v.as_str()))),
            ),
            Err(e) => tracing::warn!(error = %e, "cannot list renditions"),
        }
    }
    for source in sources {
        if let Err(e) = lifecycle.reconcile(&source, false).await {
            tracing::warn!(error = %e, source, "purge after a file change failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_sources_outside_r_are_keys() {
        let root = Path::new("/srv/site");
        let key = |p: &str| source_key(root, Path::new(p));
        assert_eq!(
            key("/srv/site/photos/cat.jpg").as_deref(),
            Some("photos/cat.jpg")
        );
        assert_eq!(key("/srv/site/r/photos/cat.jpg/k1.x/w1.jpg"), None);
        assert_eq!(key("/srv/site/photos/.tmp-123"), None);
        assert_eq!(key("/srv/site"), None);
        assert_eq!(key("/elsewhere/a.jpg"), None);
        assert_eq!(key("/srv/site/rr/a.jpg").as_deref(), Some("rr/a.jpg"));
    }
}
