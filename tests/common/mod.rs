//! Shared test harness: the real `rendition` binary on a loopback port, generated images,
//! the installed photographs, and a way to require optional tools in CI.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const KEYS: &str = "t1:0123456789abcdef0123456789abcdef,t0:fedcba9876543210fedcba9876543210";

pub fn keys() -> rendition::KeyRing {
    rendition::KeyRing::from_spec(KEYS).unwrap()
}

/// The `rendition` binary built for these tests (the root package's tests only: the Lambda
/// package's tests share this module but not the binary).
fn rendition_bin() -> &'static str {
    match option_env!("CARGO_BIN_EXE_rendition") {
        Some(path) => path,
        None => panic!("the rendition binary is not built for this package's tests"),
    }
}

/// A `rendition serve` process, killed when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub dir: PathBuf,
}

impl Server {
    /// Starts `rendition serve --dir DIR --addr 127.0.0.1:0 EXTRA...` and waits for its address.
    pub fn start(dir: &Path, extra: &[&str]) -> Server {
        let mut cmd = Command::new(rendition_bin());
        cmd.arg("serve")
            .arg("--dir")
            .arg(dir)
            .args(["--addr", "127.0.0.1:0"])
            .args(extra);
        cmd.env("RENDITION_KEYS", KEYS);
        Server::spawn(cmd, dir)
    }

    /// Starts the demo: `rendition serve` with no folder, in `cwd`, without keys.
    pub fn start_demo(cwd: &Path) -> Server {
        Server::start_demo_with_keys(cwd, None)
    }

    /// Starts the demo in `cwd` with `RENDITION_KEYS` set to `keys`, or unset.
    pub fn start_demo_with_keys(cwd: &Path, keys: Option<&str>) -> Server {
        let mut cmd = Command::new(rendition_bin());
        cmd.current_dir(cwd)
            .args(["serve", "--addr", "127.0.0.1:0"]);
        match keys {
            Some(keys) => cmd.env("RENDITION_KEYS", keys),
            None => cmd.env_remove("RENDITION_KEYS"),
        };
        Server::spawn(cmd, &cwd.join("rendition-demo"))
    }

    /// Starts an arbitrary `rendition serve` command line (which must print its address).
    pub fn spawn_command(cmd: Command) -> Server {
        Server::spawn(cmd, Path::new(""))
    }

    fn spawn(mut cmd: Command, dir: &Path) -> Server {
        if std::env::var_os("RUST_LOG").is_none() {
            cmd.env("RUST_LOG", "rendition=warn");
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("rendition binary starts");
        let stdout = child.stdout.take().unwrap();
        // The first stdout line names the bound address; wait for it, but not forever.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            while let Some(Ok(line)) = lines.next() {
                if let Some(url) = line.split("on http://").nth(1) {
                    let _ = tx.send(format!("http://{}", url.trim_end_matches('/')));
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server printed its address within 60 s");
        Server {
            child,
            base,
            dir: dir.to_path_buf(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The server's peak resident memory so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server is running");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/<pid>/status")
    }

    /// Sends `signal` ("TERM", "INT") to the server, as systemd or Docker would.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([format!("-{signal}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{signal} failed");
    }

    /// How the server exited, if it did within `timeout`.
    pub fn exit_status(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let child = &mut self.child;
        wait_for(timeout, || child.try_wait().ok().flatten())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every file under `dir`, relative, sorted (to prove that nothing was written).
pub fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A JPEG of `w`×`h` with a smooth colour gradient.
pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let rgb: Vec<u8> = (0..h)
        .flat_map(|y| (0..w).flat_map(move |x| [(x * 255 / w) as u8, (y * 255 / h) as u8, 128]))
        .collect();
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&rgb, w as u16, h as u16, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

/// Whether a missing optional tool must fail the test (CI sets RENDITION_REQUIRE_ALL=1).
pub fn required() -> bool {
    std::env::var("RENDITION_REQUIRE_ALL").is_ok_and(|v| v == "1")
}

/// Skips (returns false, saying so on stderr) when `what` is missing locally; panics when CI
/// requires it.
pub fn available(ok: bool, what: &str) -> bool {
    if !ok {
        assert!(
            !required(),
            "{what} is required (RENDITION_REQUIRE_ALL=1) but missing"
        );
        // Straight to stderr, not eprintln!: the test harness captures that for passing tests,
        // and a skip must show in a plain `cargo test` run.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "skipping: {what} is missing (scripts/setup --test installs it; .ci/run requires it)"
        );
    }
    ok
}

/// The photographs from Debian's ukui-wallpapers and lomiri-wallpapers packages.
pub fn photos() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir("/usr/share/backgrounds")
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.retain(|p| {
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        p.is_file() && matches!(ext.as_str(), "jpg" | "jpeg" | "png")
    });
    out.sort();
    out.dedup_by_key(|p| std::fs::canonicalize(p).unwrap_or_default());
    out
}

/// Polls `f` until it returns `Some`, at most `timeout`.
pub fn wait_for<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if let Some(v) = f() {
            return Some(v);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// The `moto_server` to run: the one in the project's virtual environment (`RENDITION_VENV`,
/// or `.venv/` at the repository root, where `scripts/setup --test` installs it), so that
/// `cargo test` alone finds it; otherwise whichever `moto_server` is on `PATH`.
pub fn moto_server() -> PathBuf {
    let venvs = std::env::var_os("RENDITION_VENV")
        .map(PathBuf::from)
        .into_iter()
        .chain(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .ancestors()
                .map(|dir| dir.join(".venv")),
        );
    venvs
        .map(|venv| venv.join("bin/moto_server"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("moto_server"))
}

/// The `s3s-fs` to run: the one on `PATH`, else the one `cargo install` put in cargo's own
/// `bin` folder (`$CARGO_HOME/bin`, `~/.cargo/bin`), where `scripts/setup --test` installs it.
pub fn s3s_fs() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .into_iter()
        .chain(std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")))
        .map(|home| home.join("bin"));
    on_path
        .into_iter()
        .chain(cargo_home)
        .map(|dir| dir.join("s3s-fs"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("s3s-fs"))
}

/// The S3-compatible servers the S3 store is tested against: two independent implementations,
/// so that the store follows S3 rather than one emulator's habits (README, "Testing against
/// two S3 servers", lists where they differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Impl {
    /// moto's server (Python, in `.venv/`): S3, and CloudFront, SSM and Secrets Manager too.
    Moto,
    /// s3s-fs (Rust, from crates.io): S3 over a folder, checking SigV4 signatures.
    S3sFs,
}

impl S3Impl {
    pub const ALL: [S3Impl; 2] = [S3Impl::Moto, S3Impl::S3sFs];

    pub fn name(self) -> &'static str {
        match self {
            S3Impl::Moto => "moto",
            S3Impl::S3sFs => "s3s-fs",
        }
    }

    /// Whether a `PutObject` is atomic, as in S3: with `If-None-Match: *`, of concurrent writers
    /// of one key exactly one succeeds, and an object appears at once with its bytes, metadata
    /// and checksum. s3s-fs checks that the key is missing, then renames the bytes into place,
    /// then writes the metadata (Content-Type...) and the checksum: overlapping writers all
    /// succeed, a reader in between sees the object without its Content-Type, and overlapping
    /// writers can leave one's bytes under another's checksum, which the SDK refuses to read.
    pub fn atomic_puts(self) -> bool {
        match self {
            S3Impl::Moto => true,
            S3Impl::S3sFs => false,
        }
    }

    /// Whether keys may start with `/`, as in S3. s3s-fs stores `KEY` at `ROOT/BUCKET/KEY` and
    /// answers 500 (InternalError) for a key that resolves outside its folder, `/etc/passwd`
    /// among them.
    pub fn leading_slash_keys(self) -> bool {
        match self {
            S3Impl::Moto => true,
            S3Impl::S3sFs => false,
        }
    }

    /// Whether a request into a bucket that does not exist fails with NoSuchBucket, as in S3.
    /// s3s-fs answers a GetObject there with NoSuchKey, and a PutObject creates the bucket.
    pub fn reports_missing_buckets(self) -> bool {
        match self {
            S3Impl::Moto => true,
            S3Impl::S3sFs => false,
        }
    }

    /// Whether the server checks request signatures, as S3 does; moto takes any credentials.
    pub fn checks_signatures(self) -> bool {
        match self {
            S3Impl::Moto => false,
            S3Impl::S3sFs => true,
        }
    }
}

/// An S3-compatible server on a free loopback port, stopped (and its data removed) when
/// dropped.
pub struct S3Server {
    child: Child,
    pub kind: S3Impl,
    pub endpoint: String,
    /// s3s-fs's data folder.
    _root: Option<tempfile::TempDir>,
}

impl S3Server {
    /// Starts `kind`'s server; `None` (or a panic under `RENDITION_REQUIRE_ALL=1`) when it is
    /// not installed.
    pub fn start(kind: S3Impl) -> Option<S3Server> {
        let (program, what) = match kind {
            S3Impl::Moto => (
                moto_server(),
                "moto's server (moto_server, in .venv/bin or on PATH)",
            ),
            S3Impl::S3sFs => (
                s3s_fs(),
                "s3s-fs (an S3 server, on PATH or in ~/.cargo/bin)",
            ),
        };
        let found = Command::new(&program)
            .arg("--help")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !available(found, what) {
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cmd = Command::new(&program);
        let mut root = None;
        match kind {
            S3Impl::Moto => {
                cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            }
            S3Impl::S3sFs => {
                let dir = tempfile::tempdir().expect("a folder for s3s-fs");
                // With a key pair, s3s-fs checks every request's SigV4 signature.
                cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()])
                    .args(["--access-key", "test", "--secret-key", "test"])
                    .arg(dir.path());
                root = Some(dir);
            }
        }
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} starts: {e}", kind.name()));
        let endpoint = format!("http://127.0.0.1:{port}");
        let up = wait_for(Duration::from_secs(30), || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "{} exited ({status}) before listening on {endpoint}",
                    kind.name()
                );
            }
            std::net::TcpStream::connect(("127.0.0.1", port)).ok()
        });
        if up.is_none() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{} did not listen on {endpoint} within 30 s", kind.name());
        }
        Some(S3Server {
            child,
            kind,
            endpoint,
            _root: root,
        })
    }

    pub fn name(&self) -> &'static str {
        self.kind.name()
    }

    /// The SDK configuration a deployed function would load, pointed at this server.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        sdk_config(&self.endpoint)
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk_config())
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// A client that signs with a wrong secret key, which a server that checks signatures
    /// refuses (403 SignatureDoesNotMatch); `None` where the server takes any credentials.
    pub fn s3_with_wrong_secret(&self) -> Option<aws_sdk_s3::Client> {
        if !self.kind.checks_signatures() {
            return None;
        }
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk_config())
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                "test", "wrong", None, None, "wrong",
            ))
            .force_path_style(true)
            .build();
        Some(aws_sdk_s3::Client::from_conf(conf))
    }

    pub async fn bucket(&self, name: &str) -> aws_sdk_s3::Client {
        let s3 = self.s3();
        s3.create_bucket()
            .bucket(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: bucket {name} created: {e:?}", self.name()));
        s3
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto's server, for the tests that need moto itself (its CloudFront, SSM or Secrets
/// Manager) or only one S3 server; [`S3Server`]'s methods and fields through `Deref`.
pub struct Moto(S3Server);

impl Moto {
    /// Starts `moto_server`; `None` (or a panic in CI) when moto is not installed.
    pub fn start() -> Option<Moto> {
        S3Server::start(S3Impl::Moto).map(Moto)
    }
}

impl std::ops::Deref for Moto {
    type Target = S3Server;

    fn deref(&self) -> &S3Server {
        &self.0
    }
}

/// Runs each named test against every [`S3Impl`]: `async fn NAME(server: &S3Server)` becomes
/// the tests `moto::NAME` and `s3s_fs::NAME`, each on its own server, skipped (or failed, in CI)
/// when that server is not installed. Tokio's test arguments come first, in parentheses.
///
/// ```ignore
/// crate::each_s3_server! {
///     (flavor = "multi_thread", worker_threads = 4) stores_things,
///     () reads_things,
/// }
/// ```
#[macro_export]
macro_rules! each_s3_server {
    ($( ($($arg:tt)*) $name:ident ),* $(,)?) => {
        $crate::each_s3_server!(@one moto, Moto, $( ($($arg)*) $name ),*);
        $crate::each_s3_server!(@one s3s_fs, S3sFs, $( ($($arg)*) $name ),*);
    };
    (@one $module:ident, $kind:ident, $( ($($arg:tt)*) $name:ident ),*) => {
        mod $module {
            $(
                #[tokio::test($($arg)*)]
                async fn $name() {
                    let Some(server) = super::common::S3Server::start(super::common::S3Impl::$kind)
                    else {
                        return;
                    };
                    super::$name(&server).await;
                }
            )*
        }
    };
}

/// The SDK configuration a deployed function would load, pointed at `endpoint` with the test
/// servers' credentials (moto takes any; s3s-fs is started with these).
pub fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(
            aws_sdk_s3::config::Credentials::new("test", "test", None, None, "moto"),
        ))
        .endpoint_url(endpoint)
        .build()
}

/// Every key in `bucket` under `prefix`.
pub async fn list_keys(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let out = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("list");
    let mut keys: Vec<String> = out
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_string))
        .collect();
    keys.sort();
    keys
}
