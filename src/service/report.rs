//! What one miss did, for logs, metrics and `Server-Timing`: the same record on every edge.
//!
//! [`Service::miss`](super::Service::miss) attaches a [`Report`] to each response's extensions
//! (never sent over the wire); the edges log it (one line per request: JSON on Lambda), turn it
//! into CloudWatch metrics (the Lambda's Embedded Metric Format line) and the service's
//! [`Stats`](super::Stats) add it up for `/_rendition/stats`. A rendered response also carries
//! its stages as `Server-Timing: read;dur=…, render;dur=…, store;dur=…`. Nothing here holds a
//! secret: the path's signature is public, and the keys never reach a report.

use std::time::Duration;

use serde_json::json;

/// Where a render's time went, and how many bytes it read.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timing {
    /// Bytes of the source read.
    pub bytes_in: u64,
    pub read: Duration,
    pub render: Duration,
    pub store: Duration,
}

impl Timing {
    /// The `Server-Timing` header value: `read;dur=1.2, render;dur=30.5, store;dur=2.0` (ms).
    pub fn server_timing(&self) -> String {
        [
            ("read", self.read),
            ("render", self.render),
            ("store", self.store),
        ]
        .iter()
        .map(|(name, d)| format!("{name};dur={:.1}", ms(*d)))
        .collect::<Vec<_>>()
        .join(", ")
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// One request's record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// The path asked for (for a negotiated key, the key).
    pub path: String,
    /// The source key, once the path verified.
    pub source: Option<String>,
    /// `<ops>.<ext>`, once the path verified.
    pub ops: Option<String>,
    pub status: u16,
    /// `rendered`, `joined`, `existing` or `error`.
    pub outcome: &'static str,
    /// The error's code (`bad_request`, `timeout`…) when it failed.
    pub code: Option<&'static str>,
    /// The error's full message, for the log only (an internal error's detail is not in the
    /// response).
    pub error: Option<String>,
    /// Bytes of the rendition rendered, joined or found, whether the answer carries them or
    /// redirects to them (or, for HEAD, would have).
    pub bytes_out: u64,
    /// The render's stages, when this request rendered.
    pub timing: Option<Timing>,
    /// From the request to the answer.
    pub total: Duration,
}

impl Report {
    /// The one log line's fields, as JSON (the Lambda logs it as is).
    pub fn to_json(&self) -> serde_json::Value {
        let t = self.timing.unwrap_or_default();
        json!({
            "path": self.path,
            "source": self.source,
            "ops": self.ops,
            "status": self.status,
            "outcome": self.outcome,
            "code": self.code,
            "error": self.error,
            "bytes_in": t.bytes_in,
            "bytes_out": self.bytes_out,
            "read_ms": round(ms(t.read)),
            "render_ms": round(ms(t.render)),
            "store_ms": round(ms(t.store)),
            "total_ms": round(ms(self.total)),
        })
    }

    /// Logs the request as one event (`request`, target `rendition::request`): a warning for a
    /// 5xx, else info. The subscriber decides the form: text for `serve`, JSON on Lambda.
    pub fn log(&self) {
        let t = self.timing.unwrap_or_default();
        macro_rules! event {
            ($level:expr) => {
                tracing::event!(
                    target: "rendition::request",
                    $level,
                    path = %self.path,
                    source = self.source.as_deref(),
                    ops = self.ops.as_deref(),
                    status = self.status,
                    outcome = self.outcome,
                    code = self.code,
                    error = self.error.as_deref(),
                    bytes_in = t.bytes_in,
                    bytes_out = self.bytes_out,
                    read_ms = round(ms(t.read)),
                    render_ms = round(ms(t.render)),
                    store_ms = round(ms(t.store)),
                    total_ms = round(ms(self.total)),
                    "request"
                )
            };
        }
        if self.status >= 500 {
            event!(tracing::Level::WARN);
        } else {
            event!(tracing::Level::INFO);
        }
    }

    /// A CloudWatch Embedded Metric Format record: one JSON line that CloudWatch Logs turns
    /// into metrics in `namespace`, by outcome and by error code (`ok` for successes).
    pub fn emf(&self, namespace: &str, timestamp_ms: u128) -> serde_json::Value {
        let t = self.timing.unwrap_or_default();
        let rendered = self.timing.is_some();
        let metric = |name: &str, unit: &str| json!({"Name": name, "Unit": unit});
        let mut metrics = vec![
            metric("Requests", "Count"),
            metric("Renders", "Count"),
            metric("Errors", "Count"),
            metric("BytesOut", "Bytes"),
            metric("TotalMs", "Milliseconds"),
        ];
        let mut record = json!({
            "Outcome": self.outcome,
            "Code": self.code.unwrap_or("ok"),
            "Requests": 1,
            "Renders": u8::from(rendered),
            "Errors": u8::from(self.code.is_some()),
            "BytesOut": self.bytes_out,
            "TotalMs": round(ms(self.total)),
        });
        if rendered {
            // Stage times only for renders, so their averages are those of renders.
            for (name, value) in [
                ("BytesIn", json!(t.bytes_in)),
                ("ReadMs", json!(round(ms(t.read)))),
                ("RenderMs", json!(round(ms(t.render)))),
                ("StoreMs", json!(round(ms(t.store)))),
            ] {
                let unit = if name == "BytesIn" {
                    "Bytes"
                } else {
                    "Milliseconds"
                };
                metrics.push(metric(name, unit));
                record[name] = value;
            }
        }
        record["_aws"] = json!({
            "Timestamp": timestamp_ms as u64,
            "CloudWatchMetrics": [{
                "Namespace": namespace,
                "Dimensions": [["Outcome"], ["Code"]],
                "Metrics": metrics,
            }],
        });
        record
    }
}

/// Milliseconds to 0.1 ms, which is all a log needs.
fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rendered() -> Report {
        Report {
            path: "/r/a.jpg/k1.sig/w10.webp".into(),
            source: Some("a.jpg".into()),
            ops: Some("w10.webp".into()),
            status: 200,
            outcome: "rendered",
            code: None,
            error: None,
            bytes_out: 1234,
            timing: Some(Timing {
                bytes_in: 5678,
                read: Duration::from_micros(1_250),
                render: Duration::from_micros(30_460),
                store: Duration::from_micros(2_000),
            }),
            total: Duration::from_micros(34_000),
        }
    }

    #[test]
    fn server_timing_names_each_stage_in_milliseconds() {
        assert_eq!(
            rendered().timing.unwrap().server_timing(),
            "read;dur=1.2, render;dur=30.5, store;dur=2.0"
        );
    }

    #[test]
    fn emf_declares_every_metric_it_carries() {
        for report in [
            rendered(),
            Report {
                status: 403,
                outcome: "error",
                code: Some("forbidden"),
                ..Report::default()
            },
        ] {
            let emf = report.emf("rendition", 1_700_000_000_000);
            let declared = &emf["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(declared["Namespace"], "rendition");
            for m in declared["Metrics"].as_array().unwrap() {
                let name = m["Name"].as_str().unwrap();
                assert!(emf[name].is_number(), "{name} declared but missing: {emf}");
            }
            for dims in declared["Dimensions"].as_array().unwrap() {
                for d in dims.as_array().unwrap() {
                    assert!(emf[d.as_str().unwrap()].is_string(), "{d}: {emf}");
                }
            }
        }
        let error = Report {
            outcome: "error",
            code: Some("timeout"),
            ..Report::default()
        }
        .emf("rendition", 0);
        assert_eq!(
            (error["Code"].as_str(), error["Errors"].as_u64()),
            (Some("timeout"), Some(1))
        );
        assert!(error.get("RenderMs").is_none());
        let ok = rendered().emf("rendition", 0);
        assert_eq!(
            (ok["Code"].as_str(), ok["Renders"].as_u64()),
            (Some("ok"), Some(1))
        );
        assert_eq!(ok["RenderMs"].as_f64(), Some(30.5));
    }
}
