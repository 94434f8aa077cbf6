//! The live peer's side of the end-to-end tests: the gate on `HOOKFLASH_LIVE_ASTERISK`, the sipp
//! phones of `scripts/asterisk-peer/phone.sh`, and the real api-server configured for the peer
//! (AMI or ARI, SQLite or PostgreSQL beside a separate event-listener).

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::*;

pub fn live_host(test: &str) -> Option<String> {
    match std::env::var("HOOKFLASH_LIVE_ASTERISK") {
        Ok(h) if !h.is_empty() => Some(h),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: HOOKFLASH_LIVE_ASTERISK must be set under CI"
            );
            println!("skipped: {test}: set HOOKFLASH_LIVE_ASTERISK (scripts/test.sh does)");
            None
        }
    }
}

pub fn peer_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/asterisk-peer"
    ))
}

/// One sipp phone, stopped (by PID) on drop.
pub struct Phone(u32);

impl Phone {
    pub fn start(role: &str, scenario: &str, extra: &[&str]) -> Phone {
        let out = Command::new("bash")
            .arg(peer_dir().join("phone.sh"))
            .arg(role)
            .arg(scenario)
            .args(extra)
            .output()
            .expect("running phone.sh");
        assert!(
            out.status.success(),
            "phone.sh: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let pid = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        // sipp needs a moment to bind its port.
        std::thread::sleep(Duration::from_millis(500));
        Phone(pid)
    }
}

impl Drop for Phone {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.to_string()).status();
    }
}

pub fn config(
    dir: &std::path::Path,
    host: &str,
    listen: std::net::SocketAddr,
    ari: bool,
    db: &str,
) -> PathBuf {
    let server = if ari {
        format!(
            "[[asterisk]]\nname = \"pbx1\"\nprotocol = \"ari\"\nhost = \"{host}\"\nport = 8088\n\
             username = \"ari\"\nsecret = \"aripass\"\napp = \"hookflash\"\n"
        )
    } else {
        format!(
            "[[asterisk]]\nname = \"pbx1\"\nprotocol = \"ami\"\nhost = \"{host}\"\nport = 5038\n\
             username = \"ami\"\nsecret = \"amipass\"\n"
        )
    };
    let text = format!(
        "listen = \"{listen}\"\ndatabase_url = \"{db}\"\njwt_secret = \"Lv7pQ2mZ9xK4rT8bW1cY6nH3sD0fG5jA2uE7iO9tR4yU1lM8vX3bN6kP\"\n\
         phone_validation = \"possible\"\n\n{server}dial_format = \"national\"\n"
    );
    let path = dir.join("hookflash.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub struct Running {
    pub api: Proc,
    pub listener: Option<Proc>,
    pub base: String,
    pub dir: PathBuf,
    pub db: String,
    pub admin: Api,
}

/// The api-server on SQLite, or (`postgres` = a database URL) beside a separate
/// event-listener over LISTEN/NOTIFY.
pub async fn start(label: &str, host: &str, ari: bool, postgres: Option<String>) -> Running {
    let dir = temp_dir(label);
    let listen: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let db = postgres
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}/hookflash.db?mode=rwc", dir.display()));
    let cfg = config(&dir, host, listen, ari, &db);
    let password = "live-admin-password".to_owned();
    let env = [("HOOKFLASH_ADMIN_PASSWORD", password.clone())];
    let mut listener = None;
    let mut args = vec!["--config", cfg.to_str().unwrap()];
    if postgres.is_some() {
        let health = free_port();
        let mut p = Proc::spawn(
            "event-listener",
            &event_listener_bin(),
            &[
                "--config",
                cfg.to_str().unwrap(),
                "--listen",
                &format!("127.0.0.1:{health}"),
            ],
            &env,
            &dir,
        );
        wait_healthy(
            &reqwest::Client::new(),
            &format!("http://127.0.0.1:{health}/healthz"),
            &mut p,
        )
        .await;
        listener = Some(p);
        args.push("--separate-listener");
    }
    let mut api = Proc::spawn("api-server", &api_server_bin(), &args, &env, &dir);
    let base = format!("http://{listen}");
    wait_healthy(
        &reqwest::Client::new(),
        &format!("{base}/healthz"),
        &mut api,
    )
    .await;
    let admin = Api::login(&base, "admin", &password).await;
    Running {
        api,
        listener,
        base,
        dir,
        db,
        admin,
    }
}
