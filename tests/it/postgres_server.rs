//! A throwaway PostgreSQL server for the tests that need one.
//!
//! The story it guards against: the PostgreSQL tests need a real server, but the machines run
//! none, the test harness has no teardown hook (a cluster started by a test would outlive a
//! failed or killed run), and `initdb` refuses to run as root. So the first test that asks
//! starts one cluster for the whole test binary, and a watchdog makes sure it stops:
//!
//! - `initdb` and `pg_ctl` from Debian's `postgresql` package (kept in
//!   `/usr/lib/postgresql/VERSION/bin`, off the `PATH`; the `PATH` is tried too) build a cluster
//!   in a temporary folder, listening on loopback only, on a free port, with its socket in that
//!   folder; as the unprivileged `postgres` user when the tests run as root.
//! - A watchdog process waits for the test binary to exit, whether it passed, failed or was
//!   killed, then stops the cluster (`pg_ctl stop -m immediate`) and removes the folder.
//! - `DETENTE_TEST_POSTGRES` may name a server instead (a `postgresql://` URL of a role that may
//!   create databases); nothing is started then.
//!
//! Each test gets a database of its own ([`Server::fresh_database`]). A test that stops the
//! server under a writer starts a cluster of its own instead ([`OwnCluster`]), made and
//! watched the same way. Without a server, a test that needs one prints one line saying that
//! it did not run and returns; with `CI` set, that is a failure instead, so CI always runs
//! them.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A running server the tests may use.
pub struct Server {
    /// The URL of its maintenance database, `postgres`, without a database name's path.
    base: String,
    /// Why it is this server: started here, or named by `DETENTE_TEST_POSTGRES`.
    pub origin: String,
}

/// Why no server could be had.
#[derive(Debug)]
pub struct Unavailable(pub String);

impl Server {
    /// A new, empty database on the server, by its URL.
    pub fn fresh_database(&self, hint: &str) -> String {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let name = format!(
            "detente_{}_{}_{}",
            hint.chars()
                .filter(char::is_ascii_alphanumeric)
                .take(20)
                .collect::<String>(),
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        )
        .to_lowercase();
        let mut client = postgres::Client::connect(&self.url_of("postgres"), postgres::NoTls)
            .unwrap_or_else(|err| panic!("connect to the test server ({}): {err}", self.origin));
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|err| panic!("create database {name}: {err}"));
        self.url_of(&name)
    }

    fn url_of(&self, database: &str) -> String {
        match self.base.split_once('?') {
            Some((url, query)) => format!("{url}/{database}?{query}"),
            None => format!("{}/{database}", self.base.trim_end_matches('/')),
        }
    }
}

/// The test binary's server, started on first use; `None` when there is none, after one line
/// on standard error (or a panic under CI).
pub fn server() -> Option<&'static Server> {
    static SERVER: OnceLock<Result<Server, Unavailable>> = OnceLock::new();
    match SERVER.get_or_init(find_or_start) {
        Ok(server) => Some(server),
        Err(Unavailable(why)) => {
            if std::env::var_os("CI").is_some() {
                panic!("the PostgreSQL tests must run in CI, but {why}");
            }
            static SAID: OnceLock<()> = OnceLock::new();
            SAID.get_or_init(|| eprintln!("note: the PostgreSQL tests did not run: {why}"));
            None
        }
    }
}

fn find_or_start() -> Result<Server, Unavailable> {
    if let Ok(url) = std::env::var("DETENTE_TEST_POSTGRES") {
        let base = url.trim_end_matches('/').to_owned();
        return Ok(Server {
            base,
            origin: "DETENTE_TEST_POSTGRES".into(),
        });
    }
    let bin = server_programs().ok_or_else(|| {
        Unavailable(
            "no PostgreSQL server programs (initdb, pg_ctl) were found: install Debian's `postgresql` package, or set DETENTE_TEST_POSTGRES to a server's URL".into(),
        )
    })?;
    start(&bin).map_err(Unavailable)
}

/// The folder of `initdb` and `pg_ctl`: Debian's newest version first, then the `PATH`.
fn server_programs() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .find(|dir| dir.join("initdb").exists() && dir.join("pg_ctl").exists())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// A command of the server's programs, as `postgres` when we are root.
fn as_server_user(program: &Path, root: bool) -> Command {
    if root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn free_port() -> Result<u16, String> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(|err| format!("no free port: {err}"))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|err| format!("no free port: {err}"))
}

fn start(bin: &Path) -> Result<Server, String> {
    let cluster = init_and_start(bin)?;
    watch(bin, &cluster.data, &cluster.folder, cluster.root)?;
    Ok(Server {
        base: format!("postgresql://postgres@127.0.0.1:{}", cluster.port),
        origin: format!("a throwaway cluster in {}", cluster.folder.display()),
    })
}

/// Where a cluster made by [`init_and_start`] lives.
struct Made {
    folder: PathBuf,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    root: bool,
}

/// `initdb` of a cluster in a new temporary folder, then its start on a free loopback port.
fn init_and_start(bin: &Path) -> Result<Made, String> {
    let root = is_root();
    let folder = new_folder(root)?;
    let data = folder.join("data");
    let log = folder.join("server.log");
    let initdb = as_server_user(&bin.join("initdb"), root)
        .args(["-D"])
        .arg(&data)
        .args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|err| format!("initdb did not start: {err}"))?;
    if !initdb.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&initdb.stderr).trim()
        ));
    }
    let made = Made {
        port: free_port()?,
        folder,
        data,
        log,
        root,
    };
    pg_ctl_start(bin, &made)?;
    Ok(made)
}

/// A new temporary folder for a cluster, the server's user's when we are root.
fn new_folder(root: bool) -> Result<PathBuf, String> {
    let folder = tempfile::Builder::new()
        .prefix("detente-pg-")
        .tempdir()
        .map_err(|err| format!("no temporary folder: {err}"))?
        .keep();
    if root {
        let chown = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&folder)
            .status()
            .map_err(|err| format!("chown of the test cluster's folder: {err}"))?;
        if !chown.success() {
            return Err(
                "chown of the test cluster's folder failed (is there a `postgres` user?)".into(),
            );
        }
    }
    Ok(folder)
}

/// `pg_ctl start` of a made cluster, waiting until it accepts connections.
fn pg_ctl_start(bin: &Path, made: &Made) -> Result<(), String> {
    let options = format!(
        "-c listen_addresses=127.0.0.1 -c port={} -c unix_socket_directories={} -c fsync=on -c synchronous_commit=on -c max_connections=60",
        made.port,
        made.folder.display()
    );
    let started = as_server_user(&bin.join("pg_ctl"), made.root)
        .arg("-D")
        .arg(&made.data)
        .arg("-l")
        .arg(&made.log)
        .args(["-o", &options, "-w", "-t", "60", "start"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|err| format!("pg_ctl did not start: {err}"))?;
    if !started.status.success() {
        let server_log = std::fs::read_to_string(&made.log).unwrap_or_default();
        return Err(format!(
            "the test cluster did not start: {} {}",
            String::from_utf8_lossy(&started.stderr).trim(),
            server_log.trim()
        ));
    }
    Ok(())
}

/// Starts the watchdog: a shell that waits for this process to end, then stops the cluster
/// at once and removes its folder. It is its own process group, so a signal to the test's
/// group (a Ctrl-C) does not take it down before it has done its job.
fn watch(bin: &Path, data: &Path, folder: &Path, root: bool) -> Result<(), String> {
    let pg_ctl = bin.join("pg_ctl");
    let stop = if root {
        format!(
            "runuser -u postgres -- '{}' -D '{}' -m immediate stop",
            pg_ctl.display(),
            data.display()
        )
    } else {
        format!(
            "'{}' -D '{}' -m immediate stop",
            pg_ctl.display(),
            data.display()
        )
    };
    let script = format!(
        "while kill -0 {parent} 2>/dev/null; do sleep 0.5; done; {stop} >/dev/null 2>&1; rm -rf '{folder}'",
        parent = std::process::id(),
        folder = folder.display()
    );
    use std::os::unix::process::CommandExt;
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map(drop)
        .map_err(|err| format!("the watchdog of the test cluster did not start: {err}"))
}

/// A cluster of one test's own, which that test may stop and start again (the story of a
/// server stopped under a writer): the binary's shared [`server`] is never stopped. It is
/// stopped and removed when dropped, and by a watchdog like the shared one's when the test
/// binary dies first.
pub struct OwnCluster {
    bin: PathBuf,
    made: Made,
}

impl OwnCluster {
    /// Starts one; `None` when there are no server programs, after one line on standard error
    /// (or a panic under CI). `DETENTE_TEST_POSTGRES` does not serve here: a named server is
    /// not ours to stop.
    pub fn start() -> Option<OwnCluster> {
        let started = server_programs()
            .ok_or_else(|| {
                "no PostgreSQL server programs (initdb, pg_ctl) were found to start a cluster of the test's own: install Debian's `postgresql` package".to_owned()
            })
            .and_then(|bin| {
                let made = init_and_start(&bin)?;
                watch(&bin, &made.data, &made.folder, made.root)?;
                Ok(OwnCluster { bin, made })
            });
        match started {
            Ok(cluster) => Some(cluster),
            Err(why) if std::env::var_os("CI").is_some() => {
                panic!("the PostgreSQL tests must run in CI, but {why}")
            }
            Err(why) => {
                eprintln!("note: a PostgreSQL test did not run: {why}");
                None
            }
        }
    }

    /// A new, empty database on this cluster, by its URL.
    pub fn fresh_database(&self, name: &str) -> String {
        let mut client = postgres::Client::connect(&self.url_of("postgres"), postgres::NoTls)
            .unwrap_or_else(|err| panic!("connect to the test's own cluster: {err}"));
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|err| panic!("create database {name}: {err}"));
        self.url_of(name)
    }

    /// The URL of a database of this cluster.
    pub fn url_of(&self, database: &str) -> String {
        format!(
            "postgresql://postgres@127.0.0.1:{}/{database}",
            self.made.port
        )
    }

    /// `pg_ctl stop` in `mode` (`smart`, `fast` or `immediate`), waiting until it is down.
    pub fn stop(&self, mode: &str) {
        let stopped = as_server_user(&self.bin.join("pg_ctl"), self.made.root)
            .arg("-D")
            .arg(&self.made.data)
            .args(["-m", mode, "-w", "-t", "60", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|err| panic!("pg_ctl did not start: {err}"));
        assert!(
            stopped.status.success(),
            "pg_ctl stop -m {mode}: {}",
            String::from_utf8_lossy(&stopped.stderr).trim()
        );
    }

    /// A hot standby of this cluster: a copy by `pg_basebackup` that streams the cluster's
    /// changes and replays them, read-only, on a port of its own.
    pub fn standby(&self) -> OwnCluster {
        let root = self.made.root;
        let folder = new_folder(root).unwrap_or_else(|why| panic!("{why}"));
        let made = Made {
            data: folder.join("data"),
            log: folder.join("server.log"),
            port: free_port().unwrap_or_else(|why| panic!("{why}")),
            folder,
            root,
        };
        let copied = as_server_user(&self.bin.join("pg_basebackup"), root)
            .arg("-D")
            .arg(&made.data)
            .args([
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
            ])
            .args(["-p", &self.made.port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap_or_else(|err| panic!("pg_basebackup did not start: {err}"));
        assert!(
            copied.status.success(),
            "pg_basebackup: {}",
            String::from_utf8_lossy(&copied.stderr).trim()
        );
        pg_ctl_start(&self.bin, &made).unwrap_or_else(|why| panic!("{why}"));
        watch(&self.bin, &made.data, &made.folder, root).unwrap_or_else(|why| panic!("{why}"));
        OwnCluster {
            bin: self.bin.clone(),
            made,
        }
    }

    /// Waits until this standby has replayed everything its primary had written when asked
    /// (at most a minute).
    pub fn caught_up_with(&self, primary: &OwnCluster) {
        let mut primary = postgres::Client::connect(&primary.url_of("postgres"), postgres::NoTls)
            .unwrap_or_else(|err| panic!("connect to the primary: {err}"));
        let mut standby = postgres::Client::connect(&self.url_of("postgres"), postgres::NoTls)
            .unwrap_or_else(|err| panic!("connect to the standby: {err}"));
        let target: String = primary
            .query_one("SELECT pg_current_wal_lsn()::text", &[])
            .unwrap()
            .get(0);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let behind: bool = standby
                .query_one(
                    "SELECT pg_last_wal_replay_lsn() < $1::text::pg_lsn",
                    &[&target],
                )
                .unwrap()
                .get(0);
            if !behind {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the standby did not catch up within a minute"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Starts it again after [`OwnCluster::stop`], on the same port and data.
    pub fn start_again(&self) {
        pg_ctl_start(&self.bin, &self.made).unwrap_or_else(|why| panic!("{why}"));
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = as_server_user(&self.bin.join("pg_ctl"), self.made.root)
            .arg("-D")
            .arg(&self.made.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.made.folder);
    }
}

/// The harness itself: a database of one's own, where a table can be made and read, and
/// another database that does not see it.
#[test]
fn the_test_server_gives_each_test_a_database_of_its_own() {
    let Some(server) = server() else { return };
    let first = server.fresh_database("harness");
    let second = server.fresh_database("harness");
    assert_ne!(first, second);
    let mut client = postgres::Client::connect(&first, postgres::NoTls).unwrap();
    client
        .batch_execute("CREATE TABLE t (n bigint PRIMARY KEY); INSERT INTO t VALUES (1), (2)")
        .unwrap();
    let sum: i64 = client
        .query_one("SELECT sum(n)::bigint FROM t", &[])
        .unwrap()
        .get(0);
    assert_eq!(sum, 3);
    let synchronous: String = client
        .query_one("SHOW synchronous_commit", &[])
        .unwrap()
        .get(0);
    assert_eq!(synchronous, "on");
    let mut other = postgres::Client::connect(&second, postgres::NoTls).unwrap();
    let tables: i64 = other
        .query_one(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 't'",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(tables, 0);
}
