//! A FastAGI server with one script, `callback`: the IVR step where a caller presses 1 to
//! be called back.
//!
//! Run with `cargo run -p hookflash-examples --example agi_server`, then point a dialplan at
//! it: `same => n,AGI(agi://127.0.0.1:4573/callback)` (the `hookflash-ivr` context of
//! `examples/asterisk/extensions_hookflash.conf` does). Environment: `AGI_BIND`
//! (127.0.0.1:4573; a non-loopback address also needs `AGI_ALLOW_NON_LOOPBACK=1`, since AGI
//! has no authentication). Ctrl-C stops accepting and lets running sessions finish.

use std::time::Duration;

use hookflash_agi::{AgiError, AgiHandler, AgiServer, AgiSession, Router, ServerConfig};

/// Answers, plays a prompt, reads one digit; `1` means "call me back".
struct Callback;

#[async_trait::async_trait]
impl AgiHandler for Callback {
    async fn handle(&self, s: &mut AgiSession) -> Result<(), AgiError> {
        let caller = s.env().caller_number().unwrap_or("").to_owned();
        // Joins this script's actions to the call record when hookflash placed the call.
        let call_id = s.call_id().await?;
        println!(
            "session: channel {:?} uniqueid {:?} caller {caller:?} call id {call_id:?}",
            s.channel(),
            s.uniqueid()
        );
        s.answer().await?;
        let d = s
            .get_data("beep", Some(Duration::from_secs(10)), Some(1))
            .await?;
        println!("digits {:?} (timed out: {})", d.digits, d.timed_out);
        if d.digits == "1" {
            s.set_variable("HOOKFLASH_CALLBACK", "requested").await?;
            s.say_digits(&caller_digits(&caller), "").await?;
        }
        s.hangup().await
    }
}

/// The digits of a number, for SAY DIGITS (`+` and the like dropped).
fn caller_digits(caller: &str) -> String {
    let d: String = caller.chars().filter(char::is_ascii_digit).collect();
    if d.is_empty() { "0".to_owned() } else { d }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "hookflash_agi=info".into()))
        .init();
    let bind = std::env::var("AGI_BIND").unwrap_or_else(|_| "127.0.0.1:4573".into());
    let config = ServerConfig::default()
        .with_bind(bind.parse()?)
        .with_allow_non_loopback(std::env::var("AGI_ALLOW_NON_LOOPBACK").as_deref() == Ok("1"));
    let server = AgiServer::bind(config, Router::new().route("callback", Callback)).await?;
    println!(
        "FastAGI listening on agi://{}/callback",
        server.local_addr()?
    );
    server
        .serve(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
