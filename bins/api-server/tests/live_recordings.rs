//! Live, adversarial: what a caller can make the real Asterisk peer do through the real
//! `api-server`, over AMI and over ARI (issue 12 points 1-2, issue 11 point 7).
//!
//! - Originate variables that Asterisk would split on commas, reserved names in any case or
//!   inheritance form, and function syntax are refused with a 422 naming the field; no call is
//!   placed.
//! - A recording started with a path-like label and a path as its format: the format is a 422;
//!   with a real format the answer carries our recording id, and the only file written in the
//!   peer's root is `hookflash-<call id>-<recording id>.<format>` in the recording directory
//!   (MixMonitor's monitor directory over AMI, ARI's recording directory over ARI); nothing
//!   named after the label appears anywhere in the peer's root.
//!
//! Needs `HOOKFLASH_LIVE_ASTERISK` (and `HOOKFLASH_PEER_DIR` for another peer root than
//! `/var/tmp/hookflash-asterisk-peer`).

mod e2e_common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use e2e_common::live::*;
use e2e_common::*;
use serde_json::{Value, json};

/// The label: as a path it would leave the recording directory.
const LABEL: &str = "../../../../etc/asterisk/hookflash-pwned";

fn peer_root() -> PathBuf {
    std::env::var_os("ASTERISK_PEER_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/hookflash-asterisk-peer"))
}

/// Every file under `dir` whose name contains `needle`.
fn find(dir: &Path, needle: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() && !kind.is_symlink() {
            // Not into the chroot's system trees where nothing of ours can be.
            if ["proc", "sys", "dev", "usr"]
                .iter()
                .any(|s| path == peer_root().join(s))
            {
                continue;
            }
            find(&path, needle, out);
        } else if e.file_name().to_string_lossy().contains(needle) {
            out.push(path);
        }
    }
}

async fn state_of(api: &Api, call_id: &str) -> String {
    let (s, v) = api
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/calls/{call_id}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v["call"]["state"].as_str().unwrap_or_default().to_owned()
}

/// Polls the call until it is in `want` (bounded).
async fn wait_state(api: &Api, call_id: &str, want: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let state = state_of(api, call_id).await;
        if state == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "call {call_id} never reached {want} (last {state})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn refused(api: &Api, method: reqwest::Method, path: &str, body: Value, field: &str) {
    let (s, v) = api.send(method, path, Some(body.clone())).await;
    assert_eq!(s, 422, "{path} {body}: {v}");
    assert_eq!(v["error"]["field"], field, "{path} {body}: {v}");
}

async fn scenario(test: &str, ari: bool) {
    let Some(host) = live_host(test) else {
        return;
    };
    let mut run = start(test, &host, ari, None).await;
    let agent_phone = Phone::start("agent1001", "agent-answer-1s.xml", &[]);
    let customer_phone = Phone::start("customer", "customer-uas.xml", &[]);
    let agent = run.admin.agent("PJSIP/agent1001").await;

    // 12.1: nothing of these reaches the PBX; no call is created.
    for (vars, field) in [
        (
            json!({"X": "1,CDR(userfield)=pwned,CALLERID(num)=666"}),
            "variables.X",
        ),
        (json!({"__HOOKFLASH_CALL_ID": "x"}), "variables"),
        (json!({"HOOKFLASH_TRUNK": "trunk-offline"}), "variables"),
        (json!({"CALLERID(num)": "666"}), "variables"),
        // Well-formed, but this server allows no variable at all.
        (json!({"CRM_ID": "42"}), "variables.CRM_ID"),
    ] {
        let body = json!({"agent": agent, "number": "5551215101", "variables": vars});
        refused(
            &run.admin,
            reqwest::Method::POST,
            "/api/v1/calls",
            body,
            field,
        )
        .await;
    }
    let (s, page) = run
        .admin
        .send(reqwest::Method::GET, "/api/v1/calls", None)
        .await;
    assert_eq!(s, 200, "{page}");
    assert_eq!(page["items"].as_array().map(Vec::len), Some(0), "{page}");

    // 12.2 / 11.7: the customer answers after 1 s and talks 15 s.
    let call_id = run.admin.call(&agent, "5551215102").await;
    wait_state(&run.admin, &call_id, "connected", Duration::from_secs(30)).await;
    let start_path = format!("/api/v1/calls/{call_id}/record/start");
    for format in ["/../../../../tmp/hookflash-pwned", "wav/../../x", "WAV"] {
        let body = json!({"label": LABEL, "format": format});
        refused(
            &run.admin,
            reqwest::Method::PUT,
            &start_path,
            body,
            "format",
        )
        .await;
    }
    let (s, started) = run
        .admin
        .send(
            reqwest::Method::PUT,
            &start_path,
            Some(json!({"label": LABEL, "format": "gsm"})),
        )
        .await;
    assert_eq!(s, 202, "{started}");
    let recording = started["recording"]
        .as_str()
        .expect("record/start answers with our recording id")
        .to_owned();
    assert!(uuid::Uuid::parse_str(&recording).is_ok(), "{started}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (s, stopped) = run
        .admin
        .send(
            reqwest::Method::PUT,
            &format!("/api/v1/calls/{call_id}/record/stop"),
            None,
        )
        .await;
    assert_eq!(s, 202, "{stopped}");
    assert_eq!(stopped["recording"], recording.as_str(), "{stopped}");
    let (s, list) = run
        .admin
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/calls/{call_id}/recordings"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{list}");
    assert_eq!(list[0]["id"], recording.as_str(), "{list}");
    assert_eq!(list[0]["label"], LABEL, "{list}");
    assert_eq!(list[0]["format"], "gsm", "{list}");
    wait_state(&run.admin, &call_id, "ended", Duration::from_secs(40)).await;

    // The file: named from our ids, in the recording directory, nowhere else.
    let root = peer_root();
    let stem = format!("hookflash-{call_id}-{recording}");
    let dir = if ari {
        root.join("var/spool/asterisk/recording")
    } else {
        root.join("var/spool/asterisk/monitor")
    };
    let file = dir.join(format!("{stem}.gsm"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !file.exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut ours = Vec::new();
    find(&root, &stem, &mut ours);
    assert_eq!(ours, vec![file.clone()], "the recording, and only there");
    let mut pwned = Vec::new();
    find(&root, "hookflash-pwned", &mut pwned);
    find(Path::new("/tmp"), "hookflash-pwned", &mut pwned);
    assert!(pwned.is_empty(), "files named after caller text: {pwned:?}");
    let _ = std::fs::remove_file(&file);

    drop(agent_phone);
    drop(customer_phone);
    assert!(run.api.terminate());
    let _ = std::fs::remove_dir_all(&run.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ami_variables_and_recordings_stay_inside() {
    scenario("live_ami_variables_and_recordings_stay_inside", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ari_variables_and_recordings_stay_inside() {
    scenario("live_ari_variables_and_recordings_stay_inside", true).await;
}
