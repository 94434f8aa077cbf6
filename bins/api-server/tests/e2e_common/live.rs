//! The live peer's side of the end-to-end tests: the gate on `HOOKFLASH_LIVE_ASTERISK`, the sipp
//! phones of `scripts/asterisk-peer/phone.sh`, and the real api-server configured for the peer
//! (AMI or ARI, SQLite or PostgreSQL beside a separate event-listener).

use std::path::PathBuf;

use super::*;

// Shared by binaries that each use a part of it.
#[allow(unused_imports)]
pub use hookflash_testkit::{PeerGuard, live_host};

/// One sipp phone of the test kit (`phone.sh ROLE SCENARIO EXTRA...`), stopped on drop; it is
/// started once its SIP port is bound.
pub struct Phone {
    _phone: hookflash_testkit::Phone,
}

impl Phone {
    pub fn start(role: &str, scenario: &str, extra: &[&str]) -> Phone {
        let mut args = vec![scenario];
        args.extend_from_slice(extra);
        Phone {
            _phone: hookflash_testkit::Phone::start_args(role, &args),
        }
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
    /// Hangs up, when the test ends, every channel it left on the peer (last field: after
    /// the servers are stopped).
    pub peer: PeerGuard,
}

/// The api-server on SQLite, or (`postgres` = a database URL) beside a separate
/// event-listener over LISTEN/NOTIFY.
pub async fn start(label: &str, host: &str, ari: bool, postgres: Option<String>) -> Running {
    let peer = PeerGuard::new(host);
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
        peer,
    }
}
