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
    Capture, InvocationFacts, InvokeResult, MAX_BODY_BYTES, Payload, Recorder, Tape, TeeBody,
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
        let redacted: Arc<[http::HeaderName]> = recording.spec.redacted.clone().into();
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
                uri: request.uri().to_string(),
                headers: header_pairs(request.headers(), &redacted),
                body: Payload::default(),
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
        Some(Session {
            recorder: Recorder::new(redacted),
            request_body: Capture::new(MAX_BODY_BYTES),
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
                    headers: header_pairs(response.headers(), &self.route.spec.redacted),
                    body: Payload::default(),
                };
                let capture = Capture::new(MAX_BODY_BYTES);
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
            if body.over || !body.ended {
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
