//! Small HTTP and WebSocket clients of the api-server.

use super::*;

/// An API client logged in as the admin.
pub struct Api {
    /// The HTTP client.
    pub http: reqwest::Client,
    /// `http://addr`.
    pub base: String,
    /// The access token.
    pub token: String,
}

impl Api {
    /// Logs in.
    pub async fn login(base: &str, username: &str, password: &str) -> Api {
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{base}/api/v1/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "login");
        let v: Value = r.json().await.unwrap();
        Api {
            http,
            base: base.to_owned(),
            token: v["access_token"].as_str().unwrap().to_owned(),
        }
    }

    /// `METHOD path` with the token and an optional JSON body; returns status and JSON.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        let v = r.json().await.unwrap_or(Value::Null);
        (status, v)
    }

    /// Creates an agent on `endpoint`; returns its id.
    pub async fn agent(&self, endpoint: &str) -> String {
        let (s, v) = self
            .send(
                reqwest::Method::POST,
                "/api/v1/agents",
                Some(json!({"display_name": endpoint, "endpoint": endpoint})),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// `POST /api/v1/calls`; returns the call id.
    pub async fn call(&self, agent: &str, number: &str) -> String {
        let (s, v) = self
            .send(
                reqwest::Method::POST,
                "/api/v1/calls",
                Some(json!({"agent": agent, "number": number})),
            )
            .await;
        assert_eq!(s, 202, "{v}");
        v["call_id"].as_str().unwrap().to_owned()
    }

    /// Opens the event WebSocket.
    pub async fn ws(&self) -> Ws {
        let url = format!(
            "{}/api/v1/ws?token={}",
            self.base.replacen("http://", "ws://", 1),
            self.token
        );
        let (stream, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut ws = Ws {
            stream,
            views: std::collections::HashMap::new(),
        };
        let hello = ws.next_json(Duration::from_secs(10)).await.unwrap();
        assert_eq!(hello["type"], "hello");
        ws
    }
}

/// The event WebSocket.
pub struct Ws {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
    /// The whole view of each call followed so far (the socket sends it once, then changes).
    views: std::collections::HashMap<String, Value>,
}

impl Ws {
    /// The next JSON text frame within `timeout`.
    pub async fn next_json(&mut self, timeout: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .ok()??;
            match msg.ok()? {
                tokio_tungstenite::tungstenite::Message::Text(t) => {
                    return serde_json::from_str(t.as_str()).ok();
                }
                tokio_tungstenite::tungstenite::Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// A call message about `call_id`, with `call` set to the whole view after it: the socket
    /// sends the view once (`call_created`), then only the changed fields (`changes`).
    /// `None` for other messages.
    pub fn follow(&mut self, call_id: &str, mut v: Value) -> Option<Value> {
        let kind = v["type"].as_str()?;
        if !matches!(kind, "call_created" | "call_updated" | "call_ended") {
            return None;
        }
        let id = v["call"]["id"].as_str().or(v["call_id"].as_str())?;
        if id != call_id {
            return None;
        }
        let view = self
            .views
            .entry(call_id.to_owned())
            .or_insert_with(|| serde_json::json!({}));
        if kind == "call_created" {
            *view = v["call"].clone();
        } else if let Some(changes) = v["changes"].as_object() {
            for (k, x) in changes {
                view[k] = x.clone();
            }
        }
        v["call"] = view.clone();
        Some(v)
    }

    /// The call messages about `call_id` until its `call_ended` (bounded), each with the
    /// whole view after it in `call` (see [`Ws::follow`]).
    pub async fn until_ended(&mut self, call_id: &str, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(v) = self.next_json(left).await else {
                panic!("no call_ended for {call_id} in time; got {out:?}");
            };
            if let Some(v) = self.follow(call_id, v) {
                let ended = v["type"] == "call_ended";
                out.push(v);
                if ended {
                    return out;
                }
            }
        }
    }

    /// Closes the socket.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
    }
}
