//! The WAGI executor: `wasm32-wasip1` core modules (C with wasi-libc, Zig, TinyGo, Rust's
//! `wasm32-wasip1`…) run as CGI commands, as Spin's WAGI trigger does. The request becomes
//! environment variables, arguments and stdin (`cgi.rs`); `_start` runs in a fresh
//! instance; its stdout, parsed as CGI output, becomes the response.
//!
//! The same limits as components apply: the route's timeout (epochs and
//! `tokio::time::timeout_at`), memory, fuel, the instance pool; plus [`MAX_OUTPUT`] on what
//! the module writes, which is buffered whole before the response starts.

use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use wasmtime::{InstancePre, Linker, Module, Store};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::WasiCtx;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};

use super::GuestBody;
use super::cgi::{CgiRequest, parse_response};
use super::compute::timed;
use super::guest_log::GuestLog;
use super::handler::LoadError;
use super::invoke::{Invocation, InvokeError, InvokeResult, classify};
use super::limiter::{SandboxLimiter, configure_store};
use super::observe::LiveInstance;

/// Most bytes a WAGI module may write to stdout (headers and body), all held in memory
/// until it exits; a module writing more fails with a 502. Lambda's limit for a buffered
/// response is 6 MB.
pub const MAX_OUTPUT: usize = 16 << 20;

/// Store data of one WAGI invocation.
pub struct WagiState {
    wasi: WasiP1Ctx,
    limiter: SandboxLimiter,
}

/// Adds WASI preview 1 (`wasi_snapshot_preview1`) to a core-module linker.
pub(super) fn add_to_linker(linker: &mut Linker<WagiState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p1::add_to_linker_async(linker, |state: &mut WagiState| &mut state.wasi)
}

/// A compiled, pre-linked WAGI command.
#[derive(Clone)]
pub struct WagiHandler {
    pre: InstancePre<WagiState>,
}

impl WagiHandler {
    /// Links a compiled core module: it may import only WASI preview 1 and must export
    /// `_start`.
    pub(super) fn link(
        linker: &Linker<WagiState>,
        origin: String,
        module: Module,
    ) -> Result<Self, LoadError> {
        let is_command = module
            .get_export("_start")
            .and_then(|export| export.func().cloned())
            .is_some_and(|func| func.params().len() == 0 && func.results().len() == 0);
        if !is_command {
            return Err(LoadError::NotACommand { origin });
        }
        let pre = linker.instantiate_pre(&module).map_err(|e| {
            let foreign: Vec<String> = module
                .imports()
                .filter(|import| import.module() != "wasi_snapshot_preview1")
                .map(|import| format!("`{}::{}`", import.module(), import.name()))
                .collect();
            LoadError::unsatisfied(&origin, &foreign, &e)
        })?;
        Ok(WagiHandler { pre })
    }

    /// The compiled core module.
    pub(super) fn module(&self) -> &Module {
        self.pre.module()
    }

    /// The compiled native code, for the on-disk cache.
    pub(super) fn serialize(&self) -> wasmtime::Result<Vec<u8>> {
        self.pre.module().serialize()
    }

    /// Runs `request` through a fresh instance: the body is read whole first, then
    /// `_start` runs to its end, then its output is parsed. The invocation's `admission` is kept
    /// until then.
    pub async fn invoke(
        &self,
        request: hyper::Request<impl GuestBody>,
        invocation: Invocation<'_>,
    ) -> InvokeResult {
        // `invocation`, its admission included, is held until this returns.
        let limits = invocation.limits;
        let deadline = invocation.deadline;
        let run = timed(
            invocation.times.clone(),
            self.run(request, &invocation, deadline),
        );
        let output = match tokio::time::timeout_at(deadline.into(), run).await {
            Ok(output) => output?,
            Err(_elapsed) => return Err(InvokeError::Timeout(limits.timeout)),
        };
        let parsed = parse_response(output).map_err(InvokeError::MalformedOutput)?;
        let mut response = hyper::Response::new(
            Full::new(parsed.body)
                .map_err(|never| match never {})
                .boxed_unsync(),
        );
        *response.status_mut() = parsed.status;
        *response.headers_mut() = parsed.headers;
        Ok(response)
    }

    /// Everything up to the module's exit; its stdout.
    async fn run<B>(
        &self,
        request: hyper::Request<B>,
        invocation: &Invocation<'_>,
        deadline: Instant,
    ) -> Result<Bytes, InvokeError>
    where
        B: GuestBody,
    {
        let (facts, limits, times) = (&invocation.facts, invocation.limits, &invocation.times);
        let (parts, body) = request.into_parts();
        let unread = CgiRequest {
            parts: &parts,
            body_len: 0,
            facts,
        };
        unread.refuse_nul_bytes().map_err(InvokeError::BadRequest)?;
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => return Err(body_error(error.into())),
        };
        let cgi = CgiRequest {
            parts: &parts,
            body_len: body.len(),
            facts,
        };
        // One byte more than allowed: a guest that fills it has gone past the limit, however
        // it then reacts to the failed write (panic, exit code, or ignoring it).
        let stdout = MemoryOutputPipe::new(MAX_OUTPUT + 1);
        let mut wasi = WasiCtx::builder();
        wasi.envs(&cgi.environment(&invocation.sandbox.env))
            .args(&cgi.arguments())
            .stdin(MemoryInputPipe::new(body))
            .stdout(stdout.clone());
        match &invocation.observation {
            Some(observation) => wasi.stderr(observation.stderr.clone()),
            None => wasi.stderr(GuestLog::pair(&facts.request_id, &facts.route).1),
        };
        let state = WagiState {
            wasi: wasi.build_p1(),
            limiter: SandboxLimiter::new(limits),
        };
        let mut store = Store::new(self.pre.module().engine(), state);
        configure_store(&mut store, |state| &mut state.limiter, limits, deadline);

        let _live = LiveInstance::new();
        let instantiating = Instant::now();
        let instance = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| classify(e, limits.timeout))?;
        let running = Instant::now();
        times.set_instantiate(instantiating, running);
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .map_err(|e| InvokeError::Internal(format!("{e:#}")))?;
        let exited = start.call_async(&mut store, ()).await;
        times.set_guest(running, Instant::now());
        (times.compute()).note_memory(store.data().limiter.used_bytes());
        let output = stdout.contents();
        if output.len() > MAX_OUTPUT {
            return Err(InvokeError::OutputTooLarge(MAX_OUTPUT));
        }
        if let Err(error) = exited {
            match error.downcast_ref::<I32Exit>() {
                Some(I32Exit(0)) => {}
                Some(I32Exit(code)) => return Err(InvokeError::Exited(*code)),
                None => return Err(classify(error, limits.timeout)),
            }
        }
        Ok(output)
    }
}

fn body_error(error: wasmtime_wasi_http::Error) -> InvokeError {
    match error {
        wasmtime_wasi_http::Error::ConnectionReadTimeout => InvokeError::BodyTimeout,
        other => InvokeError::BadRequest(format!("the request body broke off: {other:?}")),
    }
}
