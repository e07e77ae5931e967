//! The `rendition` command: parses arguments, sets up logging and calls the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};

use rendition::config::{keys_from_env, OpArgs, ServiceArgs, KEYS_ENV};
use rendition::store::{FsStore, S3Store, Store};
use rendition::{demo, render, server, Answer, Service};

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
    #[arg(long, env = "RENDITION_DIR", conflicts_with = "bucket")]
    dir: Option<PathBuf>,
    /// Serve an S3 bucket instead of a folder (any S3-compatible endpoint: see the README).
    #[arg(long, env = "RENDITION_BUCKET")]
    bucket: Option<String>,
    /// With --bucket: read sources from this bucket instead.
    #[arg(long, env = "RENDITION_SOURCE_BUCKET", requires = "bucket")]
    source_bucket: Option<String>,
    /// Address to listen on.
    #[arg(long, env = "RENDITION_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
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
    /// Prefix for the printed paths, e.g. https://d111111abcdef8.cloudfront.net
    #[arg(long, default_value = "")]
    base: String,
}

#[derive(clap::Args, Debug)]
struct RenderArgs {
    #[command(flatten)]
    ops: OpArgs,
    #[command(flatten)]
    limits: rendition::config::LimitArgs,
    /// Folder for the outputs, named <input stem>.<format>.
    #[arg(long)]
    out_dir: PathBuf,
    /// Input image files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "rendition=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = run(Cli::parse()) {
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

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Sign(args) => sign(args),
        Command::Render(args) => render_files(args),
        Command::Keygen { id } => {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            use base64::Engine as _;
            let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
            rendition::request::SigningKey::new(&id, secret.as_bytes())?;
            println!("{id}:{secret}");
            Ok(())
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(serve_async(args))
}

async fn serve_async(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.service.config(Answer::Bytes);
    let mut demo_mode = false;
    let service = if let Some(bucket) = &args.bucket {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let client = S3Store::client_from_config(&sdk);
        let store: Arc<dyn Store> = Arc::new(S3Store::new(client.clone(), bucket));
        let service = Service::new(store, keys_from_env()?, config);
        match &args.source_bucket {
            Some(src) => service.with_sources(Arc::new(S3Store::new(client, src))),
            None => service,
        }
    } else {
        let (dir, keys) = match args.dir {
            Some(dir) => (dir, keys_from_env()?),
            None => {
                demo_mode = true;
                let dir = PathBuf::from("rendition-demo");
                std::fs::create_dir_all(&dir)
                    .context("creating the demo folder ./rendition-demo")?;
                let keys = match std::env::var(KEYS_ENV) {
                    Ok(_) => keys_from_env()?,
                    Err(_) => {
                        let keys = demo::dev_keys(&dir)?;
                        eprintln!(
                            "rendition: demo mode, signing with a generated development key in {}/{}; \
                             set {KEYS_ENV} for real use",
                            dir.display(),
                            demo::DEV_KEY_FILE
                        );
                        keys
                    }
                };
                demo::prepare(&dir, &keys)?;
                (dir, keys)
            }
        };
        let store = FsStore::new(&dir).with_context(|| format!("serving {}", dir.display()))?;
        Service::new(Arc::new(store), keys, config)
    };
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| {
            format!(
                "listening on {} (is another server using it? try --addr 127.0.0.1:0)",
                args.addr
            )
        })?;
    let addr = listener.local_addr()?;
    // The actual address, on stdout, for people and for scripts that start us on port 0.
    println!(
        "rendition: serving {} on http://{addr}/",
        service.store().describe()
    );
    if demo_mode {
        println!("rendition: open http://{addr}/ to see the demo");
    }
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    server::serve(listener, Arc::new(service), shutdown)
        .await
        .context("serving")
}

fn sign(args: SignArgs) -> anyhow::Result<()> {
    let keys = keys_from_env()?;
    let (ops, format) = args.ops.resolve(&args.source)?;
    if args.srcset.is_empty() {
        println!("{}{}", args.base, keys.sign_new(&args.source, ops, format)?);
        return Ok(());
    }
    let mut items = Vec::new();
    for item in &args.srcset {
        let item = item.trim();
        let (ops, descriptor) = if let Some(d) = item.strip_suffix('x') {
            let density: f64 = d
                .parse()
                .with_context(|| format!("srcset density {item:?}"))?;
            let mut flags = args.ops.clone();
            flags.dpr = Some(args.ops.dpr.unwrap_or(1.0) * density);
            (flags.resolve(&args.source)?.0, item.to_string())
        } else {
            let width: u32 = item
                .parse()
                .with_context(|| format!("srcset width {item:?}"))?;
            let mut o = ops.clone();
            // Keep the box's aspect ratio when both sides were given; a height alone is
            // replaced by the width (a width descriptor names the width).
            match (o.width, o.height) {
                (Some(w), Some(h)) => {
                    o.height = Some(
                        ((f64::from(h) * f64::from(width) / f64::from(w)).round() as u32).max(1),
                    );
                }
                (None, Some(_)) => {
                    o.height = None;
                    o.fit = rendition::Fit::Cover;
                    o.gravity = rendition::Gravity::Centre;
                }
                _ => {}
            }
            o.width = Some(width);
            (o, format!("{width}w"))
        };
        items.push(format!(
            "{}{} {descriptor}",
            args.base,
            keys.sign_new(&args.source, ops, format)?
        ));
    }
    println!("{}", items.join(", "));
    Ok(())
}

fn render_files(args: RenderArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("creating {}", args.out_dir.display()))?;
    let limits = args.limits.limits();
    let never = || false;
    let mut failed = 0;
    for input in &args.inputs {
        let result = (|| -> anyhow::Result<PathBuf> {
            let name = input
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("input");
            let (ops, format) = args.ops.resolve(name)?;
            let bytes =
                std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
            let out = render::render(&bytes, &ops, format, &limits, &never)?;
            let stem = input
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("output");
            let path = args.out_dir.join(format!("{stem}.{}", format.extension()));
            std::fs::write(&path, &out.bytes)
                .with_context(|| format!("writing {}", path.display()))?;
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
