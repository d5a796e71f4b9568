//! How the client commands print: the admin API's JSON with `--json`, else tables and lines
//! for people, sized to the terminal when stdout is one.

use std::io::IsTerminal;

use serde_json::Value;

use super::client::{AdminArgs, AdminClient};

/// Prints `value` as pretty JSON.
pub(super) fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints the admin API's `answer` as it is with `--json`, else for people with `human`.
pub(super) fn show(
    admin: &AdminArgs,
    answer: &Value,
    human: impl FnOnce(&Value),
) -> anyhow::Result<()> {
    if admin.json {
        return print_json(answer);
    }
    human(answer);
    Ok(())
}

/// Asks the admin API for `path` and prints the answer as [`show`] does.
pub(super) fn show_get(
    admin: &AdminArgs,
    path: &str,
    human: impl FnOnce(&Value),
) -> anyhow::Result<()> {
    let answer = AdminClient::new(admin)?.get(path)?;
    show(admin, &answer, human)
}

/// Prints `items` (a JSON array) as a table, one row per item.
pub(super) fn print_rows(items: &Value, header: &[&str], row: impl Fn(&Value) -> Vec<String>) {
    let rows: Vec<Vec<String>> = items.as_array().into_iter().flatten().map(row).collect();
    println!("{}", table(header, &rows, terminal_width()));
}

/// The terminal's width when stdout is a terminal; `None` when it is piped (a script gets
/// every cell whole).
fn terminal_width() -> Option<usize> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let columns = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok());
    columns.or_else(|| {
        let (width, _) = ratatui::crossterm::terminal::size().ok()?;
        Some(usize::from(width))
    })
}

/// The narrowest a column is cut to when a table is wider than the terminal.
const MIN_COLUMN: usize = 8;

/// Columns padded to their widest cell; with a `width`, the widest columns are cut (cells
/// ending in `…`) until a line fits in it.
pub(super) fn table(header: &[&str], rows: &[Vec<String>], width: Option<usize>) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    if let Some(limit) = width {
        let gaps = 2 * widths.len().saturating_sub(1);
        while widths.iter().sum::<usize>() + gaps > limit {
            let Some(widest) = widths.iter_mut().filter(|w| **w > MIN_COLUMN).max() else {
                break;
            };
            *widest -= 1;
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, &width)| format!("{:<width$}", cut(cell, width)))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// `cell` cut to `width` characters, the last one `…` when cut.
fn cut(cell: &str, width: usize) -> String {
    if cell.chars().count() <= width {
        return cell.to_owned();
    }
    let kept: String = cell.chars().take(width.saturating_sub(1)).collect();
    format!("{kept}…")
}

/// A JSON value as a table cell: strings without quotes, `-` for null.
pub(super) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

/// `bytes` in KiB, one decimal.
pub(super) fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// `value` percent-encoded for a path segment or a query value.
pub(super) fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn a_table_wider_than_the_terminal_cuts_its_widest_column() {
        let rows = vec![vec!["1".to_owned(), "x".repeat(40)]];
        assert_eq!(
            table(&["ID", "MODULE"], &rows, None),
            format!("ID  MODULE\n1   {}", "x".repeat(40))
        );
        let cut = table(&["ID", "MODULE"], &rows, Some(20));
        assert_eq!(cut, format!("ID  MODULE\n1   {}…", "x".repeat(15)));
        assert!(cut.lines().all(|line| line.chars().count() <= 20), "{cut}");
    }
}
