//! `rendition warm`: the command-line face of [`rendition::warm`]: where the paths come from,
//! the progress bar (or plain lines when stderr is not a terminal), the summary and the exit
//! status.

use std::io::{IsTerminal as _, Read as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::ServiceArgs;
use rendition::settings::{presets_from, Settings};
use rendition::store::FsStore;
use rendition::warm::{self, Done, Summary};
use rendition::{Answer, Service};

#[derive(clap::Args, Debug)]
pub struct WarmArgs {
    /// A list of rendition paths or URLs, one per line; `-` reads standard input.
    list: Option<PathBuf>,
    /// The folder to warm (sources are read from it, renditions written under r/).
    #[arg(long, conflicts_with = "bucket")]
    dir: Option<PathBuf>,
    /// The S3 bucket to warm (any S3-compatible endpoint: see the README).
    #[arg(long)]
    bucket: Option<String>,
    /// With --bucket: read sources from this bucket instead.
    #[arg(long, requires = "bucket")]
    source_bucket: Option<String>,
    /// HTML files to scan for rendition URLs (src, srcset, href...).
    #[arg(long, num_args = 1..)]
    html: Vec<PathBuf>,
    /// Warm every source under this key prefix ("" for all) with each --preset.
    #[arg(long, requires = "preset")]
    prefix: Option<String>,
    /// Presets to render each source under --prefix with (comma-separated names).
    #[arg(long, value_delimiter = ',', requires = "prefix")]
    preset: Vec<String>,
    /// Presets as JSON text or the path of a JSON file (default: RENDITION_PRESETS).
    #[arg(long)]
    presets: Option<String>,
    /// Paths warmed at once [default: the number of CPUs].
    #[arg(long)]
    jobs: Option<usize>,
    #[command(flatten)]
    service: ServiceArgs,
}

/// Runs the command; `Ok(false)` when anything failed (the failures are listed).
pub async fn run(args: WarmArgs, mut settings: Settings) -> anyhow::Result<bool> {
    args.service.apply(&mut settings);
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    });
    if jobs == 0 {
        bail!("--jobs: give at least 1");
    }
    if settings.max_concurrent_renders.is_none() {
        settings.max_concurrent_renders = Some(jobs);
    }
    let config = settings.service_config(Answer::Bytes);
    let service = match (&args.dir, &args.bucket) {
        (Some(dir), _) => {
            let store = FsStore::new(dir).with_context(|| format!("warming {}", dir.display()))?;
            Service::new(Arc::new(store), settings.key_ring()?, config)
        }
        (None, Some(bucket)) => {
            settings.bucket = Some(bucket.clone());
            if args.source_bucket.is_some() {
                settings.source_bucket = args.source_bucket.clone();
            }
            let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            let stores = settings.s3_stores(&sdk)?;
            Service::new(stores.renditions, settings.key_ring()?, config)
                .with_sources(stores.sources)
        }
        (None, None) => bail!("give --dir DIR or --bucket NAME"),
    };
    let service = Arc::new(service);

    let mut items = Vec::new();
    if let Some(list) = &args.list {
        let text = if list.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading the list from standard input")?;
            text
        } else {
            std::fs::read_to_string(list).with_context(|| format!("reading {}", list.display()))?
        };
        items.extend(warm::from_list(&text));
    }
    for page in &args.html {
        let html =
            std::fs::read_to_string(page).with_context(|| format!("reading {}", page.display()))?;
        items.extend(warm::from_html(&html).into_iter().map(Ok));
    }
    if let Some(prefix) = &args.prefix {
        let presets = presets_from(args.presets.as_deref().unwrap_or(&settings.presets))?;
        let chosen = args
            .preset
            .iter()
            .map(|name| Ok((name.clone(), presets.get(name)?.clone())))
            .collect::<rendition::Result<Vec<_>>>()?;
        items.extend(warm::from_presets(&service, prefix, &chosen).await?);
    }
    if args.list.is_none() && args.html.is_empty() && args.prefix.is_none() {
        bail!("nothing to warm: give a list (a file, or - for standard input), --html FILES or --prefix with --preset");
    }

    let total: usize = items
        .iter()
        .map(|i| i.as_ref().map_or(1, |p| warm::expand(p).len()))
        .sum();
    let mut progress = Progress::new(total as u64);
    let summary = warm::warm(service, items, jobs, |path, done, so_far| {
        progress.step(path, done, so_far)
    })
    .await;
    progress.finish();
    print_summary(&summary);
    Ok(summary.failed.is_empty())
}

/// A progress bar with rate and ETA on a terminal; elsewhere (CI, a log file) a plain line
/// every few seconds.
struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    started: Instant,
    last_line: Instant,
}

/// How often the plain progress line is printed.
const LINE_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} {per_sec} ETA {eta} {msg}")
                    .expect("a valid template"),
            );
            bar
        });
        let now = Instant::now();
        Progress {
            bar,
            total,
            started: now,
            last_line: now,
        }
    }

    fn step(&mut self, path: &str, done: &Done, summary: &Summary) {
        if let Done::Failed(f) = done {
            let line = format!("failed: {}: {}", f.what, f.why);
            match &self.bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
        let _ = path;
        match &self.bar {
            Some(bar) => {
                bar.set_position(summary.done());
                bar.set_message(format!("{} failed", summary.failed.len()));
            }
            None if self.last_line.elapsed() >= LINE_EVERY => {
                self.last_line = Instant::now();
                eprintln!("{}", self.line(summary));
            }
            None => {}
        }
    }

    /// `warm: 120/500 (24%), 35.2/s, about 11 s left, 2 failed`.
    fn line(&self, summary: &Summary) -> String {
        let done = summary.done();
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = done as f64 / secs;
        let left = if rate > 0.0 {
            format!(
                ", about {:.0} s left",
                (self.total.saturating_sub(done)) as f64 / rate
            )
        } else {
            String::new()
        };
        format!(
            "warm: {done}/{} ({:.0}%), {rate:.1}/s{left}, {} failed",
            self.total,
            100.0 * done as f64 / self.total.max(1) as f64,
            summary.failed.len()
        )
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn print_summary(s: &Summary) {
    println!(
        "warmed {} in {:.1} s: {} rendered ({}), {} already stored, {} failed",
        s.done(),
        s.elapsed.as_secs_f64(),
        s.rendered,
        human_bytes(s.bytes),
        s.existing,
        s.failed.len()
    );
    for f in &s.failed {
        println!("failed: {}: {}", f.what, f.why);
    }
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / f64::from(1u32 << 30)),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / f64::from(1u32 << 20)),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} bytes"),
    }
}
