//! Shadow authorizers: another module (a new version, say) deciding beside a live
//! authorizer on a sampled share of the requests the live one decides. It runs after the
//! live decision on a thread of its own (`wasmgate-shadow`, with a runtime of its own) that
//! the kernel schedules only on otherwise idle cores (`SCHED_IDLE`), so it never delays or
//! changes an answer: on the request's worker thread it would take its turn before the
//! request's own handler, and as an ordinary thread it would take the workers' time under
//! load. It runs only when the thread's backlog has room and, when it starts, an unreserved
//! instance is free (else the request is counted as skipped): a saturated gateway skips
//! shadows rather than slowing down. Each outcome is
//! counted in `wasmgate_shadow_authorizer_decisions_total{authorizer,outcome}` (`agree`,
//! `disagree`, `failed`, `skipped`); a disagreement is logged with the request id and both
//! decisions. `POST /authorizers/{name}/promote` makes the shadow live.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use tokio::sync::mpsc;

use super::authorization::RequestView;
use super::build::Versions;
use crate::config::ModuleName;
use crate::config::limits::InvocationLimits;
use crate::runtime::{AuthRequest, AuthorizerComponent, Decision, InvocationFacts};
use crate::telemetry::metrics::{AuthorizerLabels, metrics};

/// A shadow as it runs: its versions and the share of requests it decides.
pub(super) struct Shadow {
    /// The version(s) its target resolves to.
    pub versions: Arc<Versions<AuthorizerComponent>>,
    /// Percent of the requests it decides.
    pub percent: u32,
}

impl Shadow {
    /// On a sampled request, runs the shadow with what `input` gives it, in a task that
    /// compares its decision with `live`.
    pub(super) fn decide_beside(
        &self,
        authorizer: &ModuleName,
        live: &Decision,
        input: impl FnOnce() -> (AuthRequest, InvocationFacts),
        timeout: Duration,
        request: &RequestView<'_>,
    ) {
        // The id's upper bits: independent of the canary's pick (its lower bits).
        let draw = (request.id.uuid().as_u128() >> 64) % 100;
        if draw >= u128::from(self.percent) {
            return;
        }
        let authorizer: Arc<str> = Arc::from(authorizer.as_str());
        let skipped = authorizer.clone();
        let unreserved = request.unreserved.clone();
        let Some(worker) = WORKER.as_ref() else {
            count(authorizer, "skipped");
            return;
        };
        let (auth_request, facts) = input();
        let versions = self.versions.clone();
        let uuid = *request.id.uuid();
        let request_id = request.id.as_str().to_owned();
        let live = (live.allow, live.principal_id.clone());
        let run = async move {
            // Taken only when it runs: waiting runs hold no instance.
            let Ok(_permit) = unreserved.try_acquire_owned() else {
                count(authorizer, "skipped");
                return;
            };
            let version = versions.pick(&uuid);
            let limits = InvocationLimits {
                timeout,
                ..InvocationLimits::default()
            };
            let decided = version
                .compiled
                .authorize(auth_request, facts, &limits, &version.sandbox)
                .await;
            let outcome = match decided {
                Ok(shadow)
                    if shadow.allow == live.0 && (!live.0 || shadow.principal_id == live.1) =>
                {
                    "agree"
                }
                Ok(shadow) => {
                    tracing::warn!(
                        authorizer = %authorizer,
                        shadow = ?version.label,
                        request_id,
                        live = ?said(live.0, &live.1),
                        shadow_decided = ?said(shadow.allow, &shadow.principal_id),
                        "shadow authorizer disagreed"
                    );
                    "disagree"
                }
                Err(error) => {
                    tracing::warn!(
                        authorizer = %authorizer,
                        shadow = ?version.label,
                        request_id,
                        %error,
                        "shadow authorizer failed"
                    );
                    "failed"
                }
            };
            count(authorizer, outcome);
        };
        if let Err(full) = worker.try_send(Box::pin(run)) {
            // The backlog is full: the job (and its permit) is dropped, counted as skipped.
            drop(full);
            count(skipped, "skipped");
        }
    }
}

/// A shadow run, as the shadow thread takes it.
type ShadowRun = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Shadow runs waiting for the shadow thread at most.
const BACKLOG: usize = 64;

/// The shadow thread's queue; `None` if the thread could not be started (shadows are
/// then skipped, and it is logged once).
static WORKER: LazyLock<Option<mpsc::Sender<ShadowRun>>> = LazyLock::new(|| {
    let (sender, mut runs) = mpsc::channel::<ShadowRun>(BACKLOG);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let started = runtime.and_then(|runtime| {
        std::thread::Builder::new()
            .name("wasmgate-shadow".into())
            .spawn(move || {
                run_when_idle();
                runtime.block_on(async {
                    while let Some(run) = runs.recv().await {
                        tokio::spawn(run);
                    }
                });
            })
    });
    match started {
        Ok(_) => Some(sender),
        Err(error) => {
            tracing::error!(%error, "the shadow authorizers' thread could not start");
            None
        }
    }
});

/// Makes the calling thread run only when a core has nothing else to do (Linux's
/// `SCHED_IDLE`); elsewhere, or if refused, it stays an ordinary thread (logged).
#[cfg_attr(
    target_os = "linux",
    expect(
        unsafe_code,
        reason = "sched_setscheduler is a C function; it reads one sched_param we own"
    )
)]
fn run_when_idle() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` is a valid `sched_param` for the call's duration; 0 is this thread.
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) } == 0 {
            return;
        }
        let error = std::io::Error::last_os_error();
        tracing::warn!(%error, "the shadow authorizers' thread runs at normal priority");
    }
}

/// `allow ada` or `deny` (logged with `Debug`: a principal the guest chose is quoted and
/// escaped, so it cannot start a log line of its own).
fn said(allow: bool, principal: &str) -> String {
    if allow {
        format!("allow {principal}")
    } else {
        "deny".to_owned()
    }
}

fn count(authorizer: Arc<str>, outcome: &'static str) {
    metrics()
        .shadow_authorizer_decisions
        .get_or_create(&AuthorizerLabels {
            authorizer,
            outcome,
        })
        .inc();
}
