//! CAS service responses (CAS Appendix A's schema, namespace `http://www.yale.edu/tp/cas`),
//! in XML or, with `format=JSON`, in the JSON of CAS §2.5.2. Written straight into one string:
//! a validation is one atomic consume plus this.

use std::fmt::Write as _;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use quick_xml::escape::escape;
use serde_json::{Map, Value, json};

use crate::service::cas::tickets::{Failure, Validated};

/// The response format a request asked for (`format`, CAS §2.5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Xml,
    Json,
}

impl Format {
    /// `None`: a value CAS does not define (answered with `INVALID_REQUEST`, in XML).
    pub fn parse(v: Option<&str>) -> Option<Format> {
        match v {
            None => Some(Format::Xml),
            Some(f) if f.eq_ignore_ascii_case("xml") => Some(Format::Xml),
            Some(f) if f.eq_ignore_ascii_case("json") => Some(Format::Json),
            Some(_) => None,
        }
    }
}

const OPEN: &str = "<cas:serviceResponse xmlns:cas=\"http://www.yale.edu/tp/cas\">\n";
const CLOSE: &str = "</cas:serviceResponse>\n";

/// A validation's answer; `attributes`: the CAS 3.0 endpoints (`/p3/…`) release them.
pub fn validation(
    format: Format,
    outcome: &Result<Validated, Failure>,
    attributes: bool,
) -> Response {
    match (format, outcome) {
        (Format::Xml, Ok(v)) => xml(success_xml(v, attributes)),
        (Format::Xml, Err(f)) => xml(failure_xml("authenticationFailure", f)),
        (Format::Json, Ok(v)) => {
            let mut success = Map::new();
            success.insert("user".into(), Value::from(v.user.as_str()));
            if let Some(iou) = &v.pgt_iou {
                success.insert("proxyGrantingTicket".into(), Value::from(iou.as_str()));
            }
            if !v.proxies.is_empty() {
                success.insert("proxies".into(), json!(v.proxies));
            }
            if attributes {
                let attrs: Map<String, Value> = v
                    .attributes
                    .iter()
                    .map(|(k, vals)| (k.clone(), json!(vals)))
                    .collect();
                success.insert("attributes".into(), Value::Object(attrs));
            }
            json_response(json!({"serviceResponse": {"authenticationSuccess": success}}))
        }
        (Format::Json, Err(f)) => json_response(failure_json("authenticationFailure", f)),
    }
}

/// `/proxy`'s answer (CAS §2.7.2).
pub fn proxy(format: Format, outcome: &Result<String, Failure>) -> Response {
    match (format, outcome) {
        (Format::Xml, Ok(pt)) => xml(format!(
            "{OPEN} <cas:proxySuccess>\n  <cas:proxyTicket>{}</cas:proxyTicket>\n \
             </cas:proxySuccess>\n{CLOSE}",
            escape(pt.as_str())
        )),
        (Format::Xml, Err(f)) => xml(failure_xml("proxyFailure", f)),
        (Format::Json, Ok(pt)) => {
            json_response(json!({"serviceResponse": {"proxySuccess": {"proxyTicket": pt}}}))
        }
        (Format::Json, Err(f)) => json_response(failure_json("proxyFailure", f)),
    }
}

/// An internal error (the short-lived store is down): `INTERNAL_ERROR`, with 503 so that a
/// load balancer or a retrying client can tell.
pub fn internal(format: Format, element: &'static str) -> Response {
    let f = Failure {
        code: crate::service::cas::tickets::FailureCode::InternalError,
        description: "temporarily unavailable; try again".into(),
    };
    let mut res = match format {
        Format::Xml => xml(failure_xml(element, &f)),
        Format::Json => json_response(failure_json(element, &f)),
    };
    *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    res
}

fn success_xml(v: &Validated, attributes: bool) -> String {
    let mut out = String::with_capacity(512);
    out.push_str(OPEN);
    out.push_str(" <cas:authenticationSuccess>\n  <cas:user>");
    out.push_str(&escape(v.user.as_str()));
    out.push_str("</cas:user>\n");
    if attributes && !v.attributes.is_empty() {
        out.push_str("  <cas:attributes>\n");
        for (name, values) in &v.attributes {
            // Names come from guichet's own list (`domain::cas::ATTRIBUTES` and CAS's), all
            // valid XML names; a multi-valued attribute repeats its element.
            for value in values {
                let _ = writeln!(
                    out,
                    "   <cas:{name}>{}</cas:{name}>",
                    escape(value.as_str())
                );
            }
        }
        out.push_str("  </cas:attributes>\n");
    }
    if let Some(iou) = &v.pgt_iou {
        let _ = writeln!(
            out,
            "  <cas:proxyGrantingTicket>{}</cas:proxyGrantingTicket>",
            escape(iou.as_str())
        );
    }
    if !v.proxies.is_empty() {
        out.push_str("  <cas:proxies>\n");
        for p in &v.proxies {
            let _ = writeln!(out, "   <cas:proxy>{}</cas:proxy>", escape(p.as_str()));
        }
        out.push_str("  </cas:proxies>\n");
    }
    out.push_str(" </cas:authenticationSuccess>\n");
    out.push_str(CLOSE);
    out
}

fn failure_xml(element: &str, f: &Failure) -> String {
    format!(
        "{OPEN} <cas:{element} code=\"{}\">{}</cas:{element}>\n{CLOSE}",
        f.code.as_str(),
        escape(f.description.as_str())
    )
}

fn failure_json(element: &str, f: &Failure) -> Value {
    json!({"serviceResponse": {element: {"code": f.code.as_str(), "description": f.description}}})
}

fn xml(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/xml; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

fn json_response(v: Value) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        v.to_string(),
    )
        .into_response()
}

/// `/validate`'s answer (CAS §2.4.2): `yes\n<user>\n` or `no\n\n`.
pub fn v1(outcome: &Result<Validated, Failure>) -> Response {
    let body = match outcome {
        Ok(v) => format!("yes\n{}\n", v.user),
        Err(_) => "no\n\n".to_owned(),
    };
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}
