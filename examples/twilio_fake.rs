//! Runs hookflash-twilio's fake Twilio REST API on loopback, to try `twilio_call` without a
//! Twilio account.
//!
//! Run with `cargo run -p hookflash-examples --example twilio_fake`, then, in another shell,
//! the `twilio_call` line it prints. The fake answers every number, fetches the voice URL,
//! runs the TwiML and sends signed status callbacks, like Twilio. Environment:
//! `TWILIO_ACCOUNT_SID` and `TWILIO_AUTH_TOKEN` (test defaults otherwise). Ctrl-C stops it.

use hookflash_twilio::fake::FakeTwilio;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let account = std::env::var("TWILIO_ACCOUNT_SID")
        .unwrap_or_else(|_| "AC00000000000000000000000000000001".to_owned());
    let token = std::env::var("TWILIO_AUTH_TOKEN").unwrap_or_else(|_| "fake-auth-token".to_owned());
    let fake = FakeTwilio::start(&account, &token).await?;
    println!("fake Twilio API at {}", fake.base_url());
    println!(
        "try: TWILIO_API_BASE={} TWILIO_ACCOUNT_SID={account} TWILIO_AUTH_TOKEN={token} \
         TWILIO_PUBLIC_URL=http://127.0.0.1:8080 TWILIO_LISTEN=127.0.0.1:8080 \
         TWILIO_FROM=+15550001111 TWILIO_AGENT=client:alice TWILIO_CUSTOMER=+15559870001 \
         cargo run -p hookflash-examples --example twilio_call",
        fake.base_url()
    );
    tokio::signal::ctrl_c().await?;
    for call in fake.calls() {
        println!("{} {} -> {} {}", call.sid, call.from, call.to, call.status);
    }
    Ok(())
}
