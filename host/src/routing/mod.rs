//! Request routing: path templates and the method + path route table.
//!
//! Pure logic: no hyper and no wasmtime, so the precedence rules are covered by a table of
//! unit tests (`tests.rs`).

mod index;
mod table;
mod template;
#[cfg(test)]
mod tests;

pub use table::{Lookup, MethodFilter, RouteConflict, RouteTable};
pub use template::{RouteTemplate, TemplateError};
