//! Request validation of a 1 KiB JSON body against an order schema (nested objects, an
//! array, patterns, ranges): what a route with `validate` adds per request, beside the
//! body's parse.
//!
//!   cargo bench -p wasmgate --bench validation

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use wasmgate::config::ValidationConfig;
use wasmgate::validation::RequestValidator;

fn validator() -> RequestValidator {
    let config: ValidationConfig = serde_json::from_value(json!({
        "body": {
            "type": "object",
            "required": ["customer", "items"],
            "properties": {
                "customer": {
                    "type": "object",
                    "required": ["id", "email"],
                    "properties": {
                        "id": { "type": "string", "pattern": "^c-[0-9]+$" },
                        "email": { "type": "string", "maxLength": 254 }
                    }
                },
                "items": {
                    "type": "array",
                    "maxItems": 100,
                    "items": {
                        "type": "object",
                        "required": ["sku", "quantity"],
                        "properties": {
                            "sku": { "type": "string", "pattern": "^[A-Z]-[0-9]+$" },
                            "quantity": { "type": "integer", "minimum": 1, "maximum": 1000 },
                            "note": { "type": "string", "maxLength": 200 }
                        }
                    }
                }
            }
        }
    }))
    .expect("config");
    RequestValidator::compile(&config).expect("valid schemas")
}

/// A valid order of about 1 KiB.
fn body() -> Vec<u8> {
    let items: Vec<_> = (0..17)
        .map(|i| json!({ "sku": format!("A-{i}"), "quantity": i + 1, "note": "leave at the door" }))
        .collect();
    let body = serde_json::to_vec(&json!({
        "customer": { "id": "c-42", "email": "ada@example.com" },
        "items": items,
    }))
    .expect("JSON");
    assert!((900..1200).contains(&body.len()), "{} bytes", body.len());
    body
}

fn validate(c: &mut Criterion) {
    let validator = validator();
    let body = body();
    c.bench_function("validate a 1 KiB JSON body", |b| {
        b.iter(|| {
            let violations = validator.check_body(std::hint::black_box(&body));
            assert!(violations.is_empty());
        })
    });
}

criterion_group!(benches, validate);
criterion_main!(benches);
