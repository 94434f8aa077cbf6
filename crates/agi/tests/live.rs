//! FastAGI against the live Asterisk peer: a carrier call to the IVR number (context
//! `hookflash-ivr` of `examples/asterisk/extensions_hookflash.conf`) reaches
//! `AGI(agi://127.0.0.1:4573/callback)`; the session has the caller's number, the channel and
//! its `HOOKFLASH_CALL_ID`; the script answers and reads the DTMF `1` the carrier phone sends
//! (`scripts/asterisk-peer/carrier-uac-dtmf1-bye6s.xml`); the caller then hangs up in the
//! middle of the script's next command (it returns -1), Asterisk sends `HANGUP` before the
//! reply to the command after it, and the session ends cleanly (`HANGUP` handled).
//!
//! Skipped without `HOOKFLASH_LIVE_ASTERISK`, failed under `CI=true` without it.

use std::time::Duration;

use hookflash_agi::{AgiError, AgiHandler, AgiServer, AgiSession, Router, ServerConfig};
use hookflash_testkit::{Phone, live_peer, peer_dir};
use tokio::sync::mpsc;

/// What the script saw.
#[derive(Debug, Default)]
struct Seen {
    caller: Option<String>,
    channel: Option<String>,
    uniqueid: Option<String>,
    call_id: Option<String>,
    digits: String,
    timed_out: bool,
    hung_up_before_wait: bool,
    wait: Option<String>,
    after: Option<String>,
    hung_up: bool,
}

struct Ivr(mpsc::Sender<Seen>);

#[async_trait::async_trait]
impl AgiHandler for Ivr {
    async fn handle(&self, s: &mut AgiSession) -> Result<(), AgiError> {
        let mut seen = Seen {
            caller: s.env().caller_number().map(str::to_owned),
            channel: s.channel().map(str::to_owned),
            uniqueid: s.uniqueid().map(str::to_owned),
            ..Seen::default()
        };
        let result = async {
            seen.call_id = s.call_id().await?;
            s.answer().await?;
            let d = s
                .get_data("beep", Some(Duration::from_secs(10)), Some(1))
                .await?;
            seen.digits = d.digits;
            seen.timed_out = d.timed_out;
            seen.hung_up_before_wait = s.is_hung_up();
            // The caller hangs up about 3.5 s into this.
            seen.wait = Some(match s.exec("Wait", "30").await {
                Ok(n) => format!("result {n}"),
                Err(e) => format!("error {e}"),
            });
            // Asterisk answers the command the hangup interrupted first (`result=-1`) and sends
            // `HANGUP` when it next waits for a command (observed on the peer), so the line
            // comes between replies: the next command reads past it. VERBOSE is allowed on a
            // dead channel.
            for _ in 0..5 {
                if s.is_hung_up() {
                    break;
                }
                seen.after = Some(
                    match s.verbose("hookflash-agi live: caller gone", 1).await {
                        Ok(()) => "ok".to_owned(),
                        Err(e) => format!("error {e}"),
                    },
                );
            }
            Ok::<(), AgiError>(())
        }
        .await;
        seen.hung_up = s.is_hung_up();
        let _ = self.0.send(seen).await;
        result
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_ivr_gets_the_caller_reads_dtmf_and_ends_cleanly_on_hangup() {
    let Some((_host, _peer)) =
        live_peer("live_ivr_gets_the_caller_reads_dtmf_and_ends_cleanly_on_hangup")
    else {
        return;
    };
    let (tx, mut rx) = mpsc::channel(4);
    let config = ServerConfig::default().with_command_timeout(Duration::from_secs(40));
    let server = AgiServer::bind(config, Router::new().route("callback", Ivr(tx)))
        .await
        .expect("bind 127.0.0.1:4573 (the port the IVR dialplan names)");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        let _ = stopped.await;
    }));

    let scenario = peer_dir().join("carrier-uac-dtmf1-bye6s.xml");
    let scenario = scenario.to_string_lossy().into_owned();
    let _carrier = tokio::task::spawn_blocking(move || {
        Phone::start_args(
            "carrier",
            &[&scenario, "127.0.0.1:5060", "-s", "18005550199", "-m", "1"],
        )
    })
    .await
    .expect("carrier phone");

    let seen = tokio::time::timeout(Duration::from_secs(30), rx.recv())
        .await
        .expect("the AGI session ends within 30 s")
        .expect("the script reported");
    println!("{seen:?}");
    assert_eq!(seen.caller.as_deref(), Some("+15559870001"));
    let channel = seen.channel.clone().unwrap_or_default();
    assert!(channel.starts_with("PJSIP/trunk-"), "{channel}");
    let uniqueid = seen.uniqueid.clone().unwrap_or_default();
    assert!(!uniqueid.is_empty());
    assert_eq!(seen.call_id, Some(format!("ivr-{uniqueid}")));
    assert_eq!((seen.digits.as_str(), seen.timed_out), ("1", false));
    assert!(!seen.hung_up_before_wait);
    // The caller's BYE came while EXEC Wait ran: Wait's -1, then HANGUP before the next reply,
    // which still arrived in step.
    assert_eq!(seen.wait.as_deref(), Some("result -1"), "{seen:?}");
    assert!(seen.hung_up, "{seen:?}");
    assert_eq!(seen.after.as_deref(), Some("ok"), "{seen:?}");

    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(15), serving)
        .await
        .expect("graceful shutdown")
        .expect("server task")
        .expect("server");
}
