//! The FastAGI server against a scripted Asterisk: transcripts over an in-memory duplex with
//! injected `510`, `511`, `520` and `HANGUP` replies, timeouts on a paused clock, and the TCP
//! server (routing, session limit, loopback bind, graceful shutdown).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hookflash_agi::{
    AgiError, AgiHandler, AgiServer, AgiSession, Router, ServerConfig, SessionEnd, serve_connection,
};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream};

const ENV: &str = "agi_network: yes\nagi_network_script: callback\nagi_request: agi://127.0.0.1:4573/callback\nagi_channel: PJSIP/carrier-00000007\nagi_language: en\nagi_type: PJSIP\nagi_uniqueid: 1764680000.42\nagi_version: 22.10.1\nagi_callerid: 5551204005\nagi_calleridname: Customer\nagi_context: hookflash-ivr\nagi_extension: 5550100\nagi_priority: 2\n\n";

/// What the handler saw, step by step.
type Log = Arc<Mutex<Vec<String>>>;

/// The side of Asterisk: reads command lines, writes what the script says.
struct Asterisk {
    reader: BufReader<tokio::io::ReadHalf<DuplexStream>>,
    writer: tokio::io::WriteHalf<DuplexStream>,
}

impl Asterisk {
    async fn send(&mut self, bytes: &str) {
        self.writer.write_all(bytes.as_bytes()).await.unwrap();
    }

    async fn expect(&mut self, command: &str) {
        let mut line = String::new();
        self.reader.read_line(&mut line).await.unwrap();
        assert_eq!(line, format!("{command}\n"));
    }

    async fn closed(&mut self) {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).await.unwrap();
        assert_eq!((n, line.as_str()), (0, ""), "expected the server to close");
    }
}

/// A handler from an async closure over the session and the log.
struct Script<F>(F, Log);

#[async_trait::async_trait]
impl<F> AgiHandler for Script<F>
where
    F: for<'a> Fn(
            &'a mut AgiSession,
            Log,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<(), AgiError>> + Send + 'a>,
        > + Send
        + Sync
        + 'static,
{
    async fn handle(&self, session: &mut AgiSession) -> Result<(), AgiError> {
        (self.0)(session, self.1.clone()).await
    }
}

fn log_of(log: &Log, s: impl Into<String>) {
    log.lock().unwrap().push(s.into());
}

/// Starts `serve_connection` with `script` on `callback` and returns Asterisk's side.
fn start<F>(
    script: F,
    config: ServerConfig,
) -> (
    Asterisk,
    tokio::task::JoinHandle<Result<SessionEnd, AgiError>>,
    Log,
)
where
    F: for<'a> Fn(
            &'a mut AgiSession,
            Log,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = Result<(), AgiError>> + Send + 'a>,
        > + Send
        + Sync
        + 'static,
{
    let log: Log = Arc::default();
    let router = Router::new().route("callback", Script(script, log.clone()));
    let (ours, theirs) = tokio::io::duplex(4096);
    let task =
        tokio::spawn(async move { serve_connection(Box::new(ours), &router, &config).await });
    let (r, w) = tokio::io::split(theirs);
    (
        Asterisk {
            reader: BufReader::new(r),
            writer: w,
        },
        task,
        log,
    )
}

#[tokio::test]
async fn hangup_before_the_reply_is_noted_and_the_reply_still_read() {
    let (mut ast, task, log) = start(
        |s, log| {
            Box::pin(async move {
                log_of(&log, format!("uniqueid {:?}", s.uniqueid()));
                log_of(&log, format!("channel {:?}", s.channel()));
                log_of(&log, format!("caller {:?}", s.env().caller_number()));
                s.answer().await?;
                let d = s
                    .get_data("press-1", Some(Duration::from_secs(5)), Some(1))
                    .await?;
                log_of(
                    &log,
                    format!("digits {} hung_up {}", d.digits, s.is_hung_up()),
                );
                // The channel is gone: STREAM FILE answers 511.
                match s.stream_file("goodbye", "").await {
                    Err(AgiError::DeadChannel) => log_of(&log, "511"),
                    other => log_of(&log, format!("unexpected {other:?}")),
                }
                Ok(())
            })
        },
        ServerConfig::default(),
    );
    ast.send(ENV).await;
    ast.expect("ANSWER").await;
    ast.send("200 result=0\n").await;
    ast.expect("GET DATA \"press-1\" 5000 1").await;
    ast.send("HANGUP\n200 result=1\n").await;
    ast.expect("STREAM FILE \"goodbye\" \"\"").await;
    ast.send("511 Command Not Permitted on a dead channel or intercept routine\n")
        .await;
    ast.closed().await;
    let end = task.await.unwrap().unwrap();
    assert!(
        matches!(end, SessionEnd::Done { ref path, hung_up: true } if path == "callback"),
        "{end:?}"
    );
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            "uniqueid Some(\"1764680000.42\")",
            "channel Some(\"PJSIP/carrier-00000007\")",
            "caller Some(\"5551204005\")",
            "digits 1 hung_up true",
            "511",
        ]
    );
}

#[tokio::test]
async fn hangup_between_replies_does_not_shift_the_dialogue() {
    let (mut ast, task, log) = start(
        |s, log| {
            Box::pin(async move {
                s.set_variable("IVR_STEP", "one").await?;
                let v = s.get_variable("IVR_STEP").await?;
                log_of(&log, format!("{v:?} hung_up {}", s.is_hung_up()));
                Ok(())
            })
        },
        ServerConfig::default(),
    );
    ast.send(ENV).await;
    ast.expect("SET VARIABLE IVR_STEP \"one\"").await;
    // The reply, then HANGUP on its own before the next command arrives.
    ast.send("200 result=1\nHANGUP\n").await;
    ast.expect("GET VARIABLE IVR_STEP").await;
    ast.send("200 result=1 (one)\n").await;
    ast.closed().await;
    task.await.unwrap().unwrap();
    assert_eq!(*log.lock().unwrap(), vec!["Some(\"one\") hung_up true"]);
}

#[tokio::test]
async fn errors_510_and_520_are_typed_and_the_next_reply_is_the_right_one() {
    let (mut ast, task, log) = start(
        |s, log| {
            Box::pin(async move {
                match s.exec("NoSuchApp", "x").await {
                    Err(AgiError::InvalidCommand) => log_of(&log, "510"),
                    other => log_of(&log, format!("unexpected {other:?}")),
                }
                match s.say_digits("123", "#").await {
                    Err(AgiError::Usage { usage }) => log_of(&log, format!("520 {usage}")),
                    other => log_of(&log, format!("unexpected {other:?}")),
                }
                match s.verbose("x", 1).await {
                    Err(AgiError::Usage { usage }) => log_of(&log, format!("520 [{usage}]")),
                    other => log_of(&log, format!("unexpected {other:?}")),
                }
                let id = s.call_id().await?;
                log_of(&log, format!("call id {id:?}"));
                Ok(())
            })
        },
        ServerConfig::default(),
    );
    ast.send(ENV).await;
    ast.expect("EXEC NoSuchApp \"x\"").await;
    ast.send("510 Invalid or unknown command\n").await;
    ast.expect("SAY DIGITS 123 \"#\"").await;
    ast.send(
        "520-Invalid command syntax.  Proper usage follows:\n Usage: SAY DIGITS <number> <escape digits>\n 200 result=0\n520 End of proper usage.\n",
    )
    .await;
    ast.expect("VERBOSE \"x\" 1").await;
    ast.send("520 Invalid command syntax.  Proper usage not available.\n")
        .await;
    ast.expect("GET VARIABLE HOOKFLASH_CALL_ID").await;
    ast.send("200 result=1 (0b5a4e6c-6d1b-4ab3-9b25-7f6e1c2d3a4b)\n")
        .await;
    ast.closed().await;
    task.await.unwrap().unwrap();
    assert_eq!(
        *log.lock().unwrap(),
        vec![
            "510",
            "520  Usage: SAY DIGITS <number> <escape digits>\n 200 result=0",
            "520 []",
            "call id Some(\"0b5a4e6c-6d1b-4ab3-9b25-7f6e1c2d3a4b\")",
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn a_command_without_reply_times_out_and_poisons_the_session() {
    let (mut ast, task, log) = start(
        |s, log| {
            Box::pin(async move {
                match s.answer().await {
                    Err(AgiError::Timeout(t)) => log_of(&log, format!("timeout {t:?}")),
                    other => log_of(&log, format!("unexpected {other:?}")),
                }
                // Whatever comes now may be the late ANSWER reply: refused, nothing sent.
                match s.hangup().await {
                    Err(AgiError::Poisoned) => log_of(&log, "poisoned"),
                    other => log_of(&log, format!("unexpected {other:?}")),
                }
                Ok(())
            })
        },
        ServerConfig::default().with_command_timeout(Duration::from_secs(3)),
    );
    ast.send(ENV).await;
    ast.expect("ANSWER").await;
    ast.closed().await;
    task.await.unwrap().unwrap();
    assert_eq!(*log.lock().unwrap(), vec!["timeout 3s", "poisoned"]);
}

#[tokio::test]
async fn asterisk_closing_mid_command_ends_the_session_cleanly() {
    let (mut ast, task, _log) = start(
        |s, _| {
            Box::pin(async move {
                s.stream_file("hello-world", "").await?;
                Ok(())
            })
        },
        ServerConfig::default(),
    );
    ast.send(ENV).await;
    ast.expect("STREAM FILE \"hello-world\" \"\"").await;
    ast.send("HANGUP\n").await;
    drop(ast);
    let end = task.await.unwrap().unwrap();
    assert!(
        matches!(
            end,
            SessionEnd::Failed {
                hung_up: true,
                error: AgiError::Closed,
                ..
            }
        ),
        "{end:?}"
    );
}

#[tokio::test]
async fn an_unknown_script_path_is_closed_and_a_missing_env_is_an_error() {
    let (mut ast, task, log) = start(|_, _| Box::pin(async { Ok(()) }), ServerConfig::default());
    ast.send(&ENV.replace("script: callback", "script: other?x=1"))
        .await;
    ast.closed().await;
    let end = task.await.unwrap().unwrap();
    assert!(
        matches!(end, SessionEnd::NoRoute { ref path } if path == "other"),
        "{end:?}"
    );
    assert!(log.lock().unwrap().is_empty());

    let (mut ast, task, _) = start(|_, _| Box::pin(async { Ok(()) }), ServerConfig::default());
    ast.send("agi_network: yes\nagi_channel: X\n").await;
    drop(ast);
    assert!(matches!(
        task.await.unwrap(),
        Err(AgiError::EnvIncomplete(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn a_silent_peer_gets_the_env_timeout() {
    let (_ast, task, _) = start(
        |_, _| Box::pin(async { Ok(()) }),
        ServerConfig::default().with_env_timeout(Duration::from_secs(2)),
    );
    assert!(matches!(
        task.await.unwrap(),
        Err(AgiError::EnvIncomplete("timed out"))
    ));
}

struct Hold(Arc<tokio::sync::Notify>, Log);

#[async_trait::async_trait]
impl AgiHandler for Hold {
    async fn handle(&self, session: &mut AgiSession) -> Result<(), AgiError> {
        log_of(&self.1, session.uniqueid().unwrap_or("-"));
        self.0.notified().await;
        session.answer().await
    }
}

#[tokio::test]
async fn tcp_server_routes_limits_sessions_and_shuts_down_gracefully() {
    let release = Arc::new(tokio::sync::Notify::new());
    let log: Log = Arc::default();
    let router = Router::new().route("/callback", Hold(release.clone(), log.clone()));
    let config = ServerConfig::default()
        .with_bind("127.0.0.1:0".parse().unwrap())
        .with_max_sessions(1);
    let server = AgiServer::bind(config, router).await.unwrap();
    let addr = server.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async {
        let _ = stop_rx.await;
    }));

    let mut first = tokio::net::TcpStream::connect(addr).await.unwrap();
    first.write_all(ENV.as_bytes()).await.unwrap();
    let mut first = BufReader::new(first);
    // Wait until the handler runs (its session holds the only permit).
    while log.lock().unwrap().is_empty() {
        tokio::task::yield_now().await;
    }
    // A second connection beyond the limit is closed at once.
    let mut second = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut byte = [0u8; 1];
    let n = tokio::io::AsyncReadExt::read(&mut second, &mut byte)
        .await
        .unwrap_or(0);
    assert_eq!(n, 0);

    // Shutdown waits for the running session.
    stop_tx.send(()).unwrap();
    release.notify_one();
    let mut line = String::new();
    first.read_line(&mut line).await.unwrap();
    assert_eq!(line, "ANSWER\n");
    first.get_mut().write_all(b"200 result=0\n").await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    line.clear();
    assert_eq!(first.read_line(&mut line).await.unwrap(), 0);
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    assert_eq!(*log.lock().unwrap(), vec!["1764680000.42"]);
}

#[tokio::test]
async fn a_non_loopback_bind_must_be_allowed_explicitly() {
    let config = ServerConfig::default().with_bind("0.0.0.0:0".parse().unwrap());
    assert!(matches!(
        AgiServer::bind(config.clone(), Router::new()).await,
        Err(AgiError::NonLoopbackBind(_))
    ));
    assert!(
        AgiServer::bind(config.with_allow_non_loopback(true), Router::new())
            .await
            .is_ok()
    );
    assert_eq!(ServerConfig::default().bind.to_string(), "127.0.0.1:4573");
}
