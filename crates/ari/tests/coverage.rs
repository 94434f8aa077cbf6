//! Holds the crate to the ARI api-docs: reads `testdata/ari-api-docs/*.json` at test time and
//! fails when a model, a field, an event or an operation has no counterpart in the crate.

#[path = "support/coverage_calls.rs"]
mod coverage_calls;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use hookflash_ari::{Client, EVENT_TYPES, Event};
use serde_json::{Map, Value, json};

const RESOURCES: &[&str] = &[
    "asterisk",
    "endpoints",
    "channels",
    "bridges",
    "recordings",
    "sounds",
    "playbacks",
    "deviceStates",
    "mailboxes",
    "events",
    "applications",
];

fn docs_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/ari-api-docs").to_owned()
}

struct Docs {
    resources: Vec<(String, Value)>,
    models: BTreeMap<String, Value>,
    parent: BTreeMap<String, String>,
}

fn load() -> Docs {
    let mut resources = Vec::new();
    let mut models = BTreeMap::new();
    for res in RESOURCES {
        let path = format!("{}/{res}.json", docs_dir());
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let v: Value = serde_json::from_str(&text).unwrap();
        if let Some(m) = v.get("models").and_then(Value::as_object) {
            for (k, model) in m {
                models.insert(k.clone(), model.clone());
            }
        }
        resources.push((res.to_string(), v));
    }
    let mut parent = BTreeMap::new();
    for (name, model) in &models {
        for sub in model
            .get("subTypes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            parent.insert(sub.as_str().unwrap().to_owned(), name.clone());
        }
    }
    Docs {
        resources,
        models,
        parent,
    }
}

impl Docs {
    /// Own and inherited properties, without the discriminator.
    fn properties(&self, name: &str) -> Vec<(String, Value)> {
        let mut chain = vec![name.to_owned()];
        while let Some(p) = self.parent.get(chain.last().unwrap()) {
            chain.push(p.clone());
        }
        let mut out = Vec::new();
        for m in chain.iter().rev() {
            let model = &self.models[m];
            let disc = model.get("discriminator").and_then(Value::as_str);
            for (k, v) in model["properties"].as_object().unwrap() {
                if Some(k.as_str()) != disc {
                    out.push((k.clone(), v.clone()));
                }
            }
        }
        out
    }

    fn sample_of_type(&self, ty: &str, full: bool) -> Value {
        if let Some(inner) = ty.strip_prefix("List[").and_then(|t| t.strip_suffix(']')) {
            return json!([
                self.sample_of_type(inner, full),
                self.sample_of_type(inner, full)
            ]);
        }
        match ty {
            "string" => json!("text"),
            "int" | "long" => json!(42),
            "double" => json!(1.5),
            "boolean" => json!(true),
            "Date" => json!("2026-11-22T02:48:19.210+0000"),
            "object" => json!({"k": "v", "n": 1}),
            model => {
                assert!(
                    self.models.contains_key(model),
                    "type {model} is not a documented model"
                );
                self.sample(model, full)
            }
        }
    }

    /// A JSON object with every documented field (`full`) or only the required ones.
    fn sample(&self, name: &str, full: bool) -> Value {
        let mut map = Map::new();
        for (field, prop) in self.properties(name) {
            let required = prop.get("required") == Some(&Value::Bool(true));
            if full || required {
                map.insert(
                    field,
                    self.sample_of_type(prop["type"].as_str().unwrap(), full),
                );
            }
        }
        Value::Object(map)
    }

    fn is_abstract(&self, name: &str) -> bool {
        self.models[name].get("subTypes").is_some()
    }
}

#[test]
fn every_model_and_field_round_trips() {
    let docs = load();
    let mut problems = Vec::new();
    let mut checked = 0;
    for name in docs.models.keys() {
        if docs.is_abstract(name) {
            continue; // Message and Event: their fields are checked through every subtype
        }
        let full = docs.sample(name, true);
        match coverage_calls::roundtrip(name, full.clone()) {
            None => problems.push(format!("model {name}: no Rust type")),
            Some(Err(e)) => problems.push(format!("model {name}: full sample does not parse: {e}")),
            Some(Ok(back)) if back != full => {
                for (k, v) in full.as_object().unwrap() {
                    if back.get(k) != Some(v) {
                        problems.push(format!(
                            "model {name}: field {k} lost or changed in round trip"
                        ));
                    }
                }
                for k in back.as_object().unwrap().keys() {
                    if !full.as_object().unwrap().contains_key(k) {
                        problems.push(format!("model {name}: field {k} is not documented"));
                    }
                }
            }
            Some(Ok(_)) => {}
        }
        let minimal = docs.sample(name, false);
        match coverage_calls::roundtrip(name, minimal.clone()) {
            Some(Ok(back)) if back == minimal => {}
            other => problems.push(format!("model {name}: required-only sample: {other:?}")),
        }
        for (field, prop) in docs.properties(name) {
            if prop.get("required") == Some(&Value::Bool(true)) {
                let mut without = minimal.clone();
                without.as_object_mut().unwrap().remove(&field);
                if let Some(Ok(_)) = coverage_calls::roundtrip(name, without) {
                    problems.push(format!(
                        "model {name}: required field {field} is optional in Rust"
                    ));
                }
            }
            checked += 1;
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(checked > 300, "only {checked} fields checked");
}

#[test]
fn every_event_is_a_typed_variant() {
    let docs = load();
    let mut documented: Vec<String> = docs.models["Event"]["subTypes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    for sub in docs.models["Message"]["subTypes"].as_array().unwrap() {
        let sub = sub.as_str().unwrap();
        if sub != "Event" {
            documented.push(sub.to_owned());
        }
    }
    let ours: BTreeSet<&str> = EVENT_TYPES.iter().copied().collect();
    let theirs: BTreeSet<&str> = documented.iter().map(String::as_str).collect();
    assert_eq!(ours, theirs, "EVENT_TYPES differs from events.json");
    for name in &documented {
        let mut sample = docs.sample(name, true);
        sample
            .as_object_mut()
            .unwrap()
            .insert("type".into(), json!(name));
        let event = Event::from_value(sample.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(
            !matches!(event, Event::Unknown(_)),
            "{name} fell back to raw"
        );
        assert_eq!(event.type_name(), name);
        assert_eq!(
            event.to_value().unwrap(),
            sample,
            "{name} does not round-trip"
        );
        let mut minimal = docs.sample(name, false);
        minimal
            .as_object_mut()
            .unwrap()
            .insert("type".into(), json!(name));
        let event = Event::from_value(minimal.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(event.to_value().unwrap(), minimal, "{name} (required only)");
    }
    let raw = json!({"type": "HookflashFutureEvent", "application": "a", "x": [1, 2]});
    let event: Event = Event::from_value(raw.clone()).unwrap();
    assert_eq!(event, Event::Unknown(raw.clone()));
    assert_eq!(event.to_value().unwrap(), raw);
}

#[derive(Debug, Clone)]
struct Recorded {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    body: Option<Value>,
}

async fn recorder() -> (String, Arc<Mutex<Vec<Recorded>>>) {
    use axum::body::Bytes;
    use axum::http::{Method, StatusCode, Uri};
    let log: Arc<Mutex<Vec<Recorded>>> = Arc::default();
    let app = {
        let log = log.clone();
        axum::Router::new().fallback(move |method: Method, uri: Uri, body: Bytes| {
            let log = log.clone();
            async move {
                let url = reqwest::Url::parse(&format!("http://x{uri}")).unwrap();
                let query = url
                    .query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                let body = if body.is_empty() {
                    None
                } else {
                    Some(serde_json::from_slice(&body).unwrap())
                };
                log.lock().unwrap().push(Recorded {
                    method: method.to_string(),
                    path: url.path().to_owned(),
                    query,
                    body,
                });
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    axum::Json(json!({"message": "recorded"})),
                )
            }
        })
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), log)
}

#[tokio::test]
async fn every_operation_sends_its_method_path_query_and_body() {
    let docs = load();
    let (base, log) = recorder().await;
    let client = Client::builder(base, "ari", "secret").build().unwrap();
    let mut problems = Vec::new();
    let mut count = 0;
    for (res, doc) in &docs.resources {
        for api in doc["apis"].as_array().unwrap() {
            let template = api["path"].as_str().unwrap();
            for op in api["operations"].as_array().unwrap() {
                let nickname = op["nickname"].as_str().unwrap();
                if op.get("upgrade").is_some() {
                    // The events WebSocket is `Client::event_stream` (tested in events tests).
                    assert_eq!((res.as_str(), nickname), ("events", "eventWebsocket"));
                    continue;
                }
                count += 1;
                let Some(call) = coverage_calls::call(&client, res, nickname) else {
                    problems.push(format!("{res}.{nickname}: no method"));
                    continue;
                };
                log.lock().unwrap().clear();
                call.await;
                let got = log.lock().unwrap().clone();
                let [got] = got.as_slice() else {
                    problems.push(format!("{res}.{nickname}: {} requests", got.len()));
                    continue;
                };
                let params = op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                let mut path = format!("/ari{template}");
                let mut query = BTreeMap::new();
                let mut body = None;
                for p in &params {
                    let name = p["name"].as_str().unwrap();
                    let multi = p.get("allowMultiple") == Some(&Value::Bool(true));
                    match (
                        p["paramType"].as_str().unwrap(),
                        p["dataType"].as_str().unwrap(),
                    ) {
                        ("path", _) => {
                            path = path.replace(&format!("{{{name}}}"), &format!("p-{name}"))
                        }
                        ("query", "int" | "long") => {
                            drop(query.insert(name.to_owned(), "7".to_owned()))
                        }
                        ("query", "boolean") => {
                            drop(query.insert(name.to_owned(), "true".to_owned()))
                        }
                        ("query", _) if multi => {
                            drop(query.insert(name.to_owned(), format!("a-{name},b-{name}")))
                        }
                        ("query", _) => drop(query.insert(name.to_owned(), format!("v-{name}"))),
                        ("body", "object") => body = Some(json!({"k": "v"})),
                        ("body", _) => body = Some(json!({ name: {"k": "v"} })),
                        other => {
                            problems.push(format!("{res}.{nickname}: parameter kind {other:?}"))
                        }
                    }
                }
                let method = op["httpMethod"].as_str().unwrap();
                if got.method != method {
                    problems.push(format!(
                        "{res}.{nickname}: method {} != {method}",
                        got.method
                    ));
                }
                if got.path != path {
                    problems.push(format!("{res}.{nickname}: path {} != {path}", got.path));
                }
                if got.query != query {
                    problems.push(format!(
                        "{res}.{nickname}: query {:?} != {query:?}",
                        got.query
                    ));
                }
                if got.body != body {
                    problems.push(format!("{res}.{nickname}: body {:?} != {body:?}", got.body));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
    assert!(count > 100, "only {count} operations");
}

#[test]
fn generated_code_is_up_to_date_with_the_generator() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/codegen/generate.py");
    let out = match std::process::Command::new("python3")
        .arg(script)
        .arg("--check")
        .output()
    {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("skipped: generated_code_is_up_to_date_with_the_generator: python3 not found");
            return;
        }
        Err(e) => panic!("python3: {e}"),
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
