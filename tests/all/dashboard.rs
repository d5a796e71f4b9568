//! `deploy/grafana/wasmgate.json`: a well-formed Grafana dashboard (unique panel ids, a
//! 24-column grid, a query per panel, balanced PromQL) whose every query names metrics a
//! running gateway really exports.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{Gateway, client, scrape, standard_manifest};

fn dashboard() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana/wasmgate.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read the dashboard"))
        .expect("the dashboard is JSON")
}

/// The metric names a PromQL expression uses.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(start) = ["wasmgate_", "process_"]
        .iter()
        .filter_map(|prefix| rest.find(prefix))
        .min()
    {
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

fn balanced(expr: &str) -> bool {
    let mut open = Vec::new();
    let mut in_string = false;
    for c in expr.chars() {
        match c {
            '"' => in_string = !in_string,
            _ if in_string => {}
            '(' | '[' | '{' => open.push(c),
            ')' | ']' | '}' => {
                let expected = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if open.pop() != Some(expected) {
                    return false;
                }
            }
            _ => {}
        }
    }
    open.is_empty() && !in_string
}

#[test]
fn the_dashboard_is_well_formed() {
    let dashboard = dashboard();
    assert_eq!(dashboard["uid"], "wasmgate");
    assert!(dashboard["schemaVersion"].as_u64().expect("schemaVersion") >= 36);
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10);
    let ids: BTreeSet<u64> = panels
        .iter()
        .map(|p| p["id"].as_u64().expect("id"))
        .collect();
    assert_eq!(ids.len(), panels.len(), "panel ids repeat");
    for panel in panels {
        let grid = &panel["gridPos"];
        let (x, w) = (
            grid["x"].as_u64().expect("x"),
            grid["w"].as_u64().expect("w"),
        );
        assert!(x + w <= 24 && grid["h"].as_u64().expect("h") > 0, "{panel}");
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["type"], "timeseries", "{panel}");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{panel}");
        for target in targets {
            let expr = target["expr"].as_str().expect("expr");
            assert!(balanced(expr), "unbalanced: {expr}");
            assert!(!metric_names(expr).is_empty(), "no metric in {expr}");
        }
    }
}

/// The metric names the README's metrics table documents.
fn documented() -> BTreeSet<String> {
    let readme = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"),
    )
    .expect("README");
    let start = readme.find("**Metrics.**").expect("the metrics section");
    let end = start + readme[start..].find("**Access log.**").expect("its end");
    let mut names: BTreeSet<String> = metric_names(&readme[start..end]).into_iter().collect();
    // Histograms are documented by their base name.
    for histogram in [
        "wasmgate_request_duration_seconds",
        "wasmgate_phase_duration_seconds",
        "wasmgate_compile_duration_seconds",
    ] {
        for suffix in ["_bucket", "_sum", "_count"] {
            names.insert(format!("{histogram}{suffix}"));
        }
    }
    names
}

#[tokio::test]
async fn the_dashboard_and_the_gateway_use_only_documented_metrics() {
    let gw = Gateway::start(&standard_manifest());
    client()
        .get(gw.url("/hello/ada"))
        .send()
        .await
        .expect("send");
    client().get(gw.url("/nowhere")).send().await.expect("send");
    let text = scrape(&gw).await;
    let documented = documented();
    // Every family the gateway exported (`# TYPE name kind`) is documented…
    let exported: BTreeSet<String> = text
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .filter_map(|typed| typed.split(' ').next())
        .map(str::to_owned)
        .collect();
    assert!(exported.len() >= 15, "{text}");
    let undocumented: Vec<&String> = exported.difference(&documented).collect();
    assert!(
        undocumented.is_empty(),
        "not in the README: {undocumented:?}"
    );
    // …and the dashboard queries documented metrics only, the main families among them.
    let mut used = BTreeSet::new();
    for panel in dashboard()["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            used.extend(metric_names(target["expr"].as_str().expect("expr")));
        }
    }
    let unknown: Vec<&String> = used.difference(&documented).collect();
    assert!(
        unknown.is_empty(),
        "not metrics of the gateway: {unknown:?}"
    );
    for family in [
        "wasmgate_requests_total",
        "wasmgate_rejections_total",
        "wasmgate_request_duration_seconds_bucket",
        "wasmgate_phase_duration_seconds_bucket",
        "wasmgate_instances",
        "wasmgate_in_flight",
    ] {
        assert!(used.contains(family), "{family} is not on the dashboard");
    }
}
