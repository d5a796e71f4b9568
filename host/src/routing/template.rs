//! Route path templates: `/users/{id}/files/{path+}` parsed, validated and translated into
//! the syntax of the radix tree ([`matchit`]).

use std::fmt;

/// A validated route path template.
///
/// Syntax: a leading `/`, then segments separated by `/`. A segment is a literal, a
/// parameter `{name}` matching one whole segment, or — in the last segment only — a greedy
/// parameter `{name+}` matching the rest of the path (one or more characters, `/` included).
/// Names are ASCII letters, digits, `_` and `-`, each used once per template.
///
/// ```
/// use wasmgate::routing::RouteTemplate;
///
/// let t: RouteTemplate = "/files/{owner}/{path+}".parse().unwrap();
/// assert_eq!(t.param_names(), ["owner", "path"]);
/// assert!("/files/{path+}/more".parse::<RouteTemplate>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteTemplate {
    source: String,
    tree_syntax: String,
    shape: String,
    params: Vec<String>,
}

/// Why a route template was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid path template `{template}`: {reason}")]
pub struct TemplateError {
    template: String,
    reason: String,
}

impl RouteTemplate {
    /// The template as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The parameter names, in template order (a greedy `{name+}` is listed as `name`).
    pub fn param_names(&self) -> &[String] {
        &self.params
    }

    /// The greedy parameter's name (`path` in `/files/{path+}`), if the template ends with
    /// one.
    pub fn greedy_param(&self) -> Option<&str> {
        let last = self.params.last()?;
        self.source.ends_with("+}").then_some(last.as_str())
    }

    /// The same template in [`matchit`]'s syntax (`{name}`, `{*name}`).
    pub(crate) fn tree_syntax(&self) -> &str {
        &self.tree_syntax
    }

    /// The tree syntax with parameters renamed by position (`/a/{x}` and `/a/{y}` both give
    /// `/a/{0}`): templates with one shape match exactly the same paths.
    pub(crate) fn shape(&self) -> &str {
        &self.shape
    }
}

impl fmt::Display for RouteTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for RouteTemplate {
    type Err = TemplateError;

    fn from_str(source: &str) -> Result<Self, Self::Err> {
        let fail = |reason: String| TemplateError {
            template: source.to_owned(),
            reason,
        };
        let Some(rest) = source.strip_prefix('/') else {
            return Err(fail("it must start with `/`".into()));
        };
        let mut tree_syntax = String::with_capacity(source.len() + 1);
        let mut shape = String::with_capacity(source.len() + 1);
        let mut params: Vec<String> = Vec::new();
        if rest.is_empty() {
            tree_syntax.push('/');
            shape.push('/');
        }
        let segments: Vec<&str> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split('/').collect()
        };
        for (index, segment) in segments.iter().enumerate() {
            let is_last = index + 1 == segments.len();
            tree_syntax.push('/');
            shape.push('/');
            if segment.is_empty() {
                return Err(fail(
                    "it has an empty segment (`//` or a trailing `/`)".into(),
                ));
            }
            match parse_segment(segment).map_err(&fail)? {
                Segment::Literal => {
                    tree_syntax.push_str(segment);
                    shape.push_str(segment);
                }
                Segment::Param { name, greedy } => {
                    if greedy && !is_last {
                        return Err(fail(format!(
                            "the greedy parameter `{{{name}+}}` must be the last segment"
                        )));
                    }
                    if params.iter().any(|p| p == name) {
                        return Err(fail(format!("the parameter `{name}` appears twice")));
                    }
                    let star = if greedy { "*" } else { "" };
                    tree_syntax.push_str(&format!("{{{star}{name}}}"));
                    shape.push_str(&format!("{{{star}{}}}", params.len()));
                    params.push(name.to_owned());
                }
            }
        }
        Ok(RouteTemplate {
            source: source.to_owned(),
            tree_syntax,
            shape,
            params,
        })
    }
}

enum Segment<'a> {
    Literal,
    Param { name: &'a str, greedy: bool },
}

fn parse_segment(segment: &str) -> Result<Segment<'_>, String> {
    let Some(inner) = segment.strip_prefix('{') else {
        if segment.contains(['{', '}']) {
            return Err(format!(
                "the segment `{segment}` mixes text and a parameter; a parameter must be a whole segment"
            ));
        }
        return Ok(Segment::Literal);
    };
    let Some(inner) = inner.strip_suffix('}') else {
        return Err(format!(
            "the segment `{segment}` opens `{{` without closing it at the end of the segment"
        ));
    };
    let (name, greedy) = match inner.strip_suffix('+') {
        Some(name) => (name, true),
        None => (inner, false),
    };
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid_name {
        return Err(format!(
            "`{segment}` is not a valid parameter: names use letters, digits, `_` and `-`"
        ));
    }
    Ok(Segment::Param { name, greedy })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_templates_translate_to_tree_syntax() {
        let cases = [
            ("/", "/", vec![]),
            ("/hello", "/hello", vec![]),
            ("/hello/{name}", "/hello/{name}", vec!["name"]),
            ("/a/{x}/b/{y}", "/a/{x}/b/{y}", vec!["x", "y"]),
            ("/files/{proxy+}", "/files/{*proxy}", vec!["proxy"]),
            ("/{proxy+}", "/{*proxy}", vec!["proxy"]),
            (
                "/v1/{user_id}/{item-id}",
                "/v1/{user_id}/{item-id}",
                vec!["user_id", "item-id"],
            ),
        ];
        for (source, tree, params) in cases {
            let t: RouteTemplate = source.parse().unwrap_or_else(|e| panic!("{source}: {e}"));
            assert_eq!(t.tree_syntax(), tree, "{source}");
            assert_eq!(t.param_names(), params, "{source}");
            assert_eq!(t.as_str(), source);
        }
    }

    #[test]
    fn shape_ignores_parameter_names() {
        let shape = |s: &str| {
            s.parse::<RouteTemplate>()
                .expect("template")
                .shape()
                .to_owned()
        };
        assert_eq!(shape("/a/{x}/b/{y}"), "/a/{0}/b/{1}");
        assert_eq!(shape("/{1}/{0}"), "/{0}/{1}");
        assert_eq!(shape("/a/{y}/b/{x}"), "/a/{0}/b/{1}");
        assert_eq!(shape("/f/{p+}"), "/f/{*0}");
        assert_ne!(shape("/a/{x}"), shape("/a/{x+}"));
    }

    #[test]
    fn invalid_templates_say_why() {
        let cases = [
            ("hello", "it must start with `/`"),
            ("", "it must start with `/`"),
            ("/a//b", "empty segment"),
            ("/a/", "empty segment"),
            ("/{rest+}/x", "must be the last segment"),
            ("/{x}/{x}", "appears twice"),
            ("/img-{id}", "mixes text and a parameter"),
            ("/{id", "without closing"),
            ("/{}", "not a valid parameter"),
            ("/{a b}", "not a valid parameter"),
            ("/{+}", "not a valid parameter"),
            ("/a}", "mixes text"),
        ];
        for (source, expected) in cases {
            let err = source
                .parse::<RouteTemplate>()
                .expect_err(source)
                .to_string();
            assert!(err.contains(expected), "{source}: {err}");
        }
    }
}
