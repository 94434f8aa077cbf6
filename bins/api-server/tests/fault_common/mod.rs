//! The fault suite's rig: the real `api-server --separate-listener` and `event-listener`
//! binaries on PostgreSQL, against [`MockPbx`] playing the recorded load (`ami/load`: 300
//! agent-first calls) with fresh ids, driven by paced `POST /calls`; faults are injected by
//! the test (kill -9 of the listener, the PBX's AMI dropped and refusing, PostgreSQL
//! restarted), then the rig counts what the store and a WebSocket client ended up with:
//!
//! - lost: a call `POST /calls` accepted (202) with no row, or whose originate reached the
//!   PBX but whose row is missing;
//! - stuck: a row not `ended` once the PBX has played everything and has no channel left;
//! - phantom: a row no `POST /calls` made (an inbound call invented from a leg of ours);
//! - wrong: an ended call whose disposition differs from the recording's (`expected.json`)
//!   other than one reconcile closed `ended while disconnected` or one whose whole life went
//!   by while the pipeline could not hear the PBX (closed with what was known; those are
//!   counted apart).
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hookflash_ami::mock::{MockPbx, Transcript};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

use crate::e2e_common::{
    Api, Proc, ami_config, api_server_bin, event_listener_bin, expected, fixtures_dir, free_port,
    temp_dir, wait_healthy,
};

/// The reason the tracker gives a call reconcile closed.
pub const DISCONNECTED: &str = "ended while disconnected";

/// Calls in the recorded load.
pub const LOAD_CALLS: usize = 300;

/// The recorded load.
pub fn load_transcript() -> Transcript {
    Transcript::from_file(fixtures_dir().join("ami/load.jsonl")).unwrap()
}

/// The recorded disposition of each load call, by its recorded call id (`expected.json`).
pub fn recorded_dispositions() -> HashMap<String, String> {
    expected("load")
        .iter()
        .map(|c| {
            (
                c["call_id"].as_str().unwrap().to_owned(),
                c["disposition"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

/// A private PostgreSQL cluster (initdb into a temporary directory as user `postgres`, on
/// its own port): it can be restarted without disturbing anyone else's tests.
pub struct PrivatePg {
    dir: PathBuf,
    pub port: u16,
}

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn as_postgres(args: &[&str]) -> std::process::Output {
    Command::new("runuser")
        .args(["-u", "postgres", "--"])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("runuser {args:?}: {e}"))
}

impl PrivatePg {
    /// Starts one, or None (printing why) when PostgreSQL 15 is not installed (a failure
    /// under CI=true).
    pub fn start(test: &str) -> Option<PrivatePg> {
        if !Path::new(PG_BIN).join("initdb").exists() {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: PostgreSQL 15 ({PG_BIN}) is required under CI"
            );
            println!("skipped: {test}: PostgreSQL 15 is not installed ({PG_BIN})");
            return None;
        }
        let dir = PathBuf::from(format!(
            "/tmp/hf-pg-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let chown = Command::new("chown")
            .args(["postgres:postgres", dir.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(chown.success());
        let data = dir.join("data");
        let out = as_postgres(&[
            &format!("{PG_BIN}/initdb"),
            "-D",
            data.to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ]);
        assert!(out.status.success(), "initdb: {out:?}");
        let pg = PrivatePg {
            dir,
            port: free_port(),
        };
        pg.pg_ctl("start");
        Some(pg)
    }

    fn pg_ctl(&self, what: &str) {
        let data = self.dir.join("data");
        let log = self.dir.join("log");
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            self.dir.display()
        );
        let mut args = vec![
            format!("{PG_BIN}/pg_ctl"),
            "-D".into(),
            data.display().to_string(),
            "-l".into(),
            log.display().to_string(),
            "-w".into(),
            "-m".into(),
            "fast".into(),
        ];
        if what != "stop" {
            args.push("-o".into());
            args.push(opts);
        }
        args.push(what.into());
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = as_postgres(&refs);
        assert!(out.status.success(), "pg_ctl {what}: {out:?}");
    }

    /// `postgres://` URL of database `db`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Stops the server (fast: open connections are cut).
    pub fn stop(&self) {
        self.pg_ctl("stop");
    }

    /// Starts it again.
    pub fn start_again(&self) {
        self.pg_ctl("start");
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = as_postgres(&[
            &format!("{PG_BIN}/pg_ctl"),
            "-D",
            data.to_str().unwrap_or_default(),
            "-m",
            "immediate",
            "stop",
        ]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Creates database `name` on the server of `admin_url`.
pub async fn create_db(admin_url: &str, name: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// The running rig.
pub struct Rig {
    pub pbx: Arc<MockPbx>,
    pub dir: PathBuf,
    pub db: String,
    config_arg: String,
    env: Vec<(&'static str, String)>,
    pub api: Proc,
    pub listener: Option<Proc>,
    pub listener_health: u16,
    pub client: Arc<Api>,
    pub agent: String,
    pub started: Instant,
    /// Windows in which the pipeline could not hear the PBX (from, to).
    deaf: Mutex<Vec<(Instant, Option<Instant>)>>,
}

impl Rig {
    /// Starts the PBX, the event-listener and the api-server on database `db`, logs in and
    /// creates the agent.
    pub async fn start(label: &str, db: String) -> Rig {
        let started = Instant::now();
        let pbx = Arc::new(MockPbx::start(load_transcript()).await.unwrap());
        let dir = temp_dir(label);
        let listen: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let config = ami_config(&dir, pbx.addr(), listen, &db);
        let password = "fault-admin-password-93".to_owned();
        let env = vec![
            ("HOOKFLASH_ADMIN_PASSWORD", password.clone()),
            ("RUST_LOG", "warn,hookflash_pipeline=info".to_owned()),
        ];
        let listener_health = free_port();
        let config_arg = config.to_str().unwrap().to_owned();
        let http = reqwest::Client::new();
        // The api-server creates the schema and the admin; the listener starts after it.
        let mut api = Proc::spawn(
            "api-server",
            &api_server_bin(),
            &["--config", &config_arg, "--separate-listener"],
            &env,
            &dir,
        );
        let base = format!("http://{listen}");
        wait_healthy(&http, &format!("{base}/healthz"), &mut api).await;
        let mut rig = Rig {
            pbx,
            dir,
            db,
            config_arg,
            env,
            api,
            listener: None,
            listener_health,
            client: Arc::new(Api::login(&base, "admin", &password).await),
            agent: String::new(),
            started,
            deaf: Mutex::new(Vec::new()),
        };
        rig.agent = rig.client.agent("PJSIP/agent2001").await;
        rig.start_listener().await;
        rig
    }

    /// Starts the event-listener (again) and waits until it is healthy.
    pub async fn start_listener(&mut self) {
        let health = format!("127.0.0.1:{}", self.listener_health);
        let mut p = Proc::spawn(
            "event-listener",
            &event_listener_bin(),
            &["--config", &self.config_arg, "--listen", &health],
            &self.env,
            &self.dir,
        );
        let http = reqwest::Client::new();
        wait_healthy(&http, &format!("http://{health}/healthz"), &mut p).await;
        self.listener = Some(p);
    }

    /// `kill -9` of the event-listener (dropping a [`Proc`] kills it with SIGKILL).
    pub fn kill_listener(&mut self) {
        drop(self.listener.take());
    }

    /// Marks the start of a window in which the pipeline cannot hear the PBX.
    pub fn deaf_from_now(&self) {
        self.deaf.lock().unwrap().push((Instant::now(), None));
    }

    fn hears_again_if_open(&self) {
        if let Some(last) = self.deaf.lock().unwrap().last_mut()
            && last.1.is_none()
        {
            last.1 = Some(Instant::now());
        }
    }

    /// Waits (bounded) until `n` clients are connected to the PBX again (the api-server's
    /// and the listener's links are back after an outage, each after its own backoff).
    pub async fn until_connected(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.pbx.open_connection_ids().len() < n {
            assert!(Instant::now() < deadline, "{n} AMI links never came back");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Marks the end of the last such window.
    pub fn hears_again(&self) {
        if let Some(last) = self.deaf.lock().unwrap().last_mut() {
            last.1 = Some(Instant::now());
        }
    }

    /// Places the load: `POST /calls` at `per_sec` until every recorded originate reached
    /// the PBX (a refused POST, or one whose Originate never arrived, is made up for).
    pub fn load(&self, per_sec: f64) -> Load {
        let load = Load::default();
        let accepted = Arc::clone(&load.accepted);
        let refused = Arc::clone(&load.refused);
        let posted = Arc::clone(&load.posted);
        let done = Arc::clone(&load.done);
        let client = Arc::clone(&self.client);
        let agent = self.agent.clone();
        let pbx = Arc::clone(&self.pbx);
        let interval = Duration::from_secs_f64(1.0 / per_sec);
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            let deadline = Instant::now() + Duration::from_secs(600);
            let mut tasks = Vec::new();
            while Instant::now() < deadline {
                tick.tick().await;
                let originated = pbx.originated().len();
                if originated >= LOAD_CALLS {
                    break;
                }
                let in_flight = posted.load(Ordering::SeqCst) - done.load(Ordering::SeqCst);
                let accepted_waiting = accepted.lock().unwrap().len().saturating_sub(originated);
                // Accepted calls whose Originate has not arrived yet may still arrive (held
                // while the link is down); give them a few seconds before making up for them.
                if in_flight + accepted_waiting.min(8) >= LOAD_CALLS - originated {
                    continue;
                }
                if posted.load(Ordering::SeqCst) >= LOAD_CALLS * 2 {
                    break;
                }
                posted.fetch_add(1, Ordering::SeqCst);
                let client = Arc::clone(&client);
                let agent = agent.clone();
                let accepted = Arc::clone(&accepted);
                let refused = Arc::clone(&refused);
                let done = Arc::clone(&done);
                tasks.push(tokio::spawn(async move {
                    let body = json!({"agent": agent, "number": "+12025550143"});
                    let r = tokio::time::timeout(
                        Duration::from_secs(30),
                        client.send(reqwest::Method::POST, "/api/v1/calls", Some(body)),
                    )
                    .await;
                    match r {
                        Ok((202, v)) => accepted
                            .lock()
                            .unwrap()
                            .push(v["call_id"].as_str().unwrap_or_default().to_owned()),
                        Ok((s, v)) => refused.lock().unwrap().push((s, v)),
                        Err(_) => refused.lock().unwrap().push((0, json!("timeout"))),
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                }));
            }
            for t in tasks {
                let _ = t.await;
            }
        });
        Load {
            task: Some(task),
            ..load
        }
    }

    /// Waits until the load is placed, the PBX has played everything and has no channel left,
    /// and every row is ended (or `timeout`), then counts.
    pub async fn settle(&self, mut load: Load, timeout: Duration) -> Figures {
        if let Some(t) = load.task.take() {
            t.await.unwrap();
        }
        let deadline = Instant::now() + timeout;
        while !(self.pbx.finished() && self.pbx.live_channels() == 0) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let played = Instant::now();
        let accepted: BTreeSet<String> = load.accepted.lock().unwrap().iter().cloned().collect();
        let mut rows = self.rows().await;
        while Instant::now() < deadline {
            let open = rows.values().filter(|r| r.state != "ended").count();
            if open == 0 && accepted.iter().all(|id| rows.contains_key(id)) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
            rows = self.rows().await;
        }
        let settle_after_play = played.elapsed();
        let recorded = recorded_dispositions();
        let originated = self.pbx.originated();
        let expected: HashMap<String, String> = originated
            .iter()
            .filter_map(|(rec, live)| Some((live.clone(), recorded.get(rec)?.clone())))
            .collect();
        let mut lost = Vec::new();
        for id in accepted.iter().chain(expected.keys()) {
            if !rows.contains_key(id) && !lost.contains(id) {
                lost.push(id.clone());
            }
        }
        let stuck: Vec<String> = rows
            .values()
            .filter(|r| r.state != "ended")
            .map(|r| format!("{} {} {}", r.id, r.direction, r.state))
            .collect();
        let phantom: Vec<String> = rows
            .values()
            .filter(|r| !accepted.contains(&r.id) && !expected.contains_key(&r.id))
            .map(|r| format!("{} {} {}", r.id, r.direction, r.state))
            .collect();
        let mut wrong = Vec::new();
        self.hears_again_if_open();
        let mut guessed = Vec::new();
        for (id, want) in &expected {
            if let Some(r) = rows.get(id)
                && r.state == "ended"
                && r.disposition.as_deref() != Some(want.as_str())
            {
                let line = format!("{id}: {:?}, recorded {want} ({})", r.disposition, r.reason);
                // Closed by reconcile with what was known, or a call whose whole life went by
                // while the pipeline could not hear the PBX: only the PBX's CDRs would say more.
                let unheard = self.pbx.call_span(id).is_some_and(|(from, to)| {
                    self.deaf.lock().unwrap().iter().any(|(a, b)| {
                        from >= *a && to.is_some_and(|t| t <= b.unwrap_or_else(Instant::now))
                    })
                });
                // A call that was under way when the pipeline went deaf and whose answer fell in
                // the outage: the listing after it shows only the legs still up, so an answer
                // and hangup that both went by are unknowable without the PBX's CDRs (issue 12
                // point 10, still open). Only that verdict (never answered) is excused.
                let answer_unheard = want == "answered"
                    && matches!(r.disposition.as_deref(), Some("cancelled" | "no_answer"))
                    && self.pbx.call_span(id).is_some_and(|(from, to)| {
                        self.deaf.lock().unwrap().iter().any(|(a, b)| {
                            let b = b.unwrap_or_else(Instant::now);
                            from <= b && to.is_none_or(|t| t >= *a)
                        })
                    });
                if r.reason == DISCONNECTED || unheard || answer_unheard {
                    guessed.push(line);
                } else {
                    wrong.push(line);
                }
            }
        }
        Figures {
            accepted: accepted.len(),
            refused: load.refused.lock().unwrap().len(),
            originated: originated.len(),
            events: self.pbx.events_played(),
            rows: rows.len(),
            lost,
            stuck,
            phantom,
            wrong,
            guessed,
            elapsed: self.started.elapsed(),
            settle_after_play,
        }
    }

    /// Every call row, by id.
    pub async fn rows(&self) -> BTreeMap<String, Row> {
        use sqlx::Connection;
        let Ok(mut conn) = sqlx::PgConnection::connect(&self.db).await else {
            return BTreeMap::new();
        };
        let rows: Vec<(String, String, String, Option<String>, String)> = sqlx::query_as(
            "SELECT id::text, direction, state, disposition, \
             COALESCE(metadata->>'end_reason', '') FROM calls",
        )
        .fetch_all(&mut conn)
        .await
        .unwrap_or_default();
        rows.into_iter()
            .map(|(id, direction, state, disposition, reason)| {
                (
                    id.clone(),
                    Row {
                        id,
                        direction,
                        state,
                        disposition,
                        reason,
                    },
                )
            })
            .collect()
    }

    /// Opens a WebSocket client that records every message.
    pub async fn ws_recorder(&self) -> WsRecorder {
        let url = format!(
            "{}/api/v1/ws?token={}",
            self.client.base.replacen("http://", "ws://", 1),
            self.client.token
        );
        let (mut stream, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let messages: Arc<Mutex<Vec<(Instant, Value)>>> = Arc::default();
        let m = Arc::clone(&messages);
        let task = tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                if let tokio_tungstenite::tungstenite::Message::Text(t) = msg
                    && let Ok(v) = serde_json::from_str::<Value>(t.as_str())
                {
                    m.lock().unwrap().push((Instant::now(), v));
                }
            }
        });
        WsRecorder { messages, task }
    }

    /// Stops both processes with SIGTERM (asserting clean exits) and removes the directory.
    pub fn finish(mut self) {
        assert!(self.api.terminate(), "api-server stopped cleanly");
        if let Some(mut l) = self.listener.take() {
            assert!(l.terminate(), "event-listener stopped cleanly");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One call row.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: String,
    pub direction: String,
    pub state: String,
    pub disposition: Option<String>,
    pub reason: String,
}

/// The load in progress.
#[derive(Default)]
pub struct Load {
    pub accepted: Arc<Mutex<Vec<String>>>,
    pub refused: Arc<Mutex<Vec<(u16, Value)>>>,
    pub posted: Arc<AtomicUsize>,
    done: Arc<AtomicUsize>,
    task: Option<JoinHandle<()>>,
}

impl Load {
    /// Waits until `n` POSTs were answered 202.
    pub async fn until_accepted(&self, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.accepted.lock().unwrap().len() < n {
            assert!(Instant::now() < deadline, "{n} calls never accepted");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// A WebSocket client recording every message.
pub struct WsRecorder {
    pub messages: Arc<Mutex<Vec<(Instant, Value)>>>,
    task: JoinHandle<()>,
}

impl WsRecorder {
    /// The call ids it saw a `call_ended` for.
    pub fn ended(&self) -> BTreeSet<String> {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, v)| v["type"] == "call_ended")
            .filter_map(|(_, v)| {
                v["call"]["id"]
                    .as_str()
                    .or(v["call_id"].as_str())
                    .map(str::to_owned)
            })
            .collect()
    }

    /// The `resync` messages received after `since`.
    pub fn resyncs_after(&self, since: Instant) -> usize {
        self.messages
            .lock()
            .unwrap()
            .iter()
            .filter(|(at, v)| *at >= since && v["type"] == "resync")
            .count()
    }
}

impl Drop for WsRecorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a fault run ended with.
#[derive(Debug)]
pub struct Figures {
    pub accepted: usize,
    pub refused: usize,
    pub originated: usize,
    pub events: u64,
    pub rows: usize,
    pub lost: Vec<String>,
    pub stuck: Vec<String>,
    pub phantom: Vec<String>,
    pub wrong: Vec<String>,
    /// Ended calls closed `ended while disconnected`, or whose whole life went by while the
    /// pipeline could not hear the PBX, whose disposition differs from the recording's (what
    /// was known of them; only the PBX's CDRs would say more).
    pub guessed: Vec<String>,
    pub elapsed: Duration,
    pub settle_after_play: Duration,
}

impl Figures {
    /// Prints the figures under `label`.
    pub fn print(&self, label: &str) {
        println!(
            "--- fault {label}: {} calls accepted ({} POSTs refused), {} originated, {} AMI events \
             played, {} rows: lost {}, stuck {}, phantom {}, wrong disposition {}, closed while \
             disconnected with another disposition than recorded {}; {:.1?} in all, {:.1?} to \
             settle after the PBX finished",
            self.accepted,
            self.refused,
            self.originated,
            self.events,
            self.rows,
            self.lost.len(),
            self.stuck.len(),
            self.phantom.len(),
            self.wrong.len(),
            self.guessed.len(),
            self.elapsed,
            self.settle_after_play,
        );
        for (what, list) in [
            ("lost", &self.lost),
            ("stuck", &self.stuck),
            ("phantom", &self.phantom),
            ("wrong", &self.wrong),
            ("closed while disconnected", &self.guessed),
        ] {
            for item in list.iter().take(10) {
                println!("  {what}: {item}");
            }
        }
    }

    /// Asserts 0 lost, 0 stuck, 0 phantom and every disposition as recorded.
    pub fn assert_clean(&self) {
        assert!(
            self.lost.is_empty()
                && self.stuck.is_empty()
                && self.phantom.is_empty()
                && self.wrong.is_empty(),
            "lost {}, stuck {}, phantom {}, wrong {}: {self:#?}",
            self.lost.len(),
            self.stuck.len(),
            self.phantom.len(),
            self.wrong.len()
        );
        assert_eq!(self.originated, LOAD_CALLS);
    }
}
