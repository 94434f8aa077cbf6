//! Comparison of call records against `testdata/asterisk-22/expected.json`, shared by this
//! crate's scenario tests and the providers' conformance suites.
//!
//! `expected.json` lists, per fixture, the calls a tracker must produce, each with only the
//! fields that matter for it. [`check_calls`](crate::expect::check_calls) finds the record for every listed call and
//! compares exactly those fields. Field names follow expected.json; where they differ from
//! [`CallRecord`]'s, the mapping is: `holds` → `hold_count`, `agent_channel_id` → `agent_leg`,
//! `customer_channel_id` → `customer_leg`, `hangup_cause` → `hangup_cause.code`,
//! `recordings` → the recordings' names (compared by file name, without directories).
//! Tolerances, all documented in expected.json's own terms: `hung_up_by: "either"` accepts
//! the agent or the customer; `offered_to` is compared as a set; a transfer's `to` matches a
//! dial string that ends with it (`agent1002` for `1002`).

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::CallsError;
use crate::record::{CallRecord, Direction, Party};

/// One field that differs from what expected.json states.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// The expected call (its call id, or a description for calls without one).
    pub call: String,
    /// The expected.json field.
    pub field: String,
    /// What expected.json states.
    pub expected: Value,
    /// What the record holds (in expected.json's terms).
    pub actual: Value,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "call {}: {}: expected {}, got {}",
            self.call, self.field, self.expected, self.actual
        )
    }
}

/// The fixtures directory: env `HOOKFLASH_FIXTURES_DIR` when set, else the workspace's
/// `testdata/asterisk-22`.
pub fn fixtures_dir() -> PathBuf {
    match std::env::var_os("HOOKFLASH_FIXTURES_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/asterisk-22"
        )),
    }
}

/// Reads and parses `expected.json` from a fixtures directory.
pub fn load_expected(dir: &Path) -> Result<Value, CallsError> {
    let path = dir.join("expected.json");
    let text = std::fs::read_to_string(&path).map_err(|source| CallsError::Fixture {
        path: path.clone(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| CallsError::FixtureJson { path, source })
}

/// The scenario object of one fixture: `group` is `ami` or `ari`, `name` the fixture's name.
pub fn scenario<'a>(expected: &'a Value, group: &str, name: &str) -> Result<&'a Value, CallsError> {
    expected
        .get(group)
        .and_then(|g| g.get(name))
        .ok_or_else(|| CallsError::NoScenario {
            scenario: format!("{group}/{name}"),
        })
}

/// The expected calls of a scenario object.
pub fn scenario_calls(scenario: &Value) -> &[Value] {
    scenario
        .get("calls")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn describe(expected: &Value) -> String {
    match expected.get("call_id").and_then(Value::as_str) {
        Some(id) => id.to_owned(),
        None => format!(
            "({} call, customer {})",
            expected
                .get("direction")
                .and_then(Value::as_str)
                .unwrap_or("?"),
            expected
                .get("customer_channel")
                .and_then(Value::as_str)
                .unwrap_or("?")
        ),
    }
}

/// The record an expected call refers to: by call id, or, for calls without one, by
/// direction and the customer's (else the agent's) channel.
pub fn find_record<'a>(expected: &Value, records: &'a [CallRecord]) -> Option<&'a CallRecord> {
    if let Some(id) = expected.get("call_id").and_then(Value::as_str) {
        return records.iter().find(|r| r.call_id.to_string() == id);
    }
    let direction = expected.get("direction").and_then(Value::as_str);
    let channel_of = |key: &str| expected.get(key).and_then(Value::as_str);
    records.iter().find(|r| {
        let dir_ok = direction.is_none_or(|d| direction_name(r.direction) == d);
        let customer_ok =
            channel_of("customer_channel").is_none_or(|c| r.customer_channel.as_deref() == Some(c));
        let agent_ok =
            channel_of("agent_channel").is_none_or(|c| r.agent_channel.as_deref() == Some(c));
        r.derived_id && dir_ok && customer_ok && agent_ok
    })
}

fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::Outbound => "outbound",
        Direction::Inbound => "inbound",
    }
}

fn opt_str(v: Option<&str>) -> Value {
    v.map_or(Value::Null, |s| Value::String(s.to_owned()))
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Compares one record with one expected call: every field the expected call lists.
pub fn compare_call(expected: &Value, record: &CallRecord) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let call = describe(expected);
    let Some(fields) = expected.as_object() else {
        out.push(Mismatch {
            call,
            field: "(call)".to_owned(),
            expected: expected.clone(),
            actual: Value::Null,
        });
        return out;
    };
    for (field, want) in fields {
        let (ok, actual) = compare_field(field, want, record);
        if !ok {
            out.push(Mismatch {
                call: call.clone(),
                field: field.clone(),
                expected: want.clone(),
                actual,
            });
        }
    }
    out
}

fn compare_field(field: &str, want: &Value, r: &CallRecord) -> (bool, Value) {
    let simple = |actual: Value| (actual == *want, actual);
    match field {
        "call_id" => {
            if want.is_null() {
                // expected.json has no id for calls that carried none: ours is derived.
                (r.derived_id, Value::Bool(r.derived_id))
            } else {
                simple(Value::String(r.call_id.to_string()))
            }
        }
        "direction" => simple(Value::String(direction_name(r.direction).to_owned())),
        "disposition" => simple(opt_str(r.disposition.map(|d| d.as_str()))),
        "agent_channel" => simple(opt_str(r.agent_channel.as_deref())),
        "customer_channel" => simple(opt_str(r.customer_channel.as_deref())),
        "agent_channel_id" => simple(opt_str(r.agent_leg.as_ref().map(|l| l.as_str()))),
        "customer_channel_id" => simple(opt_str(r.customer_leg.as_ref().map(|l| l.as_str()))),
        "agent_answered" => simple(Value::Bool(r.agent_answered)),
        "customer_dialed" => simple(Value::Bool(r.customer_dialed)),
        "bridged" => simple(Value::Bool(r.bridged)),
        "hangup_cause" => simple(
            r.hangup_cause
                .as_ref()
                .map_or(Value::Null, |c| c.code.into()),
        ),
        "hung_up_by" => {
            let actual = opt_str(r.hung_up_by.map(|p| p.as_str()));
            let ok = match want.as_str() {
                Some("either") => matches!(r.hung_up_by, Some(Party::Agent | Party::Customer)),
                _ => actual == *want,
            };
            (ok, actual)
        }
        "holds" => simple(r.hold_count.into()),
        "held_leg" => simple(opt_str(r.held_leg.map(|p| p.as_str()))),
        "from" => simple(opt_str(r.from.as_deref())),
        "to" => simple(opt_str(r.to.as_deref())),
        "offered_to" => {
            let mut actual: Vec<&str> = r.offered_to.iter().map(String::as_str).collect();
            actual.sort_unstable();
            let mut wanted: Vec<&str> = want
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            wanted.sort_unstable();
            (actual == wanted, r.offered_to.clone().into())
        }
        "recordings" => {
            let actual: Vec<&str> = r.recordings.iter().map(|x| file_name(&x.name)).collect();
            let wanted: Vec<&str> = want
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).map(file_name).collect())
                .unwrap_or_default();
            (actual == wanted, actual.into())
        }
        "dtmf_received" | "dtmf_sent" => {
            let digits = if field == "dtmf_received" {
                &r.dtmf_received
            } else {
                &r.dtmf_sent
            };
            let actual = serde_json::to_value(digits).unwrap_or(Value::Null);
            let ok = want.as_object().is_some_and(|m| {
                m.iter()
                    .all(|(party, d)| actual.get(party).is_some_and(|a| a == d))
            });
            (ok, actual)
        }
        "transfers" => {
            let actual: Vec<Value> = r
                .transfers
                .iter()
                .map(|t| {
                    serde_json::json!({
                        "kind": t.kind,
                        "to": t.to,
                        "result": t.result,
                    })
                })
                .collect();
            let wanted = want.as_array().map_or(&[][..], Vec::as_slice);
            let ok = actual.len() == wanted.len()
                && actual.iter().zip(wanted).all(|(a, w)| {
                    a["kind"] == w["kind"]
                        && a["result"] == w["result"]
                        && match (a["to"].as_str(), w["to"].as_str()) {
                            (Some(a), Some(w)) => a == w || a.ends_with(w),
                            (a, w) => a == w,
                        }
                });
            (ok, actual.into())
        }
        "park" => {
            let actual = r.park.as_ref().map_or(
                Value::Null,
                |p| serde_json::json!({"slot": p.slot, "outcome": p.outcome}),
            );
            let ok = match (want.as_object(), actual.as_object()) {
                (Some(w), Some(a)) => w.iter().all(|(k, v)| a.get(k) == Some(v)),
                _ => want.is_null() && actual.is_null(),
            };
            (ok, actual)
        }
        _ => (
            false,
            Value::String(format!("unknown expected field {field:?}")),
        ),
    }
}

/// Checks every call a scenario lists against the records produced: each must be found and
/// match. Records the scenario does not list are not checked.
pub fn check_calls(expected_calls: &[Value], records: &[CallRecord]) -> Vec<Mismatch> {
    let mut out = Vec::new();
    for want in expected_calls {
        match find_record(want, records) {
            Some(record) => out.extend(compare_call(want, record)),
            None => out.push(Mismatch {
                call: describe(want),
                field: "(record)".to_owned(),
                expected: want.clone(),
                actual: Value::Null,
            }),
        }
    }
    out
}

/// Checks a scenario's `summary` (as `ami/load` has): the number of calls, the count per
/// disposition and per `hung_up_by`, and how many calls are still open. `either` counts may
/// go to the agent or the customer.
pub fn check_summary(summary: &Value, records: &[CallRecord], open_at_end: usize) -> Vec<Mismatch> {
    let mut out = Vec::new();
    let mut push = |field: &str, expected: Value, actual: Value| {
        out.push(Mismatch {
            call: "(summary)".to_owned(),
            field: field.to_owned(),
            expected,
            actual,
        });
    };
    if let Some(n) = summary.get("calls").and_then(Value::as_u64)
        && n != records.len() as u64
    {
        push("calls", n.into(), records.len().into());
    }
    if let Some(n) = summary.get("open_at_end").and_then(Value::as_u64)
        && n != open_at_end as u64
    {
        push("open_at_end", n.into(), open_at_end.into());
    }
    let count = |f: &dyn Fn(&CallRecord) -> bool| records.iter().filter(|r| f(r)).count() as u64;
    if let Some(map) = summary.get("dispositions").and_then(Value::as_object) {
        for (name, n) in map {
            let actual = count(&|r| r.disposition.is_some_and(|d| d.as_str() == name));
            if Some(actual) != n.as_u64() {
                push(&format!("dispositions.{name}"), n.clone(), actual.into());
            }
        }
    }
    if let Some(map) = summary.get("hung_up_by").and_then(Value::as_object) {
        let either = map.get("either").and_then(Value::as_u64).unwrap_or(0);
        let mut total_want = 0;
        let mut total_got = 0;
        for (name, n) in map {
            let want = n.as_u64().unwrap_or(0);
            total_want += want;
            if name == "either" {
                continue;
            }
            let actual = count(&|r| r.hung_up_by.is_some_and(|p| p.as_str() == name));
            total_got += actual;
            if actual < want || actual > want + either {
                push(&format!("hung_up_by.{name}"), n.clone(), actual.into());
            }
        }
        if total_got != total_want {
            push("hung_up_by (total)", total_want.into(), total_got.into());
        }
    }
    out
}
