//! The `rendition` command: parses arguments, sets up logging and calls the library.
//!
//! Settings are read from the environment once (`rendition::settings`); flags override them.

mod args;
mod demo;
mod markup;
mod memory;
mod playground;
mod warm;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use args::{LimitArgs, OpArgs, ServiceArgs};
use rendition::auto::Output;
use rendition::lifecycle::{invalidation_path, purge as purge_source, Cdn, Keep, Lifecycle};
use rendition::ops::Ops;
use rendition::render::Deadline;
use rendition::settings::{self, presets_from, Settings};
use rendition::store::{FsStore, Store};
use rendition::{render, server, watch, Answer, Service};

/// Signed, lazy image renditions: render on first view, store under the requested key, and
/// let the CDN serve the file from then on.
#[derive(Parser, Debug)]
#[command(name = "rendition", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve a folder as CDN + bucket + renderer (with no --dir: the demo).
    Serve(ServeArgs),
    /// Print the signed path of a rendition (or a srcset) for a source key.
    Sign(SignArgs),
    /// Render local files into a folder (one process, many inputs).
    Render(RenderArgs),
    /// Delete every rendition of the given sources (and invalidate them at the CDN).
    Purge(PurgeArgs),
    /// Pre-render renditions into the store (a folder or a bucket) before anyone asks.
    Warm(warm::WarmArgs),
    /// Print a new random key for RENDITION_KEYS.
    Keygen {
        /// Key id: 1 to 16 ASCII letters and digits.
        #[arg(long, default_value = "k1")]
        id: String,
    },
}

#[derive(clap::Args, Debug)]
struct ServeArgs {
    /// Folder to serve; sources are read from it and renditions written into it under r/.
    /// Without it, serves the demo folder ./rendition-demo with a generated development key.
    #[arg(long, conflicts_with = "bucket")]
    dir: Option<PathBuf>,
    /// Serve an S3 bucket instead of a folder (any S3-compatible endpoint: see the README).
    #[arg(long)]
    bucket: Option<String>,
    /// With --bucket: read sources from this bucket instead.
    #[arg(long, requires = "bucket")]
    source_bucket: Option<String>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    addr: Option<SocketAddr>,
    #[command(flatten)]
    service: ServiceArgs,
}

#[derive(clap::Args, Debug)]
struct SignArgs {
    /// Source object key, e.g. photos/cat.jpg.
    source: String,
    #[command(flatten)]
    ops: OpArgs,
    /// Print a srcset: comma-separated widths (320,640) or densities (1x,2x).
    #[arg(long, value_delimiter = ',')]
    srcset: Vec<String>,
    /// With --srcset: print <picture> markup (one <source> per --formats, an <img> in
    /// --fallback), or one <img> with --format auto or auto-alpha.
    #[arg(long)]
    picture: bool,
    /// With --picture and widths: the sizes attribute, e.g. "(min-width: 60em) 50vw, 100vw".
    #[arg(long)]
    sizes: Option<String>,
    /// With --picture: the alt text ("" for a decorative image).
    #[arg(long)]
    alt: Option<String>,
    /// With --picture: the <source> formats, in order [default: avif,webp].
    #[arg(long, value_delimiter = ',')]
    formats: Option<Vec<String>>,
    /// With --picture: the <img> format [default: png or gif for a .png or .gif source, else jpg].
    #[arg(long)]
    fallback: Option<String>,
    /// With --srcset: the source's size WxH as displayed (after EXIF orientation), so each
    /// candidate is signed and described at the size the renderer gives it, and --picture
    /// writes width and height.
    #[arg(long)]
    source_size: Option<String>,
    /// With --picture: a file holding the info request's JSON answer (what `rendition render
    /// --format json` writes, or the CDN serves for the source's -.json path; - reads standard
    /// input). It gives the source's size, as --source-size does (--source-size wins when both
    /// are given), and its placeholder, painted as the <img>'s background until the image
    /// arrives; a source with alpha gets none, as it would show through the transparent pixels.
    #[arg(long, value_name = "FILE")]
    info: Option<PathBuf>,
    /// With --picture: the <img>'s placeholder, replacing --info's (even for a source with
    /// alpha): an image data URL in base64, data:image/png;base64,… (png, jpeg, gif, webp or
    /// avif), the one kind of placeholder put in a style attribute.
    #[arg(long, value_name = "DATA_URL")]
    placeholder: Option<String>,
    /// Prefix for the printed paths, e.g. https://d111111abcdef8.cloudfront.net
    #[arg(long, default_value = "")]
    base: String,
    /// Start from this preset (flags given as well override its options).
    #[arg(long)]
    preset: Option<String>,
    /// Presets as JSON text or the path of a JSON file: {"thumb": {"width": 320, "format": "webp"}}.
    #[arg(long)]
    presets: Option<String>,
}

#[derive(clap::Args, Debug)]
struct PurgeArgs {
    /// Source object keys, e.g. photos/cat.jpg.
    #[arg(required = true)]
    sources: Vec<String>,
    /// The folder that holds the renditions (under r/).
    #[arg(long, conflicts_with = "bucket")]
    dir: Option<PathBuf>,
    /// The S3 bucket that holds the renditions (any S3-compatible endpoint: see the README).
    #[arg(long)]
    bucket: Option<String>,
    /// With --bucket: also invalidate /r/<source>/* on this CloudFront distribution.
    #[arg(long)]
    distribution_id: Option<String>,
    /// Only print what would be deleted.
    #[arg(long)]
    dry_run: bool,
}

#[derive(clap::Args, Debug)]
struct RenderArgs {
    #[command(flatten)]
    ops: OpArgs,
    #[command(flatten)]
    limits: LimitArgs,
    /// Folder for the outputs, named <input stem>.<format>.
    #[arg(long)]
    out_dir: PathBuf,
    /// Input image files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

fn main() {
    // Every command but the server (memory.rs says why).
    if std::env::args_os()
        .nth(1)
        .is_none_or(|command| command != "serve")
    {
        memory::keep_freed_memory();
    }
    // Colours only on a terminal: logs redirected to a file stay plain text. `warm` prints its
    // own progress and summary, so its per-request lines are left out unless RUST_LOG asks.
    use std::io::IsTerminal as _;
    let warm = std::env::args_os()
        .nth(1)
        .is_some_and(|command| command == "warm");
    let default_filter = if warm {
        "rendition=warn"
    } else {
        "rendition=info"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    let env_help = environment_help();
    let mut command = Cli::command().after_help(env_help.clone());
    for name in ["serve", "sign", "render", "purge", "warm", "keygen"] {
        command = command.mut_subcommand(name, |c| c.after_help(env_help.clone()));
    }
    let matches = command.get_matches();
    let result = Cli::from_arg_matches(&matches)
        .map_err(anyhow::Error::from)
        .and_then(|cli| {
            let settings = Settings::from_env()?;
            run(cli, settings)
        });
    if let Err(e) = result {
        // Library errors carry an HTTP-flavoured kind ("bad request: ..."); on the command
        // line the message alone says it better.
        match e.downcast_ref::<rendition::Error>() {
            Some(re) => eprintln!("rendition: {}", re.message()),
            None => eprintln!("rendition: {e}"),
        }
        for cause in e.chain().skip(1) {
            eprintln!("  caused by: {cause}");
        }
        std::process::exit(1);
    }
}

/// The environment variables, for `--help`: flags override them.
fn environment_help() -> String {
    let mut help = String::from("Environment (a flag overrides its variable):\n");
    for (name, what) in settings::VARS {
        help.push_str(&format!("  {name:<34} {what}\n"));
    }
    help
}

/// A new random key `ID:SECRET` for `RENDITION_KEYS`: 32 random bytes in base64url.
pub(crate) fn new_key(id: &str) -> anyhow::Result<String> {
    use base64::Engine as _;
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness for a key: {e}"))?;
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    rendition::request::SigningKey::new(id, secret.as_bytes())?;
    Ok(format!("{id}:{secret}"))
}

fn run(cli: Cli, mut settings: Settings) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args, settings),
        Command::Sign(args) => sign(args, &settings),
        Command::Render(args) => {
            args.limits.apply(&mut settings);
            render_files(args, &settings)
        }
        Command::Purge(args) => {
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            runtime.block_on(purge(args, settings))
        }
        Command::Warm(args) => {
            let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            if !runtime.block_on(warm::run(args, settings))? {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Keygen { id } => {
            println!("{}", new_key(&id)?);
            Ok(())
        }
    }
}

fn serve(args: ServeArgs, settings: Settings) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let served = runtime.block_on(serve_async(args, settings));
    // Renders given up on still run on the blocking pool until their next stage check; a
    // write already begun finishes and removes its temporary file within milliseconds. Don't
    // wait longer than that for them.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    served
}

async fn serve_async(args: ServeArgs, mut settings: Settings) -> anyhow::Result<()> {
    args.service.apply(&mut settings);
    if args.bucket.is_some() {
        settings.bucket = args.bucket.clone();
    }
    if args.source_bucket.is_some() {
        settings.source_bucket = args.source_bucket.clone();
    }
    let dir = args
        .dir
        .clone()
        .or(settings.dir.as_ref().map(PathBuf::from));
    let addr: SocketAddr = match (args.addr, &settings.addr) {
        (Some(addr), _) => addr,
        (None, Some(text)) => text
            .parse()
            .with_context(|| format!("{}={text:?} is not an address", settings::ADDR))?,
        (None, None) => SocketAddr::from(([127, 0, 0, 1], 8080)),
    };
    // Bind before anything else: a start that fails because the port is taken must leave the
    // folder as it was (the demo rewrites index.html with the current key).
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("listening on {addr} (is another server using it? try --addr 127.0.0.1:0)")
    })?;
    let config = settings.service_config(Answer::Bytes);
    let mut demo_mode = false;
    let mut playground_page = false;
    let mut watch_dir = None;
    let service = if args.bucket.is_some() || (dir.is_none() && settings.bucket.is_some()) {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let stores = settings.s3_stores(&sdk)?;
        Service::new(stores.renditions, settings.key_ring()?, config).with_sources(stores.sources)
    } else {
        let (dir, keys) = match dir {
            Some(dir) => (dir, settings.key_ring()?),
            None => {
                demo_mode = true;
                let dir = PathBuf::from("rendition-demo");
                std::fs::create_dir_all(&dir)
                    .context("creating the demo folder ./rendition-demo")?;
                // The playground page signs in the browser, so it gets a key only when it is
                // the demo's own development key, never RENDITION_KEYS (Signing::for_demo).
                let (keys, dev_key) = match settings.keys {
                    Some(_) => (settings.key_ring()?, None),
                    None => {
                        let (keys, spec) = demo::dev_keys(&dir)?;
                        eprintln!(
                            "rendition: demo mode, signing with a generated development key in {}/{}; \
                             set {} for real use",
                            dir.display(),
                            demo::DEV_KEY_FILE,
                            settings::KEYS
                        );
                        (keys, Some(spec))
                    }
                };
                let signing =
                    playground::Signing::for_demo(dev_key.as_deref(), listener.local_addr()?);
                playground_page = matches!(signing, playground::Signing::DevKey(_));
                demo::prepare(&dir, &keys, &signing)?;
                (dir, keys)
            }
        };
        let store = FsStore::new(&dir).with_context(|| format!("serving {}", dir.display()))?;
        watch_dir = Some(dir);
        Service::new(Arc::new(store), keys, config)
    };
    let addr = listener.local_addr()?;
    // The actual address, on stdout, for people and for scripts that start us on port 0.
    println!(
        "rendition: serving {} on http://{addr}/",
        service.store().describe()
    );
    if demo_mode {
        println!("rendition: open http://{addr}/ to see the demo");
        if playground_page {
            println!(
                "rendition: open http://{addr}/{} to try options in the playground",
                playground::PAGE
            );
        }
    }
    let service = Arc::new(service);
    // A folder's renditions follow its files: a replaced or deleted source loses them.
    let _watch = match &watch_dir {
        Some(dir) => {
            let store = service.store().clone();
            let lifecycle = Lifecycle {
                sources: store.clone(),
                source_bucket: String::new(),
                source_prefixes: Vec::new(),
                renditions: store,
                cdn: None,
                prerender: Vec::new(),
                service: None,
                settle: std::time::Duration::ZERO,
            };
            Some(
                watch::watch(dir, Arc::new(lifecycle))
                    .map_err(|e| anyhow::anyhow!("{}", e.message()))?,
            )
        }
        None => None,
    };
    // SIGTERM (systemd, Docker, Kubernetes) or Ctrl-C: stop accepting, let the requests in
    // flight finish within one render budget, then exit 0.
    let grace = std::time::Duration::from_millis(service.config().limits.render_timeout_ms);
    let (stopping, stopped) = tokio::sync::oneshot::channel::<&'static str>();
    let shutdown = async move {
        let signal = stop_signal().await;
        let _ = stopping.send(signal);
    };
    let serving = server::serve(listener, service, shutdown);
    tokio::pin!(serving);
    tokio::select! {
        served = &mut serving => served.context("serving")?,
        _ = async {
            match stopped.await {
                Ok(signal) => {
                    eprintln!(
                        "rendition: {signal}: finishing the requests in flight (at most {} s)",
                        grace.as_secs()
                    );
                    tokio::time::sleep(grace).await;
                }
                // The server ended without a signal: the other branch answers.
                Err(_) => std::future::pending().await,
            }
        } => tracing::warn!("stopped with requests still in flight after {grace:?}"),
    }
    Ok(())
}

/// The first of SIGTERM and Ctrl-C (SIGINT), by name.
async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = tokio::signal::ctrl_c() => "SIGINT",
        },
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

fn sign(args: SignArgs, settings: &Settings) -> anyhow::Result<()> {
    let keys = settings.key_ring()?;
    let flags = args.ops.options();
    let options = match &args.preset {
        Some(name) => {
            let presets = presets_from(args.presets.as_deref().unwrap_or(&settings.presets))?;
            presets.get(name)?.overridden_by(&flags)
        }
        None => flags,
    };
    let base = args.base.trim_end_matches('/');
    let sign = |ops: &Ops, output: Output| -> anyhow::Result<String> {
        Ok(format!(
            "{base}{}",
            keys.sign_new(&args.source, ops.clone(), output)?
        ))
    };
    let size = args
        .source_size
        .as_deref()
        .map(markup::source_size)
        .transpose()?;
    if !args.picture {
        for (flag, given) in [
            ("--sizes", args.sizes.is_some()),
            ("--alt", args.alt.is_some()),
            ("--formats", args.formats.is_some()),
            ("--fallback", args.fallback.is_some()),
            ("--info", args.info.is_some()),
            ("--placeholder", args.placeholder.is_some()),
        ] {
            if given {
                bail!("{flag}: is for --picture (with --srcset)");
            }
        }
    }
    if args.srcset.is_empty() {
        if args.picture {
            bail!(
                "--picture: needs --srcset: widths (--srcset 320,640,1280 with --sizes) or \
                 densities (--srcset 1x,2x with --width or --height)"
            );
        }
        if size.is_some() {
            bail!("--source-size: applies to --srcset and --picture");
        }
        let (ops, output) = options.resolve(&args.source)?;
        println!("{}", sign(&ops, output)?);
        return Ok(());
    }
    let sign = |c: &markup::Candidate| sign(&c.ops, c.output);
    if args.picture {
        let info = match &args.info {
            Some(path) => Some(read_info(path)?),
            None => None,
        };
        let picture = markup::PictureArgs {
            sizes: args.sizes.as_deref(),
            alt: args.alt.as_deref(),
            formats: args.formats.as_deref(),
            fallback: args.fallback.as_deref(),
            size,
            info,
            placeholder: args.placeholder.as_deref(),
        };
        let html = markup::picture(&args.source, &args.srcset, &options, &picture, &sign)?;
        println!("{html}");
    } else {
        let list = markup::candidates(&args.source, &args.srcset, &options, size)?;
        println!("{}", markup::srcset(&list, &sign)?);
    }
    Ok(())
}

/// `--info FILE` (or `-`, standard input): the info request's answer, read and checked.
fn read_info(path: &std::path::Path) -> anyhow::Result<markup::Info> {
    let (name, text) = if path.as_os_str() == "-" {
        let text = std::io::read_to_string(std::io::stdin())
            .context("--info: reading the info request's answer from standard input")?;
        ("standard input".to_string(), text)
    } else {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "--info: reading {} (the info request's answer: `rendition render --format \
                 json` writes it)",
                path.display()
            )
        })?;
        (path.display().to_string(), text)
    };
    markup::info(&name, &text)
}

async fn purge(args: PurgeArgs, mut settings: Settings) -> anyhow::Result<()> {
    let dir = args
        .dir
        .clone()
        .or(settings.dir.as_ref().map(PathBuf::from));
    if args.bucket.is_some() {
        settings.bucket = args.bucket.clone();
    }
    if args.distribution_id.is_some() {
        settings.distribution_id = args.distribution_id.clone();
    }
    let (store, cdn): (Arc<dyn Store>, Option<Arc<dyn Cdn>>) = match (&dir, &settings.bucket) {
        (Some(dir), _) if args.bucket.is_none() => (
            Arc::new(FsStore::new(dir).with_context(|| format!("purging in {}", dir.display()))?),
            None,
        ),
        (_, Some(_)) => {
            let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            let store = settings.s3_stores(&sdk)?.renditions;
            let cdn = settings.distribution_id.as_deref().map(|d| {
                Arc::new(rendition::cdn::CloudFront::from_config(&sdk, d)) as Arc<dyn Cdn>
            });
            (store, cdn)
        }
        _ => bail!("give --dir or --bucket"),
    };
    let verb = if args.dry_run {
        "would delete"
    } else {
        "deleted"
    };
    let mut total = 0;
    for source in &args.sources {
        rendition::request::check_source_key(source)
            .map_err(|e| anyhow::anyhow!("{source:?}: {}", e.message()))?;
        if rendition::request::is_rendition_key(source) {
            bail!("{source:?} is under r/: give the source's key, not a rendition's");
        }
        // Asked by hand, the CDN is invalidated whether or not anything is left to delete: a
        // run after a failed one must still drop the cached copies.
        let report = purge_source(store.as_ref(), None, source, Keep::Nothing, args.dry_run)
            .await
            .map_err(|e| anyhow::anyhow!("{source}: {}", e.message()))?;
        for key in &report.deleted {
            println!("{verb} {key}");
        }
        total += report.deleted.len();
        if let (Some(cdn), false) = (&cdn, args.dry_run) {
            let path = invalidation_path(source);
            cdn.invalidate(std::slice::from_ref(&path))
                .await
                .map_err(|e| anyhow::anyhow!("{source}: {}", e.message()))?;
            println!("invalidated {path} on {}", cdn.describe());
        }
    }
    eprintln!(
        "rendition: {verb} {total} rendition{} of {} source{} in {}",
        if total == 1 { "" } else { "s" },
        args.sources.len(),
        if args.sources.len() == 1 { "" } else { "s" },
        store.describe()
    );
    Ok(())
}

fn render_files(args: RenderArgs, settings: &Settings) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    let limits = settings.limits.clone();
    let mut failed = 0;
    for input in &args.inputs {
        let result = (|| -> anyhow::Result<PathBuf> {
            if input.is_dir() {
                bail!(
                    "is a folder: give image files (for example {}/*.jpg)",
                    input.display()
                );
            }
            let name = input
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("input");
            let (ops, output) = args.ops.resolve(name)?;
            let stem = input
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("output");
            if output == Output::Info {
                // What the info request would store for this source.
                let bytes =
                    std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
                let info = render::info(&bytes, &limits, Deadline::none())?;
                let path = args.out_dir.join(format!("{stem}.json"));
                std::fs::write(&path, info.to_json()?)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!(
                    "{} {}x{} {}{}",
                    path.display(),
                    info.width,
                    info.height,
                    info.format.name(),
                    if info.alpha { " alpha" } else { "" }
                );
                return Ok(path);
            }
            let Some(format) = output.format() else {
                bail!(
                    "--format {}: an auto format is chosen per request from the browser's Accept header; a file needs one format (jpg, png, webp, gif or avif)",
                    output.extension()
                );
            };
            let bytes =
                std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
            let out = render::render(&bytes, &ops, format, &limits, Deadline::none())?;
            let path = args.out_dir.join(format!("{stem}.{}", format.extension()));
            std::fs::write(&path, &out.bytes)
                .with_context(|| format!("writing {}", path.display()))?;
            // What was written, one line per output, for people and scripts.
            println!(
                "{} {}x{} {} bytes",
                path.display(),
                out.width,
                out.height,
                out.bytes.len()
            );
            Ok(path)
        })();
        if let Err(e) = result {
            failed += 1;
            eprintln!("rendition: {}: {e:#}", input.display());
        }
    }
    if failed > 0 {
        bail!("{failed} of {} inputs failed", args.inputs.len());
    }
    Ok(())
}
