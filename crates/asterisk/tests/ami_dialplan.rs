//! What the AmiProvider needs from the dialplan is checked, never assumed: against the mock AMI
//! server (which answers `Getvar` of `DIALPLAN_EXISTS` from its dialplan as Asterisk 22 does),
//! a PBX without the hold contexts makes hold a declared gap, and a transfer to an extension the
//! transfer context lacks is refused before any action moves the customer.

use std::time::Duration;

use hookflash_ami::mock::{MockServer, Transcript};
use hookflash_ami::{AmiConfig, Message};
use hookflash_asterisk::{AmiProvider, AmiProviderConfig};
use hookflash_provider::{
    AttendedTransferRequest, BlindTransferRequest, CallId, CallProvider, Capability, LegId,
    ProviderError, Support,
};

fn login() -> Transcript {
    let dir = hookflash_testkit::fixtures_dir();
    Transcript::from_file(dir.join("ami/login-plain.jsonl")).unwrap()
}

async fn provider(dialplan: &[(&str, &str)]) -> (MockServer, AmiProvider) {
    let dialplan = dialplan
        .iter()
        .map(|(c, e)| ((*c).to_owned(), (*e).to_owned()))
        .collect();
    let mock = MockServer::start_with_dialplan(vec![login()], dialplan)
        .await
        .unwrap();
    let mut ami = AmiConfig::new("127.0.0.1", mock.addr().port(), "ami", "amipass");
    ami.keepalive = None;
    ami.action_timeout = Duration::from_secs(30);
    let provider = AmiProvider::connect(AmiProviderConfig::new(ami))
        .await
        .unwrap();
    (mock, provider)
}

fn actions(mock: &MockServer) -> Vec<String> {
    mock.received(0)
        .iter()
        .map(|m: &Message| m.get_str("Action").unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test]
async fn without_the_hold_contexts_hold_is_a_declared_gap() {
    let (mock, p) = provider(&[("hookflash-hold-wait", "s")]).await;
    let why = match p.capabilities().support(Capability::Hold) {
        Support::Unsupported { why } => why,
        other => panic!("hold: {other:?}"),
    };
    assert!(why.contains("in hookflash-hold:"), "{why}");
    assert!(why.contains("extensions_hookflash.conf"), "{why}");
    assert_eq!(p.hold_gap().as_deref(), Some(why.as_str()));
    let leg = LegId::new("1795315411.4").unwrap();
    match p.hold(&leg).await {
        Err(ProviderError::Unsupported {
            capability: Capability::Hold,
            why: said,
        }) => assert_eq!(said, why),
        other => panic!("hold: expected Unsupported, got {other:?}"),
    }
    // Asked at connect, and nothing was sent for the refused hold.
    assert_eq!(actions(&mock), ["Login", "Getvar", "Getvar"]);
}

#[tokio::test]
async fn with_the_shipped_dialplan_hold_is_emulated() {
    let (_mock, p) = provider(MockServer::SHIPPED_DIALPLAN).await;
    assert!(matches!(
        p.capabilities().support(Capability::Hold),
        Support::Emulated { .. }
    ));
    assert_eq!(p.hold_gap(), None);
}

#[tokio::test]
async fn a_transfer_to_a_missing_extension_is_refused_before_anything_moves() {
    let (mock, p) = provider(MockServer::SHIPPED_DIALPLAN).await;
    let call_id = CallId::new_random();
    let customer = LegId::new("1795315411.5").unwrap();
    let agent = LegId::new("1795315411.4").unwrap();
    let blind = BlindTransferRequest {
        call_id,
        leg: customer.clone(),
        transferer: Some(agent.clone()),
        destination: "9999".to_owned(),
    };
    match p.blind_transfer(blind).await {
        Err(ProviderError::InvalidRequest { field, reason }) => {
            assert_eq!(field, "destination");
            assert!(
                reason.contains("no extension 9999 in the transfer context hookflash-transfer"),
                "{reason}"
            );
        }
        other => panic!("blind: expected InvalidRequest, got {other:?}"),
    }
    let attended = AttendedTransferRequest {
        call_id,
        transferer: agent,
        transferee: Some(customer),
        destination: "9999".to_owned(),
    };
    assert!(matches!(
        p.start_attended_transfer(attended).await,
        Err(ProviderError::InvalidRequest { .. })
    ));
    let sent = mock.received(0);
    let asked: Vec<&str> = sent
        .iter()
        .filter(|m| m.get_str("Action") == Some("Getvar"))
        .filter_map(|m| m.get_str("Variable"))
        .collect();
    assert_eq!(
        asked,
        [
            "DIALPLAN_EXISTS(hookflash-hold,s,1)",
            "DIALPLAN_EXISTS(hookflash-hold-wait,s,1)",
            "DIALPLAN_EXISTS(hookflash-transfer,9999,1)",
            "DIALPLAN_EXISTS(hookflash-transfer,9999,1)",
        ]
    );
    assert_eq!(
        actions(&mock).len(),
        5,
        "no BlindTransfer, Redirect or Atxfer"
    );
}
