//! Procedural macros of `wasmgate-sdk`; use them as `wasmgate_sdk::handler`.

use proc_macro::TokenStream;
use quote::{quote, quote_spanned};
use syn::{FnArg, ItemFn, ReturnType, parse_macro_input, spanned::Spanned};

/// Exports a function `fn(Request) -> impl IntoResponse` as the component's
/// `wasi:http/incoming-handler`. See `wasmgate_sdk::handler` for the documentation.
#[proc_macro_attribute]
pub fn handler(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(
            proc_macro2::TokenStream::from(attr).span(),
            "#[handler] takes no arguments",
        )
        .to_compile_error()
        .into();
    }
    let function = parse_macro_input!(item as ItemFn);
    if let Err(error) = check_signature(&function) {
        return error.to_compile_error().into();
    }
    let name = &function.sig.ident;
    // The call is spanned at the return type, so a type that is not `IntoResponse` is
    // reported where the user wrote it.
    let output_span = match &function.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => function.sig.ident.span(),
    };
    let serve = quote_spanned! {output_span=>
        ::wasmgate_sdk::__private::serve(request, response_out, #name)
    };
    quote! {
        #function

        const _: () = {
            struct __WasmgateHandler;

            impl ::wasmgate_sdk::__private::IncomingHandler for __WasmgateHandler {
                fn handle(
                    request: ::wasmgate_sdk::__private::IncomingRequest,
                    response_out: ::wasmgate_sdk::__private::ResponseOutparam,
                ) {
                    #serve
                }
            }

            ::wasmgate_sdk::__private::wasi::http::proxy::export!(__WasmgateHandler);
        };
    }
    .into()
}

/// The gateway's WIT package (it stands alone: no dependencies), embedded so that the
/// bindings of the authorizer world are generated in the authorizer's own crate.
const GATEWAY_WIT: &str = include_str!("../../../wit/gateway.wit");

/// Exports a function `fn(AuthRequest) -> impl IntoDecision` as the component's
/// `wasmgate:gateway/authorize`. See `wasmgate_sdk::authorizer` for the documentation.
#[proc_macro_attribute]
pub fn authorizer(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return syn::Error::new(
            proc_macro2::TokenStream::from(attr).span(),
            "#[authorizer] takes no arguments",
        )
        .to_compile_error()
        .into();
    }
    let function = parse_macro_input!(item as ItemFn);
    if let Err(error) = check_signature(&function) {
        return error.to_compile_error().into();
    }
    let name = &function.sig.ident;
    let output_span = match &function.sig.output {
        ReturnType::Type(_, ty) => ty.span(),
        ReturnType::Default => function.sig.ident.span(),
    };
    let decide = quote_spanned! {output_span=>
        ::wasmgate_sdk::IntoDecision::into_decision(super::#name(request))
    };
    quote! {
        #function

        #[doc(hidden)]
        mod __wasmgate_authorizer {
            ::wasmgate_sdk::__private::wit_bindgen::generate!({
                inline: #GATEWAY_WIT,
                world: "wasmgate:gateway/authorizer",
                runtime_path: "::wasmgate_sdk::__private::wit_bindgen::rt",
            });

            use exports::wasmgate::gateway::authorize as wit;

            pub struct Export;

            impl wit::Guest for Export {
                fn authorize(request: wit::AuthRequest) -> Result<wit::Decision, String> {
                    let request = ::wasmgate_sdk::AuthRequest {
                        kind: match request.kind {
                            wit::AuthorizerKind::Token => ::wasmgate_sdk::AuthorizerKind::Token,
                            wit::AuthorizerKind::Request => ::wasmgate_sdk::AuthorizerKind::Request,
                        },
                        token: request.token,
                        method: request.method,
                        path: request.path,
                        route: request.route,
                        path_params: request.path_params,
                        headers: request.headers,
                        query: request.query,
                        source_ip: request.source_ip,
                        request_id: request.request_id,
                    };
                    let decision = #decide?;
                    Ok(wit::Decision {
                        allow: decision.allow,
                        principal_id: decision.principal_id,
                        context: decision.context,
                        ttl_seconds: decision.ttl_seconds,
                    })
                }
            }

            export!(Export);
        }
    }
    .into()
}

fn check_signature(function: &ItemFn) -> syn::Result<()> {
    let sig = &function.sig;
    if let Some(asyncness) = sig.asyncness {
        return Err(syn::Error::new(
            asyncness.span(),
            "a wasmgate handler or authorizer is a plain `fn`, not `async fn`",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "a wasmgate handler or authorizer cannot be generic",
        ));
    }
    if let ReturnType::Default = sig.output {
        return Err(syn::Error::new(
            sig.ident.span(),
            "a wasmgate handler returns a response (`-> Response`, `-> Result<Response, Error>`, …); an authorizer a `Decision`",
        ));
    }
    if sig.inputs.len() != 1 {
        return Err(syn::Error::new(
            sig.paren_token.span.join(),
            "a wasmgate handler takes exactly one argument (`req: wasmgate_sdk::Request`; an authorizer `req: wasmgate_sdk::AuthRequest`)",
        ));
    }
    if let Some(FnArg::Receiver(receiver)) = sig.inputs.first() {
        return Err(syn::Error::new(
            receiver.span(),
            "a wasmgate handler or authorizer is a free function, not a method",
        ));
    }
    Ok(())
}
