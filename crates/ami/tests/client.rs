//! The client against the mock AMI server replaying the fixture transcripts: the client's bytes
//! must be the transcript's (ActionIDs aside), and the answers must be correlated right.

mod common;

use std::time::Duration;

use hookflash_ami::mock::{MockServer, Transcript};
use hookflash_ami::{
    Action, AmiClient, AmiConfig, AmiError, AuthMode, ClientEvent, DisconnectReason, Event,
    EventStream, Message,
};

fn transcript(name: &str) -> Transcript {
    Transcript::from_file(common::ami_fixture(&format!("{name}.jsonl"))).expect("transcript")
}

fn config(server: &MockServer, secret: &str) -> AmiConfig {
    let mut c = AmiConfig::new("127.0.0.1", server.addr().port(), "ami", secret);
    c.keepalive = None;
    c.reconnect.enabled = false;
    c.action_id_prefix = Some("test".into());
    c.action_timeout = Duration::from_secs(20);
    c
}

/// Headers with the ActionID value blanked, as raw bytes.
fn normalized(m: &Message) -> Vec<(Vec<u8>, Vec<u8>)> {
    m.fields()
        .map(|(k, v)| {
            let v = if k.eq_ignore_ascii_case(b"ActionID") {
                b"*".to_vec()
            } else {
                v.to_vec()
            };
            (k.to_vec(), v)
        })
        .collect()
}

fn assert_same_actions(got: &[Message], want: &[Message]) {
    let got: Vec<_> = got.iter().map(normalized).collect();
    let want: Vec<_> = want.iter().map(normalized).collect();
    assert_eq!(got.len(), want.len(), "action count: got {got:?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
}

/// Rebuilds the recorded action (without its ActionID).
fn action_of(m: &Message) -> Action {
    let mut a = Action::new(m.get_str("Action").unwrap_or_default());
    for (k, v) in m.fields().skip(1) {
        if !k.eq_ignore_ascii_case(b"ActionID") {
            a.push(String::from_utf8_lossy(k), String::from_utf8_lossy(v));
        }
    }
    a
}

async fn wait_received(server: &MockServer, conn: usize, n: usize) {
    for _ in 0..500 {
        if server.received(conn).len() >= n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!(
        "mock got {} actions, waited for {n}",
        server.received(conn).len()
    );
}

async fn next_lifecycle(stream: &mut EventStream) -> ClientEvent {
    loop {
        let e = tokio::time::timeout(Duration::from_secs(10), stream.recv())
            .await
            .expect("event in time")
            .expect("open");
        if !matches!(e, ClientEvent::Event(_)) {
            return e;
        }
    }
}

#[tokio::test]
async fn plain_login_ping_logoff() {
    let t = transcript("login-plain");
    let server = MockServer::start(vec![t.clone()]).await.unwrap();
    let (client, mut events) = AmiClient::connect(config(&server, "amipass"))
        .await
        .unwrap();
    assert!(matches!(events.recv().await, Some(ClientEvent::Connected)));
    let pong = client.send(Action::new("Ping")).await.unwrap();
    assert_eq!(pong.get("Ping").unwrap(), "Pong");
    let bye = client.send(Action::new("Logoff")).await.unwrap();
    assert_eq!(bye.kind(), &hookflash_ami::ResponseKind::Goodbye);
    assert_same_actions(&server.received(0), &t.sends());
    assert!(matches!(
        next_lifecycle(&mut events).await,
        ClientEvent::Disconnected {
            reason: DisconnectReason::Eof
        }
    ));
}

#[tokio::test]
async fn md5_login() {
    let t = transcript("login-md5");
    let server = MockServer::start(vec![t.clone()]).await.unwrap();
    let mut c = config(&server, "amipass");
    c.auth = AuthMode::Md5;
    let (client, _events) = AmiClient::connect(c).await.unwrap();
    client.send(Action::new("Ping")).await.unwrap();
    client.send(Action::new("Logoff")).await.unwrap();
    // The Key is md5(challenge + secret): equal bytes prove the digest.
    assert_same_actions(&server.received(0), &t.sends());
}

#[tokio::test]
async fn bad_secret_is_a_typed_error() {
    let t = transcript("login-bad-secret");
    let server = MockServer::start(vec![t.clone()]).await.unwrap();
    let err = AmiClient::connect(config(&server, "wrong-secret"))
        .await
        .unwrap_err();
    match err {
        AmiError::Authentication { message } => assert_eq!(message, "Authentication failed"),
        e => panic!("{e:?}"),
    }
    assert_same_actions(&server.received(0), &t.sends());
}

#[tokio::test]
async fn async_originate_is_correlated() {
    let t = transcript("originate-answered");
    let server = MockServer::start(vec![t.clone()]).await.unwrap();
    let (client, mut events) = AmiClient::connect(config(&server, "amipass"))
        .await
        .unwrap();
    let sends = t.sends();
    let o = client.originate_async(action_of(&sends[1])).await.unwrap();
    assert_eq!(o.reason, Some(4));
    assert_eq!(o.response.as_ref().unwrap(), "Success");
    assert_eq!(o.channel.as_ref().unwrap(), "PJSIP/agent1001-00000004");
    assert_eq!(o.action_id.as_ref().unwrap().to_string(), "test-1-2");
    client.send(Action::new("Logoff")).await.unwrap();
    assert_same_actions(&server.received(0), &sends);
    // Subscribers get the call's events too, the OriginateResponse included.
    let mut names = Vec::new();
    while let Some(e) = events.try_recv() {
        if let ClientEvent::Event(e) = e {
            names.push(e.name().to_string());
        }
    }
    assert!(names.iter().any(|n| n == "OriginateResponse"));
    assert!(
        names.iter().filter(|n| *n == "Hangup").count() == 2,
        "{names:?}"
    );
}

#[tokio::test]
async fn originate_response_before_the_response() {
    let jsonl = [
        r#"{"t":0,"dir":"recv","data":"Asterisk Call Manager/11.0.0\r\n"}"#,
        r#"{"t":0,"dir":"send","data":"Action: Login\r\nActionID: l-1\r\nUsername: ami\r\nSecret: s\r\nEvents: on\r\n\r\n"}"#,
        r#"{"t":0,"dir":"recv","data":"Response: Success\r\nActionID: l-1\r\nMessage: Authentication accepted\r\n\r\n"}"#,
        r#"{"t":0,"dir":"send","data":"Action: Originate\r\nActionID: o-1\r\nChannel: PJSIP/a\r\nAsync: true\r\n\r\n"}"#,
        r#"{"t":0,"dir":"recv","data":"Event: OriginateResponse\r\nActionID: o-1\r\nResponse: Failure\r\nChannel: PJSIP/a\r\nReason: 0\r\nUniqueid: <unknown>\r\n\r\nResponse: Succ"}"#,
        r#"{"t":0,"dir":"recv","data":"ess\r\nActionID: o-1\r\nMessage: Originate successfully queued\r\n\r\n"}"#,
    ]
    .join("\n");
    let server = MockServer::start(vec![Transcript::parse(&jsonl).unwrap()])
        .await
        .unwrap();
    let (client, _events) = AmiClient::connect(config(&server, "s")).await.unwrap();
    let o = client
        .originate_async(Action::new("Originate").header("Channel", "PJSIP/a"))
        .await
        .unwrap();
    assert_eq!(o.reason, Some(0));
    assert_eq!(o.uniqueid.as_ref().unwrap(), "<unknown>");
}

#[tokio::test]
async fn status_and_lists_replayed() {
    let t = transcript("status-and-lists");
    let sends = t.sends();
    let server = MockServer::start(vec![t.clone()]).await.unwrap();
    let mut c = config(&server, "amipass");
    c.action_timeout = Duration::from_secs(60);
    let (client, _events) = AmiClient::connect(c).await.unwrap();
    let mut tasks = Vec::new();
    for (i, m) in sends.iter().enumerate().skip(1) {
        let action = action_of(m);
        let client = client.clone();
        let name = action.name().to_string();
        let is_async = action.get("Async").is_some();
        let list = matches!(name.as_str(), "CoreShowChannels" | "Status" | "BridgeList");
        tasks.push(tokio::spawn(async move {
            if name == "Originate" && is_async {
                client
                    .originate_async(action)
                    .await
                    .map(|o| format!("OriginateResponse {:?}", o.reason))
            } else if name == "Command" {
                client
                    .command(action.get("Command").unwrap_or_default())
                    .await
            } else if list {
                client.send_list(action).await.map(|(_, ev)| {
                    ev.iter()
                        .map(|e| e.name().to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                })
            } else {
                client
                    .send(action)
                    .await
                    .map(|r| r.message().unwrap_or_default().to_string())
            }
        }));
        // Keep the recorded order of actions on the wire.
        wait_received(&server, 0, i + 1).await;
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert_same_actions(&server.received(0), &sends);
    let ok = |i: usize| {
        results[i - 1]
            .as_ref()
            .unwrap_or_else(|e| panic!("action {i}: {e}"))
            .clone()
    };
    let failed = |i: usize| match &results[i - 1] {
        Err(AmiError::ActionFailed { response, .. }) => {
            response.message().unwrap_or_default().to_string()
        }
        r => panic!("action {i}: {r:?}"),
    };
    assert!(ok(3).contains("Channel"), "{}", ok(3)); // Command core show channels (idle)
    assert!(failed(8).starts_with("Invalid/unknown command: HookflashNoSuchAction"));
    assert_eq!(failed(9), "No variable specified");
    assert_eq!(failed(10), "No such channel");
    assert_eq!(failed(11), "Channel not specified");
    assert_eq!(ok(13), "OriginateResponse Some(4)");
    assert_eq!(ok(14), "OriginateResponse Some(4)");
    assert_eq!(
        ok(15),
        "CoreShowChannel,CoreShowChannel,CoreShowChannel,CoreShowChannel,CoreShowChannelsComplete"
    );
    assert!(ok(16).ends_with("StatusComplete"), "{}", ok(16));
    assert!(ok(19).contains("2 active calls"), "{}", ok(19));
    assert!(
        ok(20).contains("PJSIP/agent1001-00000000!hookflash-outbound"),
        "{}",
        ok(20)
    );
    assert_eq!(ok(21), "BridgeListItem,BridgeListItem,BridgeListComplete");
}

#[tokio::test]
async fn queue_status_list() {
    let t = transcript("inbound-queue");
    let server = MockServer::start(vec![t.clone()]).await.unwrap();
    let (client, _events) = AmiClient::connect(config(&server, "amipass"))
        .await
        .unwrap();
    let (resp, events) = client.send_list(action_of(&t.sends()[1])).await.unwrap();
    assert!(resp.starts_event_list());
    let names: Vec<_> = events.iter().map(Event::name).collect();
    assert_eq!(names.first(), Some(&"QueueParams"));
    assert_eq!(names.last(), Some(&"QueueStatusComplete"));
}

#[tokio::test]
async fn reconnect_after_the_link_drops() {
    let a = transcript("reconnect-mid-call-a");
    let b = transcript("reconnect-mid-call-b");
    let server = MockServer::start(vec![a.clone(), b.clone()]).await.unwrap();
    let mut c = config(&server, "amipass");
    c.reconnect.enabled = true;
    c.reconnect.initial = Duration::from_millis(20);
    c.reconnect.max = Duration::from_millis(200);
    let (client, mut events) = AmiClient::connect(c).await.unwrap();
    assert!(matches!(events.recv().await, Some(ClientEvent::Connected)));
    let o = client
        .originate_async(action_of(&a.sends()[1]))
        .await
        .unwrap();
    assert_eq!(o.reason, Some(4));
    // Transcript a ends mid-call: the server closes.
    assert!(matches!(
        next_lifecycle(&mut events).await,
        ClientEvent::Disconnected { .. }
    ));
    assert!(matches!(
        next_lifecycle(&mut events).await,
        ClientEvent::Reconnected
    ));
    assert!(client.is_connected());
    let (_, list) = client
        .send_list(Action::new("CoreShowChannels"))
        .await
        .unwrap();
    assert_eq!(
        list.iter()
            .filter(|e| e.name() == "CoreShowChannel")
            .count(),
        2
    );
    client.send(Action::new("Logoff")).await.unwrap();
    assert_same_actions(&server.received(0), &a.sends());
    assert_same_actions(&server.received(1), &b.sends());
    // ActionIDs of the second connection differ from the first's.
    let ids = |i| {
        server
            .received(i)
            .iter()
            .map(|m| m.get_str("ActionID").unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (ids0, ids1) = (ids(0), ids(1));
    assert!(
        ids0.iter().all(|id| !ids1.contains(id)),
        "{ids0:?} {ids1:?}"
    );
}

#[tokio::test]
async fn in_flight_originate_fails_with_connection_lost_and_is_not_resent() {
    let t = transcript("originate-answered").truncate_after_send(2);
    let server = MockServer::start(vec![t.clone()]).await.unwrap();
    let mut c = config(&server, "amipass");
    c.reconnect.enabled = true;
    c.reconnect.initial = Duration::from_millis(20);
    let (client, _events) = AmiClient::connect(c).await.unwrap();
    let err = client
        .originate_async(action_of(&transcript("originate-answered").sends()[1]))
        .await
        .unwrap_err();
    assert!(err.is_connection_lost(), "{err:?}");
    // While reconnecting (the mock has no second transcript) actions are refused, not queued.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let e = client.send(Action::new("Ping")).await.unwrap_err();
    assert!(e.is_not_sent(), "{e:?}");
    assert_eq!(
        server
            .received(0)
            .iter()
            .filter(|m| m.get_str("Action") == Some("Originate"))
            .count(),
        1
    );
    for i in 1..server.connections() {
        assert!(
            server
                .received(i)
                .iter()
                .all(|m| m.get_str("Action") != Some("Originate"))
        );
    }
}

#[tokio::test]
async fn slow_subscriber_is_told_it_lagged() {
    let t = transcript("originate-answered");
    let server = MockServer::start(vec![t.clone()]).await.unwrap();
    let mut c = config(&server, "amipass");
    c.event_buffer = 8;
    let (client, mut events) = AmiClient::connect(c).await.unwrap();
    client
        .originate_async(action_of(&t.sends()[1]))
        .await
        .unwrap();
    client.send(Action::new("Logoff")).await.unwrap();
    let total_events = hookflash_ami::decode_all(&t.server_bytes())
        .0
        .iter()
        .filter(|m| m.kind() == hookflash_ami::MessageKind::Event)
        .count() as u64;
    let (mut got, mut lagged) = (0u64, 0u64);
    while let Some(e) = events.try_recv() {
        match e {
            ClientEvent::Event(_) => got += 1,
            ClientEvent::Lagged(n) => lagged += n,
            _ => {}
        }
    }
    assert!(lagged > 0);
    assert!(got <= 8);
    // Connected counts among the missed items.
    assert_eq!(got + lagged, total_events + 1);
}

#[tokio::test]
async fn header_injection_is_refused_before_sending() {
    let t = transcript("login-plain");
    let server = MockServer::start(vec![t]).await.unwrap();
    let (client, _events) = AmiClient::connect(config(&server, "amipass"))
        .await
        .unwrap();
    let e = client
        .send(Action::new("Status").header("Channel", "x\r\nAction: Hangup"))
        .await
        .unwrap_err();
    assert!(matches!(e, AmiError::HeaderInjection { .. }));
    assert!(e.is_not_sent());
    client.send(Action::new("Ping")).await.unwrap();
    assert_eq!(server.received(0).len(), 2); // Login, Ping
}

#[test]
fn config_debug_hides_the_secret() {
    let c = AmiConfig::new("h", 1, "ami", "s3cr3t-value");
    assert!(!format!("{c:?}").contains("s3cr3t-value"));
}

#[tokio::test]
async fn random_action_id_prefixes_differ_per_client() {
    let t = transcript("login-plain");
    let server = MockServer::start(vec![t.clone(), t]).await.unwrap();
    let mut c = config(&server, "amipass");
    c.action_id_prefix = None;
    let (_c1, _e1) = AmiClient::connect(c.clone()).await.unwrap();
    let (_c2, _e2) = AmiClient::connect(c).await.unwrap();
    let id = |i| {
        server.received(i)[0]
            .get_str("ActionID")
            .unwrap()
            .to_string()
    };
    assert_ne!(id(0), id(1));
}

/// A TLS front for the mock: terminates TLS with a self-signed certificate for `localhost`.
async fn tls_proxy(backend: std::net::SocketAddr) -> (std::net::SocketAddr, rustls::RootCertStore) {
    use std::sync::Arc;
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let der = cert.cert.der().clone();
    let key = rustls::pki_types::PrivateKeyDer::try_from(cert.key_pair.serialize_der()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der.clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(sock).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    let mut roots = rustls::RootCertStore::empty();
    roots.add(der).unwrap();
    (addr, roots)
}

#[tokio::test]
async fn tls_login_and_ping() {
    let t = transcript("login-plain");
    let server = MockServer::start(vec![t.clone()]).await.unwrap();
    let (addr, roots) = tls_proxy(server.addr()).await;
    let mut c = config(&server, "amipass");
    c.host = "localhost".into();
    c.port = addr.port();
    c.tls = Some(hookflash_ami::TlsConfig::with_roots("localhost", roots).unwrap());
    let (client, _events) = AmiClient::connect(c).await.unwrap();
    client.send(Action::new("Ping")).await.unwrap();
    client.send(Action::new("Logoff")).await.unwrap();
    assert_same_actions(&server.received(0), &t.sends());
}

#[tokio::test]
async fn tls_with_an_untrusted_certificate_fails() {
    let t = transcript("login-plain");
    let server = MockServer::start(vec![t]).await.unwrap();
    let (addr, _roots) = tls_proxy(server.addr()).await;
    let mut c = config(&server, "amipass");
    c.host = "localhost".into();
    c.port = addr.port();
    c.tls = Some(
        hookflash_ami::TlsConfig::with_roots("localhost", rustls::RootCertStore::empty()).unwrap(),
    );
    let err = AmiClient::connect(c).await.unwrap_err();
    assert!(matches!(err, AmiError::Tls(_)), "{err:?}");
}

#[tokio::test]
async fn dead_peer_is_noticed_by_keepalive() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A server that logs the client in and then never answers again (a hung Asterisk).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        sock.write_all(b"Asterisk Call Manager/11.0.0\r\n")
            .await
            .unwrap();
        let mut buf = vec![0u8; 4096];
        let n = sock.read(&mut buf).await.unwrap();
        let login = String::from_utf8_lossy(&buf[..n]).to_string();
        let id = login
            .lines()
            .find_map(|l| l.strip_prefix("ActionID: "))
            .unwrap()
            .to_string();
        sock.write_all(
            format!(
                "Response: Success\r\nActionID: {id}\r\nMessage: Authentication accepted\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
        while sock.read(&mut buf).await.map(|n| n > 0).unwrap_or(false) {}
    });
    let mut c = AmiConfig::new("127.0.0.1", port, "ami", "amipass");
    c.keepalive = Some(Duration::from_millis(100));
    c.ping_timeout = Duration::from_millis(200);
    c.reconnect.enabled = false;
    let (client, mut events) = AmiClient::connect(c).await.unwrap();
    let pending = tokio::spawn({
        let client = client.clone();
        async move { client.send(Action::new("CoreStatus")).await }
    });
    assert!(matches!(
        next_lifecycle(&mut events).await,
        ClientEvent::Connected
    ));
    assert!(matches!(
        next_lifecycle(&mut events).await,
        ClientEvent::Disconnected {
            reason: DisconnectReason::KeepaliveTimeout
        }
    ));
    let err = pending.await.unwrap().unwrap_err();
    assert!(
        err.is_connection_lost() || matches!(err, AmiError::Closed),
        "{err:?}"
    );
    assert!(!client.is_connected());
}
