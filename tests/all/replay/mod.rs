//! Record and replay: a route with `record = {…}` keeps a sample of its invocations — the
//! request, the clock readings, random bytes and outbound responses the guest got, its
//! context — and `wasmgate replay` runs them again on a version with those inputs played
//! back, naming what of each response differs (failures and refusals in `failures.rs`).

use serde_json::{Value, json};

use crate::cli_client::wasmgate;
use crate::support::{AdminClient, DocumentServer, Gateway, client, guests, module, route};

mod failures;

/// The recordings the recording route keeps.
const KEPT: usize = 3;
/// The flavour the probe's `snapshot` action reports, and the one of the changed build.
const FLAVOUR: &str = "replay-flavour-1";
const CHANGED_FLAVOUR: &str = "replay-flavour-2";

fn recording_gateway(upstream: &DocumentServer) -> Gateway {
    let hosts = format!("allowed_outbound_hosts = [\"http://{}\"]", upstream.addr);
    let record = format!(
        "record = {{ sample_percent = 100, max = {KEPT}, redact_headers = [\"x-secret\"] }}"
    );
    Gateway::start(
        &[
            module("probe", guests::PROBE, &hosts),
            route("ANY", "/rec/{action}", "probe@1", &record),
            route("ANY", "/plain/{action}", "probe@1", ""),
            route(
                "GET",
                "/reused/{action}",
                "probe@1",
                &format!("isolation = \"reuse\"\n{record}"),
            ),
        ]
        .concat(),
    )
}

/// The probe with its flavour rewritten in the binary: a version that answers differently
/// in exactly one field.
fn changed_probe() -> Vec<u8> {
    let mut bytes = std::fs::read(guests::PROBE).expect("probe");
    let (old, new) = (FLAVOUR.as_bytes(), CHANGED_FLAVOUR.as_bytes());
    let found: Vec<usize> = (bytes.windows(old.len()).enumerate())
        .filter(|(_, window)| *window == old)
        .map(|(at, _)| at)
        .collect();
    assert_eq!(found.len(), 1, "the flavour is in the probe once");
    bytes[found[0]..found[0] + old.len()].copy_from_slice(new);
    bytes
}

async fn route_id(admin: &AdminClient, path: &str) -> String {
    let (status, routes) = admin.get("/routes").await;
    assert_eq!(status, 200, "{routes}");
    let found = (routes["routes"].as_array().expect("routes").iter())
        .find(|route| route["path"] == path)
        .expect("the route");
    found["id"].as_str().expect("id").to_owned()
}

/// Route `id`'s recordings, whole, once they are the ones of `request_ids` (they are
/// written off the request's path).
async fn stored(admin: &AdminClient, id: &str, request_ids: &[String]) -> Vec<Value> {
    let mut wanted = request_ids.to_vec();
    wanted.sort();
    let mut last = Vec::new();
    for _ in 0..100 {
        let (status, listed) = admin.get(&format!("/routes/{id}/recordings")).await;
        assert_eq!(status, 200, "{listed}");
        let mut whole = Vec::new();
        for summary in listed["recordings"].as_array().expect("recordings") {
            let name = summary["id"].as_str().expect("id");
            let (status, recording) = admin.get(&format!("/routes/{id}/recordings/{name}")).await;
            if status == 200 {
                whole.push(recording);
            }
        }
        let mut ids: Vec<String> = (whole.iter())
            .map(|r| r["context"]["request_id"].as_str().expect("id").to_owned())
            .collect();
        ids.sort();
        if ids == wanted {
            return whole;
        }
        last = ids;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("route {id} kept {last:?}, not {wanted:?}");
}

fn replay(gw: &Gateway, args: &[&str]) -> (bool, String, String) {
    tokio::task::block_in_place(|| wasmgate(gw, args))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recordings_replay_unchanged_on_their_version_and_name_the_field_a_new_one_changed() {
    let upstream = DocumentServer::start(r#"{"quote":"first"}"#);
    let gw = recording_gateway(&upstream);
    let admin = AdminClient::new(&gw);
    let url = format!("http://{}/doc", upstream.addr);

    let mut request_ids = Vec::new();
    for n in 0..5 {
        let response = client()
            .post(gw.url(&format!("/rec/snapshot?url={url}")))
            .header("authorization", "Bearer sekrit-token")
            .header("x-secret", "hush-hush")
            .body(format!("call {n}"))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.expect("json");
        assert_eq!(answer["upstream"], r#"{"quote":"first"}"#, "{answer}");
        assert_eq!(answer["flavour"], FLAVOUR);
        request_ids.push(answer["request_id"].as_str().expect("id").to_owned());
    }
    let plain = client()
        .get(gw.url(&format!("/plain/snapshot?url={url}")))
        .send()
        .await
        .expect("send");
    assert_eq!(plain.status(), 200);

    // The newest recordings are kept, up to `max`, with every input the guest got.
    let id = route_id(&admin, "/rec/{action}").await;
    let recordings = stored(&admin, &id, &request_ids[5 - KEPT..]).await;
    for recording in &recordings {
        assert_eq!(recording["version"], "probe@1");
        assert_eq!(recording["request"]["method"], "POST");
        let inputs = &recording["inputs"];
        assert!(
            !inputs["wall_clock"].as_array().expect("wall").is_empty(),
            "{inputs}"
        );
        assert!(
            !inputs["monotonic_clock"]
                .as_array()
                .expect("mono")
                .is_empty()
        );
        assert!(inputs["random"]["text"].is_string() || inputs["random"]["base64"].is_string());
        assert_eq!(inputs["outbound"][0]["status"], 200, "{inputs}");
        assert_eq!(
            inputs["outbound"][0]["body"]["text"],
            r#"{"quote":"first"}"#
        );
        let headers = recording["request"]["headers"].as_array().expect("headers");
        for secret in ["authorization", "x-secret"] {
            let value = headers.iter().find(|pair| pair[0] == secret).expect(secret);
            assert_eq!(value[1], "[redacted]", "{secret}");
        }
    }
    // The CLI lists them, newest first.
    let (ok, stdout, stderr) = replay(&gw, &["routes", "recordings", &id]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("3 recording(s) kept"), "{stdout}");
    assert_eq!(stdout.matches("probe@1").count(), KEPT, "{stdout}");
    assert!(stdout.contains("POST /rec/snapshot?url="), "{stdout}");

    // Credentials never reach the disk.
    let on_disk = gw.data_dir().join("recordings").join(&id);
    for entry in std::fs::read_dir(&on_disk).expect("recordings folder") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("read");
        assert!(!text.contains("sekrit-token") && !text.contains("hush-hush"));
    }
    // A route without `record` keeps none.
    let plain_id = route_id(&admin, "/plain/{action}").await;
    let (status, listed) = admin.get(&format!("/routes/{plain_id}/recordings")).await;
    assert_eq!((status, &listed["count"]), (200, &json!(0)), "{listed}");

    // The upstream answers differently now: the replay gets the recorded answer.
    upstream.set(Some(r#"{"quote":"second"}"#));
    let fetches = upstream.fetches();
    let fixtures = tempfile::tempdir().expect("tempdir");
    let fixtures_dir = fixtures.path().to_str().expect("utf-8");
    let (ok, stdout, stderr) = replay(
        &gw,
        &[
            "replay",
            "ANY /rec/{action}",
            "--against",
            "probe@1",
            "--save-fixtures",
            fixtures_dir,
        ],
    );
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("replayed 3 recording(s) on probe@1: 0 differ"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("note:"),
        "every input was played back: {stdout}"
    );
    assert_eq!(
        upstream.fetches(),
        fetches,
        "outbound requests were not sent"
    );
    let saved = std::fs::read_dir(fixtures.path())
        .expect("fixtures")
        .count();
    assert_eq!(saved, KEPT);

    // A changed version: exactly the changed field differs, in every recording.
    let (status, uploaded) = admin.upload("probe", changed_probe()).await;
    assert_eq!(status, 201, "{uploaded}");
    let (ok, stdout, stderr) = replay(&gw, &["replay", &id, "--against", "probe@2", "--json"]);
    assert!(!ok, "differences fail the command: {stdout}");
    assert!(
        stderr.contains("3 of 3 replayed recording(s) answered differently"),
        "{stderr}"
    );
    let report: Value = serde_json::from_str(&stdout).expect("JSON report");
    assert_eq!(
        (&report["against"], &report["differing"]),
        (&json!("probe@2"), &json!(3))
    );
    for result in report["results"].as_array().expect("results") {
        assert_eq!(
            result["differences"],
            json!([{ "field": "body $.flavour", "recorded": FLAVOUR, "replayed": CHANGED_FLAVOUR }]),
            "{result}"
        );
        assert_eq!(result["notes"], json!([]), "{result}");
    }

    // The saved fixtures replay the same way, without the route's recordings.
    let (status, cleared) = admin.delete(&format!("/routes/{id}/recordings")).await;
    assert_eq!(
        (status, &cleared["deleted"]),
        (200, &json!(KEPT)),
        "{cleared}"
    );
    let (ok, stdout, stderr) = replay(
        &gw,
        &["replay", "--fixtures", fixtures_dir, "--against", "probe@1"],
    );
    assert!(ok, "{stdout}\n{stderr}");
    assert!(stdout.contains(": 0 differ"), "{stdout}");
    let (ok, stdout, _) = replay(
        &gw,
        &["replay", "--fixtures", fixtures_dir, "--against", "probe@2"],
    );
    assert!(!ok);
    assert!(
        stdout.contains("body $.flavour: \"replay-flavour-1\" → \"replay-flavour-2\""),
        "{stdout}"
    );
}
