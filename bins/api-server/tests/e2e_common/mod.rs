//! Shared pieces of the end-to-end tests: the real binaries as child processes, an AMI relay
//! in front of the mock AMI server, and small HTTP / WebSocket clients.
//!
//! The relay exists because a replayed transcript carries the call id of the recording: it
//! maps each recorded `HOOKFLASH_CALL_ID` to the id the api-server sent in the matching
//! `Originate` (the n-th recorded originate is the n-th sent) and rewrites it in everything
//! the server sends. It also fans AMI events out to every connection, as Asterisk does, so an
//! event-listener on its own connection sees the calls the api-server placed.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hookflash_ami::mock::{Entry, MockServer, Transcript};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

pub mod live;

/// The fixtures directory (HOOKFLASH_FIXTURES_DIR, else the project copy).
pub use hookflash_testkit::fixtures_dir;

mod clients;
mod procs;
mod relay;
mod scenario;

// Each test binary uses a part of these.
#[allow(unused_imports)]
pub use {clients::*, procs::*, relay::*, scenario::*};
