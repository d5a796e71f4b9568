//! One recorded invocation: sampled when the route's handler is about to run, its request
//! body and response body copied as they stream (never held up), and handed to the
//! writer when the response ends. An invocation that read or wrote more than a recording
//! keeps, or whose response was not read to its end, is not stored (the debug log says
//! why).

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use http_body_util::BodyExt;

use super::super::body::RequestBody;
use super::super::build::{Route, RouteRecording};
use super::{
    Outcome, RECORDING_FORMAT, RecordedContext, RecordedRequest, RecordedRoute, Recording,
};
use crate::runtime::{
    Capture, InvocationFacts, InvokeResult, Payload, REDACTED_VALUE, Recorder, Tape, TeeBody,
    header_pairs,
};

/// An invocation being recorded.
pub(in crate::gateway) struct Session {
    recorder: Arc<Recorder>,
    request_body: Arc<Capture>,
    draft: Box<Recording>,
    route: Arc<RouteRecording>,
}

impl Session {
    /// Starts recording the invocation of `route`'s `version` with `facts` if the route
    /// records and this invocation is in its sample.
    pub fn begin(
        route: &Route,
        version: &str,
        facts: &InvocationFacts,
        request: &hyper::Request<RequestBody>,
    ) -> Option<Self> {
        let recording = route.recording.as_ref()?;
        if getrandom::u32().ok()? % 100 >= recording.spec.sample_percent
            || recording.rate.check().is_err()
        {
            return None;
        }
        let redacted = recording.redacted.clone();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let recorded_at_ms = u64::try_from(now.as_millis()).unwrap_or(u64::MAX);
        let draft = Recording {
            format: RECORDING_FORMAT,
            id: format!("{recorded_at_ms:013}-{:08x}", getrandom::u32().ok()?),
            recorded_at_ms,
            route: RecordedRoute {
                id: route.id.clone(),
                method: route.method.to_string(),
                path: route.template.to_string(),
            },
            version: version.to_owned(),
            request: RecordedRequest {
                method: request.method().to_string(),
                uri: redact_query(request.uri(), &recording.redacted_query),
                headers: header_pairs(request.headers(), &redacted),
                body: Payload::default(),
                body_complete: true,
            },
            context: RecordedContext {
                request_id: facts.request_id.clone(),
                path_params: facts.path_params.clone(),
                principal: facts.principal.clone(),
                authorizer_context: facts.authorizer_context.clone(),
                stage_variables: facts.stage_variables.to_vec(),
                client_ip: facts.client_ip,
                over_tls: facts.over_tls,
            },
            inputs: Default::default(),
            response: Outcome {
                status: 0,
                error: None,
                headers: Vec::new(),
                body: Payload::default(),
            },
        };
        let recorder = Recorder::new(redacted);
        Some(Session {
            request_body: recorder.capture(),
            recorder,
            draft: Box::new(draft),
            route: recording.clone(),
        })
    }

    /// What the invocation's clocks, randomness and outbound requests record into.
    pub fn tape(&self) -> Tape {
        Tape::Record(self.recorder.clone())
    }

    /// The request's body, copied as the guest reads it.
    pub fn tee_request(&self, body: RequestBody) -> RequestBody {
        TeeBody::new(body, self.request_body.clone(), None).boxed_unsync()
    }

    /// Stores the recording once the invocation's response has ended (or at once when
    /// it failed); `result` goes on unchanged.
    pub fn finish(self, result: InvokeResult) -> InvokeResult {
        match result {
            Err(error) => {
                self.store(Outcome::failed(&error), None);
                Err(error)
            }
            Ok(response) => {
                let outcome = Outcome {
                    status: response.status().as_u16(),
                    error: None,
                    headers: header_pairs(response.headers(), &self.route.redacted),
                    body: Payload::default(),
                };
                let capture = self.recorder.capture();
                let guard = StoreOnDrop {
                    session: Some(self),
                    outcome: Some(outcome),
                    body: capture.clone(),
                };
                Ok(response
                    .map(|body| TeeBody::new(body, capture, Some(Box::new(guard))).boxed_unsync()))
            }
        }
    }

    /// Completes the recording with `outcome` (and the response body's copy) and queues
    /// it for storing, unless something in it is incomplete.
    fn store(self, mut outcome: Outcome, body: Option<&Capture>) {
        let id = &self.draft.context.request_id;
        let skip =
            |reason: &str| tracing::debug!(request_id = %id, reason, "invocation not recorded");
        if let Some(body) = body {
            let body = body.taken();
            // A response to HEAD has no body to read to its end.
            let head = self.draft.request.method == http::Method::HEAD.as_str();
            if body.over || !(body.ended || head) {
                return skip("its response body was over the limit or did not end");
            }
            outcome.body = Payload(body.bytes);
        }
        let request_body = self.request_body.taken();
        if request_body.over {
            return skip("its request body was over the limit");
        }
        let inputs = match self.recorder.finish() {
            Ok(inputs) => inputs,
            Err(reason) => return skip(&reason),
        };
        let mut recording = self.draft;
        recording.request.body = Payload(request_body.bytes);
        recording.request.body_complete = request_body.ended;
        recording.inputs = inputs;
        recording.response = outcome;
        self.route.writer.send(recording, self.route.spec.max);
    }
}

/// Stores its session's recording when the response body is dropped.
struct StoreOnDrop {
    session: Option<Session>,
    outcome: Option<Outcome>,
    body: Arc<Capture>,
}

impl Drop for StoreOnDrop {
    fn drop(&mut self) {
        if let (Some(session), Some(outcome)) = (self.session.take(), self.outcome.take()) {
            session.store(outcome, Some(&self.body));
        }
    }
}

/// `uri`'s path and query, the values of the query parameters `names` redacted.
fn redact_query(uri: &http::Uri, names: &[String]) -> String {
    let (Some(query), false) = (uri.query(), names.is_empty()) else {
        return uri.to_string();
    };
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if names.iter().any(|n| n == name) => {
                format!("{name}={REDACTED_VALUE}")
            }
            _ => pair.to_owned(),
        })
        .collect();
    format!("{}?{}", uri.path(), pairs.join("&"))
}
