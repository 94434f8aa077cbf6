//! The real binaries as child processes, their ports, directories, databases and configs.

use super::*;

/// A free loopback port (bound then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process of one of the binaries; SIGTERM then kill on drop.
pub struct Proc {
    child: Child,
    /// Its stdout lines so far.
    pub stdout: Arc<Mutex<Vec<String>>>,
    name: &'static str,
}

impl Proc {
    /// Starts `bin` with `args` and `env`, in `dir`.
    pub fn spawn(
        name: &'static str,
        bin: &std::path::Path,
        args: &[&str],
        env: &[(&str, String)],
        dir: &std::path::Path,
    ) -> Proc {
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .env_remove("HOOKFLASH_CONFIG")
            .env_remove("HOOKFLASH_DATABASE_URL")
            .env_remove("HOOKFLASH_LISTEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let out = child.stdout.take().unwrap();
        let lines = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                println!("[{name}] {line}");
                lines.lock().unwrap().push(line);
            }
        });
        Proc {
            child,
            stdout,
            name,
        }
    }

    /// Whether a stdout line contains `text`.
    pub fn printed(&self, text: &str) -> bool {
        self.stdout.lock().unwrap().iter().any(|l| l.contains(text))
    }

    /// Sends SIGTERM and waits (bounded) for a clean exit; returns whether it exited 0.
    pub fn terminate(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("{} did not stop after SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The api-server binary Cargo built for these tests.
pub fn api_server_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_api-server"))
}

/// The event-listener binary, next to the api-server's in the target directory. It belongs to
/// another package, so Cargo does not build it for these tests: when missing it is built here
/// (`cargo build -p hookflash-event-listener`, same profile).
pub fn event_listener_bin() -> PathBuf {
    let api = api_server_bin();
    let dir = api.parent().unwrap().to_path_buf();
    let bin = dir.join(format!("event-listener{}", std::env::consts::EXE_SUFFIX));
    let fresh = match (std::fs::metadata(&bin), std::fs::metadata(&api)) {
        (Ok(b), Ok(a)) => b.modified().ok() >= a.modified().ok(),
        _ => false,
    };
    if !fresh {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let mut cmd = Command::new(cargo);
        cmd.args([
            "build",
            "-p",
            "hookflash-event-listener",
            "--bin",
            "event-listener",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
        if dir.ends_with("release") {
            cmd.arg("--release");
        }
        let status = cmd.status().expect("running cargo to build event-listener");
        assert!(
            status.success(),
            "cargo build -p hookflash-event-listener failed"
        );
    }
    assert!(
        bin.exists(),
        "event-listener binary not found at {}: run `cargo build -p hookflash-event-listener`",
        bin.display()
    );
    bin
}

/// A fresh temporary directory.
pub fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hookflash-e2e-{label}-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The PostgreSQL URL, or None (printing why) when the test must be skipped; under CI the
/// variable is required.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("HOOKFLASH_TEST_POSTGRES_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: HOOKFLASH_TEST_POSTGRES_URL must be set under CI"
            );
            println!("skipped: {test}: set HOOKFLASH_TEST_POSTGRES_URL (scripts/test.sh does)");
            None
        }
    }
}

/// A new, empty database on the server of `base` (a URL to any of its databases); returns
/// its URL.
pub async fn fresh_postgres_db(base: &str) -> String {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(base).await.unwrap();
    let name = format!("hookflash_e2e_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let (head, _) = base.split_once('?').unwrap_or((base, ""));
    let cut = head.rfind('/').unwrap();
    format!("{}/{name}", &head[..cut])
}

/// Waits (bounded) until `GET url` answers 200.
pub async fn wait_healthy(http: &reqwest::Client, url: &str, proc: &mut Proc) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(url).send().await
            && r.status().is_success()
        {
            return;
        }
        if let Ok(Some(status)) = proc.child.try_wait() {
            panic!("{} exited early: {status}", proc.name);
        }
        assert!(Instant::now() < deadline, "{url} never became healthy");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A config file for one AMI server at `ami`.
pub fn ami_config(dir: &std::path::Path, ami: SocketAddr, listen: SocketAddr, db: &str) -> PathBuf {
    let text = format!(
        r#"listen = "{listen}"
database_url = "{db}"
jwt_secret = "Vq3xZk8Lr7TbQ0sYp4Hc9Jd6Fg1Ma5Ue2Ri8To7Yw4Ql0Mv3Xn6Bj9Kp"

[[asterisk]]
name = "pbx1"
protocol = "ami"
host = "127.0.0.1"
port = {port}
username = "ami"
secret = "amipass"
"#,
        port = ami.port()
    );
    let path = dir.join("hookflash.toml");
    std::fs::write(&path, text).unwrap();
    path
}
