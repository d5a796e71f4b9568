//! The crate's layers, bottom up, and the test that holds every module to them: a module
//! may import (`crate::…`) only from its own top-level module or from a lower layer.
//! `ARCHITECTURE.md` draws the same map; change both together.
//!
//! The check reads the source text (comments stripped) for `crate::name` and
//! `crate::{a, b::…}` paths, which is every way this crate names its own items.

/// Top-level modules by layer, lowest first.
const LAYERS: &[&[&str]] = &[
    // Pure libraries: route matching, the outbound allow-list, sealing secrets, periodic
    // housekeeping threads; the metrics every layer records into.
    &["routing", "allowlist", "telemetry", "secrets", "periodic"],
    // The configuration types shared by the manifest, the registry and the admin API.
    &["config"],
    // Running guests; reading the manifest file; compiling request schemas.
    &["runtime", "manifest", "validation"],
    // Storing modules and routes; serving HTTP connections.
    &["registry", "server"],
    // The request pipeline.
    &["gateway"],
    // The admin API.
    &["admin"],
    // The command line.
    &["cli"],
];

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    use super::LAYERS;

    fn layer_of(module: &str) -> Option<usize> {
        LAYERS.iter().position(|layer| layer.contains(&module))
    }

    /// Every `.rs` file below `dir`.
    fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read host/src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }

    /// The text without `//` and `/* */` comments (doc examples name `wasmgate::`, not
    /// `crate::`, but prose may mention paths).
    fn strip_comments(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find('/') {
            out.push_str(&rest[..start]);
            let tail = &rest[start..];
            if tail.starts_with("//") {
                rest = tail.find('\n').map_or("", |end| &tail[end..]);
            } else if tail.starts_with("/*") {
                rest = tail.find("*/").map_or("", |end| &tail[end + 2..]);
            } else {
                out.push('/');
                rest = &tail[1..];
            }
        }
        out.push_str(rest);
        out
    }

    fn identifier(text: &str) -> &str {
        let end = text
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(text.len());
        &text[..end]
    }

    /// The top-level modules `text` names through `crate::`.
    fn imported_modules(text: &str) -> BTreeSet<String> {
        let mut modules = BTreeSet::new();
        for (at, _) in text.match_indices("crate::") {
            if text[..at].ends_with('$') {
                continue;
            }
            let rest = text[at + "crate::".len()..].trim_start();
            if let Some(group) = rest.strip_prefix('{') {
                // `crate::{a, b::{c, d}, e}`: the first name of each top-level item.
                let mut depth = 0;
                let mut item_start = true;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => item_start = true,
                        c if item_start && (c.is_ascii_alphabetic() || c == '_') => {
                            modules.insert(identifier(&group[i..]).to_owned());
                            item_start = false;
                        }
                        _ => {}
                    }
                }
            } else {
                modules.insert(identifier(rest).to_owned());
            }
        }
        modules
    }

    #[test]
    fn parses_grouped_and_nested_imports() {
        let text = "use crate::{a::X, b::{c, d}, e};\nlet x = crate::f::g(); $crate::h";
        let found: Vec<String> = imported_modules(text).into_iter().collect();
        assert_eq!(found, ["a", "b", "e", "f"]);
        assert_eq!(
            strip_comments("a // crate::x\nb /* crate::y */ c"),
            "a \nb  c"
        );
    }

    #[test]
    fn every_module_imports_only_from_lower_layers() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let mut violations = Vec::new();
        for file in files {
            let relative = file.strip_prefix(&src).expect("below src");
            let mut components = relative.components();
            let first = components
                .next()
                .expect("a file name")
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_owned();
            if first == "lib" || first == "main" || first == "layers" {
                continue;
            }
            let Some(own) = layer_of(&first) else {
                violations.push(format!("{}: `{first}` is in no layer", relative.display()));
                continue;
            };
            let text = std::fs::read_to_string(&file).expect("read source");
            for module in imported_modules(&strip_comments(&text)) {
                if module == first || module == "self" || module == "super" {
                    continue;
                }
                match layer_of(&module) {
                    Some(layer) if layer < own => {}
                    Some(_) => violations.push(format!(
                        "{}: `{first}` imports `{module}`, which is not in a lower layer",
                        relative.display()
                    )),
                    None => violations.push(format!(
                        "{}: imports `{module}`, which is in no layer",
                        relative.display()
                    )),
                }
            }
        }
        assert!(
            violations.is_empty(),
            "imports against the layers (host/src/layers.rs):\n{}",
            violations.join("\n")
        );
    }
}
