//! The trees behind a [`super::RouteTable`]: which route (by position) a method and path
//! lead to, and which templates exist at all. Kept apart from the routes' values so that a
//! table with the same routes and new values shares them (`RouteTable::with_values`).

use std::collections::{HashMap, HashSet};

use http::Method;

use super::table::{MethodFilter, RouteConflict};
use super::template::RouteTemplate;

/// The routes' methods and templates, in insertion order, and their radix trees.
#[derive(Debug, Clone, Default)]
pub(super) struct RouteIndex {
    pub(super) routes: Vec<(MethodFilter, RouteTemplate)>,
    /// One tree per method named by some route; each also holds every `ANY` route.
    pub(super) by_method: HashMap<Method, matchit::Router<usize>>,
    /// `ANY` routes only: used for methods no route names.
    pub(super) any: matchit::Router<usize>,
    /// Every template once, to tell 404 from 405.
    pub(super) all: matchit::Router<()>,
    /// The shapes in `all`.
    shapes: HashSet<String>,
    /// Template in tree syntax → the methods routes declare for it.
    methods_at: HashMap<String, Vec<MethodFilter>>,
    /// Template in tree syntax → template as written, for error messages.
    written: HashMap<String, String>,
}

impl RouteIndex {
    /// Adds a route. Fails, leaving the index unchanged, on a duplicate or an ambiguous
    /// template. Adding costs one insertion per tree, whatever the index's size.
    pub(super) fn insert(
        &mut self,
        method: MethodFilter,
        template: RouteTemplate,
    ) -> Result<(), RouteConflict> {
        let declared = self.methods_at.get(template.tree_syntax());
        if declared.is_some_and(|methods| methods.contains(&method)) {
            return Err(RouteConflict::Duplicate {
                method,
                template: template.as_str().to_owned(),
            });
        }
        let index = self.routes.len();
        if let Err(error) = self.add_to_trees(&method, &template, index) {
            let conflict = self.ambiguity(&template, error);
            // matchit may leave a tree half-changed by a failed insertion: build the trees
            // again from the routes (only on this error path).
            self.rebuild_trees();
            return Err(conflict);
        }
        self.routes.push((method, template));
        Ok(())
    }

    /// Puts route `index` into the trees and notes its template and method.
    fn add_to_trees(
        &mut self,
        method: &MethodFilter,
        template: &RouteTemplate,
        index: usize,
    ) -> Result<(), matchit::InsertError> {
        let tree = template.tree_syntax();
        // Parameter names do not matter to "does some route match this path".
        if !self.shapes.contains(template.shape()) {
            self.all.insert(template.shape(), ())?;
        }
        let declared = self.methods_at.get(tree).map(Vec::as_slice).unwrap_or(&[]);
        match method {
            MethodFilter::One(m) => {
                // A method's tree starts with every `ANY` route.
                let any = &self.any;
                let tree_for_method = self
                    .by_method
                    .entry(m.clone())
                    .or_insert_with(|| any.clone());
                if declared.contains(&MethodFilter::Any) {
                    // Same template as an `ANY` route: the method-specific route wins.
                    tree_for_method.remove(tree);
                }
                tree_for_method.insert(tree, index)?;
            }
            MethodFilter::Any => {
                self.any.insert(tree, index)?;
                for (m, tree_for_method) in self.by_method.iter_mut() {
                    if !declared.contains(&MethodFilter::One(m.clone())) {
                        tree_for_method.insert(tree, index)?;
                    }
                }
            }
        }
        self.shapes.insert(template.shape().to_owned());
        self.methods_at
            .entry(tree.to_owned())
            .or_default()
            .push(method.clone());
        self.written
            .insert(tree.to_owned(), template.as_str().to_owned());
        Ok(())
    }

    /// Builds every tree again from the routes.
    fn rebuild_trees(&mut self) {
        self.by_method.clear();
        self.any = matchit::Router::new();
        self.all = matchit::Router::new();
        self.shapes.clear();
        self.methods_at.clear();
        self.written.clear();
        let routes = std::mem::take(&mut self.routes);
        for (index, (method, template)) in routes.iter().enumerate() {
            // These routes went in together before, in this order: they go in again.
            let _ = self.add_to_trees(method, template, index);
        }
        self.routes = routes;
    }

    fn ambiguity(&self, template: &RouteTemplate, error: matchit::InsertError) -> RouteConflict {
        let existing = match &error {
            matchit::InsertError::Conflict { with } => self
                .written
                .get(with)
                .cloned()
                .unwrap_or_else(|| with.clone()),
            other => other.to_string(),
        };
        RouteConflict::Ambiguous {
            template: template.as_str().to_owned(),
            existing,
        }
    }
}
