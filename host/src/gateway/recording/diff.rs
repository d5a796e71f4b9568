//! What differs between a recorded response and its replay: the status (and the error
//! kind of a failed invocation), each header, and the body — JSON bodies field by field
//! (`body $.user.name`), other text as a unified diff, other bytes by their length.
//! Bounded: at most [`MAX_DIFFERENCES`] entries, and a text diff of [`MAX_TEXT_DIFF`] bytes.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::Outcome;
use crate::runtime::REDACTED_VALUE;

/// Most differences one comparison lists.
const MAX_DIFFERENCES: usize = 50;
/// Longest text diff kept.
const MAX_TEXT_DIFF: usize = 8 << 10;
/// Headers the body's comparison covers.
const FRAMING_HEADERS: [&str; 2] = ["content-length", "transfer-encoding"];

/// One difference: the field, and its recorded and replayed values (absent: none).
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    /// `status`, `error`, `header NAME`, `body` or `body $.path`.
    pub field: String,
    /// The recorded value (absent: there was none).
    pub recorded: Option<Value>,
    /// The replayed value (absent: there was none).
    pub replayed: Option<Value>,
    /// A unified diff, for text bodies.
    pub diff: Option<String>,
}

impl Difference {
    fn of(field: String, recorded: Option<Value>, replayed: Option<Value>) -> Self {
        Difference {
            field,
            recorded,
            replayed,
            diff: None,
        }
    }
}

/// What differs between `recorded` and `replayed`.
pub fn differences(recorded: &Outcome, replayed: &Outcome) -> Vec<Difference> {
    let mut found = Vec::new();
    if recorded.status != replayed.status {
        let field = "status".to_owned();
        found.push(Difference::of(
            field,
            Some(recorded.status.into()),
            Some(replayed.status.into()),
        ));
    }
    if recorded.error != replayed.error {
        let value = |error: &Option<String>| error.clone().map(Value::from);
        found.push(Difference::of(
            "error".into(),
            value(&recorded.error),
            value(&replayed.error),
        ));
    }
    let (before, after) = (headers(&recorded.headers), headers(&replayed.headers));
    let mut names: Vec<&String> = before.keys().chain(after.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let (old, new) = (before.get(name), after.get(name));
        // Values stored redacted cannot be compared (one or several): only their presence.
        let redacted =
            old.is_some_and(|old| old.split(", ").all(|v| v == REDACTED_VALUE)) && new.is_some();
        if old != new && !redacted {
            let value = |v: Option<&String>| v.cloned().map(Value::from);
            found.push(Difference::of(
                format!("header {name}"),
                value(old),
                value(new),
            ));
        }
    }
    body_differences(&recorded.body.0, &replayed.body.0, &mut found);
    found.truncate(MAX_DIFFERENCES);
    found
}

/// Header values by name (several joined by `, `), without the framing headers.
fn headers(pairs: &[(String, String)]) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in pairs {
        let name = name.to_ascii_lowercase();
        if FRAMING_HEADERS.contains(&name.as_str()) {
            continue;
        }
        map.entry(name)
            .and_modify(|joined| {
                joined.push_str(", ");
                joined.push_str(value);
            })
            .or_insert_with(|| value.clone());
    }
    map
}

fn body_differences(recorded: &[u8], replayed: &[u8], found: &mut Vec<Difference>) {
    if recorded == replayed {
        return;
    }
    let json = |bytes: &[u8]| serde_json::from_slice::<Value>(bytes).ok();
    if let (Some(old), Some(new)) = (json(recorded), json(replayed)) {
        json_differences("$".into(), Some(&old), Some(&new), found);
        return;
    }
    match (std::str::from_utf8(recorded), std::str::from_utf8(replayed)) {
        (Ok(old), Ok(new)) => {
            let mut diff = similar::TextDiff::from_lines(old, new)
                .unified_diff()
                .context_radius(2)
                .header("recorded", "replayed")
                .to_string();
            if diff.len() > MAX_TEXT_DIFF {
                let mut cut = MAX_TEXT_DIFF;
                while !diff.is_char_boundary(cut) {
                    cut -= 1;
                }
                diff.truncate(cut);
                diff.push_str("\n… (cut)\n");
            }
            found.push(Difference {
                field: "body".into(),
                recorded: None,
                replayed: None,
                diff: Some(diff),
            });
        }
        _ => found.push(Difference::of(
            "body".into(),
            Some(format!("{} bytes", recorded.len()).into()),
            Some(format!("{} bytes", replayed.len()).into()),
        )),
    }
}

/// The differences between two JSON values at `path`.
fn json_differences(
    path: String,
    recorded: Option<&Value>,
    replayed: Option<&Value>,
    found: &mut Vec<Difference>,
) {
    if found.len() >= MAX_DIFFERENCES || recorded == replayed {
        return;
    }
    match (recorded, replayed) {
        (Some(Value::Object(old)), Some(Value::Object(new))) => {
            let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                json_differences(member(&path, key), old.get(key), new.get(key), found);
            }
        }
        (Some(Value::Array(old)), Some(Value::Array(new))) => {
            for index in 0..old.len().max(new.len()) {
                let path = format!("{path}[{index}]");
                json_differences(path, old.get(index), new.get(index), found);
            }
        }
        _ => found.push(Difference::of(
            format!("body {path}"),
            recorded.cloned(),
            replayed.cloned(),
        )),
    }
}

/// `path.key`, or `path["key"]` for a key that is not a plain name.
fn member(path: &str, key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", Value::from(key))
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use serde_json::json;

    use super::*;
    use crate::runtime::Payload;

    fn outcome(status: u16, headers: &[(&str, &str)], body: &str) -> Outcome {
        Outcome {
            status,
            error: None,
            headers: (headers.iter())
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            body: Payload(Bytes::from(body.to_owned())),
        }
    }

    #[test]
    fn json_bodies_are_compared_field_by_field() {
        let recorded = outcome(
            200,
            &[("content-length", "30")],
            r#"{"a":1,"b":{"c":[1,2]},"d":"x"}"#,
        );
        let replayed = outcome(
            200,
            &[("content-length", "31")],
            r#"{"a":1,"b":{"c":[1,3]},"e":"x"}"#,
        );
        let fields: Vec<(String, Option<Value>, Option<Value>)> = differences(&recorded, &replayed)
            .into_iter()
            .map(|d| (d.field, d.recorded, d.replayed))
            .collect();
        assert_eq!(
            fields,
            [
                ("body $.b.c[1]".to_owned(), Some(json!(2)), Some(json!(3))),
                ("body $.d".to_owned(), Some(json!("x")), None),
                ("body $.e".to_owned(), None, Some(json!("x"))),
            ]
        );
    }

    #[test]
    fn status_headers_and_text_bodies_are_named() {
        let recorded = outcome(200, &[("x-a", "1")], "one\ntwo\n");
        let replayed = outcome(500, &[("x-b", "2")], "one\nthree\n");
        let found = differences(&recorded, &replayed);
        let fields: Vec<&str> = found.iter().map(|d| d.field.as_str()).collect();
        assert_eq!(fields, ["status", "header x-a", "header x-b", "body"]);
        let diff = found[3].diff.as_deref().expect("a text diff");
        assert!(diff.contains("-two") && diff.contains("+three"), "{diff}");
        assert!(differences(&recorded, &recorded).is_empty());
    }
}
